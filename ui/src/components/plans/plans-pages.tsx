import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { PlanModel, PlansModel } from "../../../models/plans";
import { humanize, PLAN_KINDS, PLAN_STATUSES } from "../../lib/catalog";
import { relativeTime } from "../../lib/util";
import { ErrorNote, FilterSelect, Link, Loading, PageHeader, StatusBadge, Time } from "../common/ui";

/** "quantity:fill_to_target" → "quantity: fill to target". */
function strategyText(s: string): string {
  return s
    .split(/[;,]\s*/)
    .map((part) => humanize(part).replace(/:\s*/, ": "))
    .join(", ");
}

function shopsText(shops: unknown): string {
  if (!shops || typeof shops !== "object") return "—";
  const s = shops as { mode?: string; ids?: string[] };
  if (s.mode === "specific") return (s.ids ?? []).join(", ") || "specific shops";
  if (s.mode === "from_trigger") return "the trigger's shop";
  return "all shops";
}

const fmt = (n: number | null | undefined, digits = 2) => (n === null || n === undefined ? "—" : Number.isInteger(n) ? String(n) : n.toFixed(digits));

export function PlansPage() {
  const m = useModel(PlansModel);
  const { items, loaded, nextCursor } = m.data;
  const v = m.view;
  useEffect(() => {
    document.title = "Plans";
  }, []);
  return (
    <main class="page" id="main">
      <PageHeader title="Plans" />
      <div class="filters">
        <FilterSelect id="plans-kind" label="Kind" all="All kinds" value={v.kind.value} options={PLAN_KINDS.map((k) => ({ value: k, label: humanize(k) }))} onChange={(x) => m.setFilter("kind", x)} />
        <FilterSelect id="plans-status" label="Status" all="Any status" value={v.status.value} options={PLAN_STATUSES} onChange={(x) => m.setFilter("status", x)} />
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
          Refresh
        </button>
      </div>
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {!loaded.value && v.loading.value && <Loading label="Loading plans…" />}
      {loaded.value && items.value.length === 0 && <p class="empty">No plans match. Plans are made by workflows with a “Create or get plan” step.</p>}
      {items.value.length > 0 && (
        <table class="table">
          <caption class="visually-hidden">Plans</caption>
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Deadline</th>
              <th scope="col">Shops</th>
              <th scope="col" class="num">
                Items
              </th>
              <th scope="col" class="num">
                Quantity
              </th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {items.value.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link href={`/plans/${encodeURIComponent(p.id)}`} class="strong">
                    {p.name}
                  </Link>
                </td>
                <td>{humanize(p.kind)}</td>
                <td>
                  <StatusBadge status={p.status} />
                </td>
                <td>{p.deadline ?? "—"}</td>
                <td>{shopsText(p.shops)}</td>
                <td class="num">{p.item_count}</td>
                <td class="num">{p.total_quantity}</td>
                <td>
                  <Time iso={p.updated_at} relative={relativeTime(p.updated_at)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={v.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
    </main>
  );
}

export function PlanPage({ id }: { id: string }) {
  const m = useModel(() => new PlanModel(id));
  const plan = m.data.plan.value;
  const v = m.view;
  useEffect(() => {
    document.title = plan ? `Plan ${plan.name}` : "Plan";
  }, [plan?.name]);
  if (!plan) {
    return (
      <main class="page" id="main">
        <Link href="/plans">← Plans</Link>
        {v.loading.value ? <Loading label="Loading the plan…" /> : <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />}
      </main>
    );
  }
  const rows = m.items.value;
  const shown = rows.slice(0, v.shown.value);
  const loaded = m.data.items.value.length;
  const more = m.data.itemsCursor.value !== null;
  const rebalance = plan.kind === "rebalance" || plan.items.some((i) => i.from_shop_id || i.to_shop_id);
  const markdown = plan.kind === "markdown" || plan.items.some((i) => i.discount_percent !== null && i.discount_percent !== undefined);
  return (
    <main class="page page-wide" id="main">
      <Link href="/plans">← Plans</Link>
      <header class="page-head">
        <h1>
          {plan.name} <StatusBadge status={plan.status} />
        </h1>
        <div class="page-actions">
          <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
            Refresh
          </button>
        </div>
      </header>
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      <dl class="facts facts-wide">
        <dt>Kind</dt>
        <dd>{humanize(plan.kind)}</dd>
        <dt>Deadline</dt>
        <dd>{plan.deadline ?? "none"}</dd>
        <dt>Shops</dt>
        <dd>{shopsText(plan.shops)}</dd>
        <dt>Items</dt>
        <dd>
          {plan.item_count} {plan.item_count === 1 ? "line" : "lines"}, {plan.total_quantity} units
          {loaded > 0 && (
            <span class="hint">
              {" "}
              · the {more ? `first ${loaded}` : loaded} came from {m.runs.value} {m.runs.value === 1 ? "run" : "runs"}
            </span>
          )}
        </dd>
      </dl>
      <div class="filters">
        <label for="plan-filter">Filter items</label>
        <input id="plan-filter" type="search" value={v.filter.value} placeholder="item, variant, shop, run or strategy" onInput={(e) => m.setFilter(e.currentTarget.value)} />
        <span class="hint" aria-live="polite">
          {v.filter.value.trim() ? `${rows.length} of the ${loaded} lines loaded match` : `${loaded} of ${plan.item_count} lines loaded`}
        </span>
      </div>
      {rows.length === 0 ? (
        <p class="empty">{plan.item_count === 0 ? "This plan has no items yet." : "No loaded line matches the filter."}</p>
      ) : (
        <table class="table">
          <caption class="visually-hidden">Items of {plan.name}</caption>
          <thead>
            <tr>
              <th scope="col">Inventory item</th>
              <th scope="col">Variant</th>
              <th scope="col">Shop</th>
              {rebalance && <th scope="col">From → to</th>}
              <th scope="col" class="num">
                Quantity
              </th>
              {markdown && (
                <th scope="col" class="num">
                  Discount
                </th>
              )}
              {markdown && <th scope="col">Markdown date</th>}
              <th scope="col">Strategy</th>
              <th scope="col" class="num">
                Score
              </th>
              <th scope="col">Added by run</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i, n) => (
              <tr key={`${i.inventory_item_id}-${i.from_shop_id}-${i.to_shop_id}-${n}`}>
                <td class="mono small">{i.inventory_item_id ?? "—"}</td>
                <td class="mono small">{i.variant_id ?? "—"}</td>
                <td class="mono small">{i.shop_id ?? "—"}</td>
                {rebalance && <td class="mono small">{i.from_shop_id || i.to_shop_id ? `${i.from_shop_id ?? "?"} → ${i.to_shop_id ?? "?"}` : "—"}</td>}
                <td class="num">{i.quantity}</td>
                {markdown && <td class="num">{i.discount_percent === null || i.discount_percent === undefined ? "—" : `${fmt(i.discount_percent, 1)} %`}</td>}
                {markdown && <td>{i.markdown_date ?? "—"}</td>}
                <td>{i.strategy ? strategyText(i.strategy) : "—"}</td>
                <td class="num">{fmt(i.score)}</td>
                <td>
                  {i.run_id ? (
                    <Link href={`/runs/${encodeURIComponent(i.run_id)}`} class="mono small">
                      {i.run_id.slice(0, 8)}
                    </Link>
                  ) : (
                    "—"
                  )}{" "}
                  {i.test && (
                    <span class="badge tone-warn" title="Written by a test run: test data, not a line to act on">
                      test
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={v.itemsError.value} />
      {(rows.length > shown.length || (more && !v.filter.value.trim())) && (
        <button type="button" class="btn" disabled={v.loadingItems.value} onClick={() => void m.showMore()}>
          {v.loadingItems.value ? "Loading…" : "Show more lines"}
        </button>
      )}
    </main>
  );
}
