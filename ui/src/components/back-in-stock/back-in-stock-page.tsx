import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { BackInStockModel, RANGES, type BackInStockVariant } from "../../../models/back-in-stock";
import type { BackInStockSummary, RestockEpisode } from "../../api";
import { humanize } from "../../lib/catalog";
import { formatDateTime, relativeTime } from "../../lib/util";
import { plural } from "../../lib/plural";
import { Dialog, ErrorNote, Link, Loading, PageHeader, StatusBadge, Time } from "../common/ui";
import { BackInStockChart } from "./chart";
import { money, percent, shortTime, variantLabel } from "./format";

const TABLE = "Most wanted sizes";

function Figures({ totals }: { totals: BackInStockSummary["totals"] }) {
  const figures: [string, string, string][] = [
    ["Waiting", String(totals.waiting), "pending subscriptions now"],
    ["Notified", String(totals.notified), "in the window"],
    ["Engaged", String(totals.engaged), "clicked a tracked link"],
    ["Converted", String(totals.converted), "bought the size"],
    ["Conversion rate", percent(totals.conversion_rate), "converted ÷ notified"],
    ["Attributed revenue", money(totals.attributed_revenue), "order lines of converted"],
  ];
  return (
    <dl class="bis-figures" aria-label="Totals">
      {figures.map(([label, value, hint]) => (
        <div key={label} class="bis-figure">
          <dt>{label}</dt>
          <dd>
            <span class="bis-figure-value">{value}</span>
            <span class="hint">{hint}</span>
          </dd>
        </div>
      ))}
    </dl>
  );
}

