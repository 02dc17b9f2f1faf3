import { useModel } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { PLAN_ACTIONS, PlanModel, PlansModel, productText, reasonText, type Measure } from "../../../models/plans";
import type { PlanDetail, PlanLine, PlanTotals } from "../../api";
import { humanize, PLAN_KINDS, PLAN_STATUSES } from "../../lib/catalog";
import { count, relativeTime } from "../../lib/util";
import { HBars } from "../common/charts";
import { ConfirmDialog, ErrorNote, FilterSelect, Link, Loading, Notice, PageHeader, StatusBadge, Time } from "../common/ui";

type Plan = InstanceType<typeof PlanModel>;

function shopsText(shops: unknown): string {
  if (!shops || typeof shops !== "object") return "—";
  const s = shops as { mode?: string; ids?: string[] };
  if (s.mode === "specific") return (s.ids ?? []).join(", ") || "specific shops";
  if (s.mode === "from_trigger") return "the trigger's shop";
  return "all shops";
}

/** Money in the reader's locale, two decimals; "—" when unknown. */
const money = (n: number | null | undefined) => (n === null || n === undefined ? "—" : n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const int = (n: number | null | undefined) => (n === null || n === undefined ? "—" : n.toLocaleString());

const TestBadge = ({ what }: { what: string }) => (
  <span class="badge tone-warn" title={`Made by a test run: ${what} is test data, not one to act on`}>
    test
  </span>
);

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
        <FilterSelect
          id="plans-test"
          label="Made by"
          all="Real and test runs"
          value={v.test.value}
          options={[
            { value: "false", label: "Real runs only" },
            { value: "true", label: "Test runs only" },
          ]}
          onChange={(x) => m.setFilter("test", x)}
        />
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
          Refresh
        </button>
      </div>
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {!loaded.value && v.loading.value && <Loading label="Loading plans…" />}
      {loaded.value && items.value.length === 0 && <p class="empty">No plans match. Plans are made by workflows with a “Create or get plan” step.</p>}
      {items.value.length > 0 && (
        <div class="table-scroll">
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
                  Lines
                </th>
                <th scope="col" class="num">
                  Units
                </th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.value.map((p) => (
                <tr key={p.id} data-plan-id={p.id}>
                  <td>
                    <Link href={`/plans/${encodeURIComponent(p.id)}`} class="strong">
                      {p.name}
                    </Link>{" "}
                    {p.test && <TestBadge what="this plan" />}
                  </td>
                  <td>{humanize(p.kind)}</td>
                  <td>
                    <StatusBadge status={p.status} />
                  </td>
                  <td>{p.deadline ?? "—"}</td>
                  <td>{shopsText(p.shops)}</td>
                  <td class="num">{int(p.item_count)}</td>
                  <td class="num">{int(p.total_quantity)}</td>
                  <td>
                    <Time iso={p.updated_at} relative={relativeTime(p.updated_at)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={v.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
    </main>
  );
}

/** What the plan's status means for what can be done with it. */
function statusNote(plan: PlanDetail): string | null {
  switch (plan.status) {
    case "draft":
      return "Draft: runs may add lines; open it to have workflows fill it.";
    case "approved":
      return "Approved: runs no longer add lines (the next run starts a new plan of this name). Quantities can still be edited until it is closed.";
    case "closed":
      return "Closed: this plan is done and can no longer change.";
    case "cancelled":
      return "Cancelled: this plan was dropped and can no longer change.";
    default:
      return null;
  }
}

const MEASURES: readonly { key: Measure; label: string; text: (n: number) => string }[] = [
  { key: "units", label: "Units", text: (n) => count(n, "unit") },
  { key: "cost_value", label: "Cost", text: (n) => money(n) },
  { key: "retail_value", label: "Retail", text: (n) => money(n) },
];

function Totals({ totals }: { totals: PlanTotals }) {
  const t = totals.totals;
  return (
    <>
      <dl class="stat-cards" aria-label="Plan totals">
        <div>
          <dt>Lines</dt>
          <dd>{int(t.lines)}</dd>
        </div>
        <div>
          <dt>Units</dt>
          <dd>{int(t.units)}</dd>
        </div>
        <div>
          <dt>Cost value</dt>
          <dd>{money(t.cost_value)}</dd>
        </div>
        <div>
          <dt>Retail value</dt>
          <dd>{money(t.retail_value)}</dd>
        </div>
      </dl>
      {(t.unpriced_lines > 0 || t.test_lines > 0) && (
        <p class="hint stat-note">
          {t.unpriced_lines > 0 && `${count(t.unpriced_lines, "line")} without a known cost or price count 0. `}
          {t.test_lines > 0 && `${count(t.test_lines, "line")} came from test runs.`}
        </p>
      )}
    </>
  );
}

function ShopTotals({ totals, measure, onMeasure, onShop }: { totals: PlanTotals; measure: Measure; onMeasure: (m: Measure) => void; onShop: (id: string) => void }) {
  const m = MEASURES.find((x) => x.key === measure)!;
  const shops = totals.shops;
  const shown = [...shops].sort((a, b) => b[measure] - a[measure]).slice(0, 15);
  const name = (s: (typeof shops)[number]) => s.shop_name ?? s.shop_id ?? "No shop";
  return (
    <section class="plan-shops" aria-labelledby="plan-shops-title">
      <h2 id="plan-shops-title">Per shop</h2>
      <div class="plan-shops-grid">
        <HBars
          title={`${m.label === "Units" ? "Units" : `${m.label} value`} per shop${shops.length > shown.length ? ` (the ${shown.length} largest of ${shops.length})` : ""}`}
          desc={`Bars of the ${m.label.toLowerCase()} each shop receives in this plan; the numbers are in the table “Totals per shop”.`}
          rows={shown.map((s) => ({ key: s.shop_id ?? "none", label: name(s), value: s[measure], text: m.text(s[measure]), cls: `chart-bar chart-${measure}` }))}
          actions={
            <span class="segmented" role="group" aria-label="Bar length">
              {MEASURES.map((x) => (
                <button key={x.key} type="button" class={x.key === measure ? "btn btn-small btn-on" : "btn btn-small"} aria-pressed={x.key === measure} onClick={() => onMeasure(x.key)}>
                  {x.label}
                </button>
              ))}
            </span>
          }
        />
        <div class="table-scroll">
          <table class="table compact">
            <caption class="table-caption">Totals per shop</caption>
            <thead>
              <tr>
                <th scope="col">Shop</th>
                <th scope="col" class="num">
                  Lines
                </th>
                <th scope="col" class="num">
                  Units
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col" class="num">
                  Retail
                </th>
              </tr>
            </thead>
            <tbody>
              {shops.map((s) => (
                <tr key={s.shop_id ?? "none"}>
                  <td>
                    {s.shop_id ? (
                      <button type="button" class="link-btn" onClick={() => onShop(s.shop_id!)} aria-label={`Show the lines of ${name(s)}`}>
                        {name(s)}
                      </button>
                    ) : (
                      name(s)
                    )}
                  </td>
                  <td class="num">{int(s.lines)}</td>
                  <td class="num">{int(s.units)}</td>
                  <td class="num">{money(s.cost_value)}</td>
                  <td class="num">{money(s.retail_value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

/** The quantity cell: the number and an Edit button, or the editor (Enter saves, Escape cancels). */
function QuantityCell({ line, m, editable }: { line: PlanLine; m: Plan; editable: boolean }) {
  const v = m.view;
  const input = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const was = useRef(false);
  const editing = v.editing.value === line.line_id;
  // The editor takes focus when it opens, and gives it back to its Edit button when it closes.
  useEffect(() => {
    if (editing) {
      input.current?.focus();
      input.current?.select();
    } else if (was.current) button.current?.focus();
    was.current = editing;
  }, [editing]);
  const what = `${productText(line).name}${line.size ? ` size ${line.size}` : ""} at ${line.shop_name ?? line.shop_id ?? "?"}`;
  if (!editing) {
    return (
      <div class="qty">
        <span class="qty-value">{int(line.quantity)}</span>
        {editable && (
          <button ref={button} type="button" class="btn btn-small btn-ghost" aria-label={`Edit the quantity of ${what}`} onClick={() => m.edit(line)}>
            Edit
          </button>
        )}
      </div>
    );
  }
  const errorId = `qty-error-${line.line_id}`;
  return (
    <form
      class="qty-edit"
      // Our own message, in words, rather than the browser's bubble for min/step.
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void m.save();
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") m.stopEditing();
      }}
    >
      <span class="qty-edit-row">
        <input
          ref={input}
          type="number"
          inputMode="numeric"
          min={0}
          step={1}
          value={v.draft.value}
          aria-label={`Quantity of ${what}`}
          aria-invalid={v.editError.value ? true : undefined}
          aria-describedby={v.editError.value ? errorId : undefined}
          onInput={(e) => (v.draft.value = e.currentTarget.value)}
        />
        <button type="submit" class="btn btn-small btn-primary" disabled={v.saving.value}>
          {v.saving.value ? "Saving…" : "Save"}
        </button>
        <button type="button" class="btn btn-small" onClick={() => m.stopEditing()}>
          Cancel
        </button>
      </span>
      {v.editError.value && (
        <p class="qty-error" id={errorId} role="alert">
          {v.editError.value}
        </p>
      )}
    </form>
  );
}

function LinesTable({ plan, m }: { plan: PlanDetail; m: Plan }) {
  const lines = m.data.lines.value;
  const transfers = plan.kind === "rebalance" || lines.some((l) => l.from_shop_id);
  const markdown = plan.kind === "markdown" || lines.some((l) => l.discount_percent !== null);
  return (
    <table class="table plan-lines">
      <caption class="visually-hidden">Lines of {plan.name}</caption>
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col">{transfers ? "From → to" : "Shop"}</th>
          <th scope="col" class="num">
            On hand
          </th>
          <th scope="col" class="num">
            On order
          </th>
          <th scope="col" class="num">
            Target
          </th>
          <th scope="col" class="num">
            Quantity
          </th>
          {markdown && (
            <th scope="col" class="num">
              Discount
            </th>
          )}
          <th scope="col" class="num">
            Cost
          </th>
          <th scope="col" class="num">
            Retail
          </th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => {
          const p = productText(l);
          return (
            <tr key={l.line_id} data-line-id={l.line_id} class={l.test ? "is-test" : undefined}>
              <td data-label="Product">
                <span class="strong">{p.name}</span>
                {p.detail && <span class="hint line-sub">{p.detail}</span>}
                <span class="line-marks">
                  {l.test && <TestBadge what="this line" />}
                  {l.edited_at && (
                    <span class="badge tone-info" title={`Quantity set by hand ${new Date(l.edited_at).toLocaleString()}`}>
                      edited
                    </span>
                  )}
                </span>
              </td>
              <td data-label={l.from_shop_id ? "From → to" : "Shop"}>
                {l.from_shop_id ? (
                  <>
                    {l.from_shop_name ?? l.from_shop_id}
                    {l.from_on_hand !== null && <span class="hint"> ({int(l.from_on_hand)} on hand)</span>} → {l.shop_name ?? l.shop_id ?? "—"}
                  </>
                ) : (
                  (l.shop_name ?? l.shop_id ?? "—")
                )}
              </td>
              <td class="num" data-label="On hand">
                {int(l.on_hand)}
              </td>
              <td class="num" data-label="On order">
                {int(l.on_order)}
              </td>
              <td class="num" data-label="Target">
                {int(l.target)}
              </td>
              <td class="num" data-label="Quantity">
                <QuantityCell line={l} m={m} editable={plan.editable} />
              </td>
              {markdown && (
                <td class="num" data-label="Discount">
                  {l.discount_percent === null ? "—" : `${l.discount_percent} %`}
                  {l.markdown_date && <span class="hint line-sub">from {l.markdown_date}</span>}
                </td>
              )}
              <td class="num" data-label="Cost">
                {money(l.cost_value)}
              </td>
              <td class="num" data-label="Retail">
                {money(l.retail_value)}
              </td>
              <td data-label="Reason" class="wrap">
                {reasonText(l)}
                {l.run_id && (
                  <span class="hint line-sub">
                    by run{" "}
                    <Link href={`/runs/${encodeURIComponent(l.run_id)}`} class="mono">
                      {l.run_id.slice(0, 8)}
                    </Link>
                  </span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function PlanPage({ id }: { id: string }) {
  const m = useModel(() => new PlanModel(id));
  const plan = m.data.plan.value;
  const totals = m.data.totals.value;
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
  const lines = m.data.lines.value;
  const note = statusNote(plan);
  const confirming = PLAN_ACTIONS.find((a) => a.status === v.confirming.value);
  const shops = totals?.shops ?? [];
  return (
    <main class="page page-wide" id="main">
      <Link href="/plans">← Plans</Link>
      <header class="page-head">
        <div>
          <h1>
            {plan.name} <StatusBadge status={plan.status} /> {plan.test && <TestBadge what="this plan" />}
          </h1>
          <p class="hint">
            {capitalize(humanize(plan.kind))} plan · {plan.deadline ? `deadline ${plan.deadline}` : "no deadline"} · {shopsText(plan.shops)} · updated{" "}
            <Time iso={plan.updated_at} relative={relativeTime(plan.updated_at)} />
          </p>
        </div>
        <div class="page-actions">
          {PLAN_ACTIONS.filter((a) => plan.next_statuses.includes(a.status)).map((a) => (
            <button
              key={a.status}
              type="button"
              class={a.tone === "primary" ? "btn btn-primary" : a.tone === "danger" ? "btn btn-danger-ghost" : "btn"}
              disabled={v.acting.value}
              onClick={() => m.ask(a.status)}
            >
              {a.label}
            </button>
          ))}
          <button type="button" class="btn" disabled={v.exporting.value} onClick={() => void m.exportCsv()}>
            {v.exporting.value ? "Exporting…" : m.filtered.value ? "Export these lines (CSV)" : "Export CSV"}
          </button>
          <button type="button" class="btn btn-ghost" onClick={() => void m.refresh()} disabled={v.loading.value}>
            Refresh
          </button>
        </div>
      </header>
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      <ErrorNote error={v.actionError.value} />
      {v.notice.value && <Notice>{v.notice.value}</Notice>}
      {note && <p class="note note-info">{note}</p>}
      {plan.test && <p class="note note-info">A test run made this plan: it is test data, kept apart from the real plans of this name.</p>}

      {totals ? <Totals totals={totals} /> : v.totalsError.value ? <ErrorNote error={v.totalsError.value} /> : <Loading label="Adding up the plan…" />}
      {totals && shops.length > 0 && <ShopTotals totals={totals} measure={v.measure.value} onMeasure={(x) => m.setMeasure(x)} onShop={(s) => m.setFilter("shop", s)} />}

      <section class="plan-lines-section" aria-labelledby="plan-lines-title">
        <h2 id="plan-lines-title">Lines</h2>
        <form
          class="filters"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            m.search();
          }}
        >
          <span class="filter-pair">
            <label for="plan-q">Find</label>
            <input id="plan-q" type="search" value={v.typed.value} placeholder="product, brand, size, SKU, shop" onInput={(e) => m.type(e.currentTarget.value)} />
          </span>
          <span class="filter-pair">
            <FilterSelect
              id="plan-shop"
              label="Shop"
              all="All shops"
              value={v.shop.value}
              options={[
                ...(v.shop.value && !shops.some((s) => s.shop_id === v.shop.value) ? [v.shop.value] : []),
                ...shops.filter((s) => s.shop_id).map((s) => ({ value: s.shop_id!, label: s.shop_name ?? s.shop_id! })),
              ]}
              onChange={(x) => m.setFilter("shop", x)}
            />
          </span>
          <span class="filter-pair">
            <FilterSelect
              id="plan-test"
              label="Lines"
              all="Real and test"
              value={v.test.value}
              options={[
                { value: "false", label: "Real lines only" },
                { value: "true", label: "Test lines only" },
              ]}
              onChange={(x) => m.setFilter("test", x)}
            />
          </span>
          {m.filtered.value && (
            <button type="button" class="btn btn-small btn-ghost" onClick={() => m.clearFilters()}>
              Clear filters
            </button>
          )}
          <span class="hint" aria-live="polite">
            {m.data.linesLoaded.value &&
              (m.filtered.value
                ? `${count(lines.length, "line")}${m.data.linesCursor.value ? " so far" : ""} match`
                : `${int(lines.length)} of ${count(plan.item_count, "line")} shown`)}
          </span>
        </form>
        <ErrorNote error={v.linesError.value} onRetry={() => void m.refresh()} />
        {!m.data.linesLoaded.value && v.linesLoading.value && <Loading label="Loading the lines…" />}
        {m.data.linesLoaded.value && lines.length === 0 && (
          <p class="empty">
            {m.filtered.value ? "No line matches these filters." : plan.item_count === 0 ? "This plan has no lines yet. Workflows add them with an “Add items to plan” step." : "No lines."}
          </p>
        )}
        {lines.length > 0 && (
          <div class="table-scroll">
            <LinesTable plan={plan} m={m} />
          </div>
        )}
        {m.data.linesCursor.value && (
          <button type="button" class="btn" disabled={v.linesLoading.value} onClick={() => void m.showMore()}>
            {v.linesLoading.value ? "Loading…" : "Show more lines"}
          </button>
        )}
      </section>

      <ConfirmDialog
        open={confirming !== undefined}
        title={confirming ? `${confirming.label}?` : ""}
        text={confirming?.confirm ?? ""}
        action={confirming?.label ?? ""}
        onConfirm={() => confirming && void m.setStatus(confirming.status)}
        onClose={() => m.closeConfirm()}
      />
    </main>
  );
}