function VariantsTable({ variants, selected, onSelect }: { variants: BackInStockVariant[]; selected: string; onSelect: (id: string | null) => void }) {
  return (
    <div class="table-scroll" role="region" aria-labelledby="bis-table-caption" tabIndex={0}>
      <table class="table" id="bis-table">
        <caption id="bis-table-caption" class="visually-hidden">
          {TABLE}
        </caption>
        <thead>
          <tr>
            <th scope="col">Product and size</th>
            <th scope="col" class="num">Waiting</th>
            <th scope="col" class="num">Notified</th>
            <th scope="col" class="num">Engaged</th>
            <th scope="col" class="num">Converted</th>
            <th scope="col" class="num">Conversion</th>
            <th scope="col" class="num">Revenue</th>
          </tr>
        </thead>
        <tbody>
          {variants.map((v) => {
            const on = v.variant_id === selected;
            return (
              <tr key={v.variant_id} class={on ? "selected" : undefined}>
                <th scope="row">
                  <button type="button" class="link-btn strong" aria-pressed={on} title="Show its restocks" onClick={() => onSelect(on ? null : v.variant_id)}>
                    {variantLabel(v)}
                  </button>
                  <div class="mono small hint">{v.variant_id}</div>
                </th>
                <td class="num">{v.waiting}</td>
                <td class="num">{v.notified}</td>
                <td class="num">{v.engaged}</td>
                <td class="num">{v.converted}</td>
                <td class="num">{percent(v.conversion_rate)}</td>
                <td class="num">{money(v.attributed_revenue)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Episode({ e }: { e: RestockEpisode }) {
  const settings = [`min stock ${e.min_stock}`, e.per_unit === null ? "all at once" : `${e.per_unit} per unit, every ${e.wave_minutes} min`];
  return (
    <li class="bis-episode">
      <div class="bis-episode-head">
        <span>
          Started <Time iso={e.started_at} relative={formatDateTime(e.started_at)} />
        </span>
        <StatusBadge status={e.status === "ended" ? "completed" : "running"} label={e.status} />
        {e.end_reason && <span class="hint">{humanize(e.end_reason)}</span>}
        <span>
          <span class="strong">{e.notified}</span> notified · <span class="strong">{e.waiting}</span> still waiting
        </span>
      </div>
      <p class="hint small">
        {e.shop_id ? `Stock of ${e.shop_id}` : "Stock of every shop"} · {settings.join(" · ")} · <Link href={`/workflows/${encodeURIComponent(e.workflow_id)}`}>the workflow</Link> (version {e.version})
      </p>
      <div class="table-scroll">
        <table class="table compact">
          <caption class="visually-hidden">Waves of the restock started {formatDateTime(e.started_at)}</caption>
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Time</th>
              <th scope="col" class="num">Stock</th>
              <th scope="col" class="num">Size</th>
              <th scope="col" class="num">Notified</th>
            </tr>
          </thead>
          <tbody>
            {e.waves.map((w) => (
              <tr key={w.n}>
                <td>{w.n}</td>
                <td>
                  <Time iso={w.started_at} relative={shortTime(w.started_at)} />
                </td>
                <td class="num">{w.available}</td>
                <td class="num">{w.size ?? "all"}</td>
                <td class="num">{w.notified}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </li>
  );
}

/** The picked variant's restock episodes, in a dialog (the table may be long; it works at phone width). */
function Episodes({ m }: { m: InstanceType<typeof BackInStockModel> }) {
  const id = m.view.variantId.value;
  const v = m.selected.value;
  const label = v ? variantLabel(v) : id;
  const episodes = m.data.episodesOf.value === id ? m.data.episodes.value : [];
  return (
    <Dialog open={id !== ""} wide title={`Restocks of ${label}`} labelId="bis-episodes-title" onClose={() => m.select(null)}>
      {v && <p class="hint">{v.waiting} {v.waiting === 1 ? "customer waits" : "customers wait"} for it now.</p>}
      <ErrorNote error={m.view.episodesError.value} onRetry={() => void m.refresh()} />
      {m.view.loadingEpisodes.value && m.data.episodesOf.value !== id ? (
        <Loading label="Loading its restocks…" />
      ) : (
        !m.view.episodesError.value &&
        (episodes.length === 0 ? (
          <p class="empty">No restock of this size has notified anyone yet. One starts when its stock rises to a back-in-stock workflow's minimum.</p>
        ) : (
          <ol class="bis-episode-list">
            {episodes.map((e) => (
              <Episode key={e.id} e={e} />
            ))}
          </ol>
        ))
      )}
    </Dialog>
  );
}

export function BackInStockPage() {
  const m = useModel(BackInStockModel);
  const v = m.view;
  const summary = m.data.summary.value;
  useEffect(() => {
    document.title = "Back in stock";
  }, []);
  return (
    <main class="page" id="main">
      <PageHeader title="Back in stock">
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
          Refresh
        </button>
      </PageHeader>
      <div class="filters" role="group" aria-label="Window">
        <span class="small">Notified in the last</span>
        {RANGES.map((d) => (
          <button key={d} type="button" class={v.days.value === d ? "btn btn-small btn-on" : "btn btn-small"} aria-pressed={v.days.value === d} onClick={() => m.setDays(d)}>
            {d} days
          </button>
        ))}
        {summary && (
          <span class="hint" aria-live="polite">
            {formatDateTime(summary.from)} – {formatDateTime(summary.to)} · orders count within {plural(summary.attribution_days, "day")} of the notification
          </span>
        )}
      </div>
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {!summary && v.loading.value && <Loading label="Loading the back-in-stock summary…" />}
      {summary && (
        <>
          <Figures totals={summary.totals} />
          {summary.variants.length === 0 ? (
            <p class="empty">
              No one waits for a size, and no one was notified in the last {v.days.value} days. Waitlists fill with <code>subscription</code> events; a back-in-stock workflow tells
              them when the stock is back.
            </p>
          ) : (
            <>
              <BackInStockChart variants={m.top.value} table={TABLE} />
              <h2 class="bis-h2">{TABLE}</h2>
              <p class="hint">
                Most waiting first{summary.variant_count > summary.variants.length ? `: the first ${summary.variants.length} of ${summary.variant_count}` : ""}. Pick one to see
                its restocks{summary.totals.notified === 0 ? "; nobody was notified in this window yet" : ""}. Updated {relativeTime(summary.to)}.
              </p>
              <VariantsTable variants={summary.variants} selected={v.variantId.value} onSelect={(id) => m.select(id)} />
            </>
          )}
        </>
      )}
      <Episodes m={m} />
    </main>
  );
}
