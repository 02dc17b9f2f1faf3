import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import type { Preview } from "../../../models/preview";
import type { EntitySnapshot, MatchingNowPreview, PreviewImpactBody, PreviewStep, RunPreview } from "../../api";
import { humanize, withArticle } from "../../lib/catalog";
import { allSteps } from "../../lib/flow";
import { count, formatDateTime } from "../../lib/util";
import { ErrorNote, Inspector, JsonBlock, Loading, StatusBadge } from "../common/ui";
import type { Builder } from "./binders";

/* Reading the preview's free-form `preview` values (their shape is the node's): small guards, no casts of JSON. */
type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === "string");
const money = (n: number | null) => (n === null ? "—" : n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/** A search over the mirror and a list to pick one entity from (the Test panel's picker too). */
export function EntityPicker(props: {
  id: string;
  entity: string;
  query: string;
  searching: boolean;
  error: string | null;
  results: EntitySnapshot[] | null;
  picked: string | null;
  onQuery: (q: string) => void;
  onSearch: () => void;
  onPick: (e: EntitySnapshot) => void;
}) {
  const { results } = props;
  return (
    <>
      <form
        class="search-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          props.onSearch();
        }}
      >
        <label for={props.id}>Find {withArticle(props.entity)} by id or name</label>
        <div class="control-row">
          <input id={props.id} value={props.query} onInput={(e) => props.onQuery(e.currentTarget.value)} placeholder="id or name" />
          <button type="submit" class="btn" disabled={props.searching}>
            {props.searching ? "Searching…" : "Search"}
          </button>
        </div>
      </form>
      <ErrorNote error={props.error} />
      {results && results.length === 0 && <p class="hint">No {humanize(props.entity)} matches. Try another search.</p>}
      {results && results.length > 0 && (
        <ul class="pick-list" aria-label="Matching entities">
          {results.map((r) => (
            <li key={r.id}>
              <button type="button" class={`pick ${props.picked === r.id ? "selected" : ""}`} aria-pressed={props.picked === r.id} onClick={() => props.onPick(r)}>
                <code>{r.id}</code>
                {typeof r.name === "string" && <span>{r.name}</span>}
                {(r.tags ?? []).length > 0 && <span class="hint">{(r.tags ?? []).join(", ")}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The impact as a compact row of figures. */
function Impact({ impact, label }: { impact: PreviewImpactBody; label: string }) {
  const figures: [string, string][] = [
    ["emails", String(impact.emails)],
    ["pushes", String(impact.pushes)],
    ["webhooks", String(impact.webhooks)],
    ["codes", String(impact.discount_codes)],
    ["plan lines", String(impact.plan_lines)],
    ["units", String(impact.units)],
    ["cost value", money(impact.cost_value)],
    ["retail value", money(impact.retail_value)],
  ];
  return (
    <dl class="preview-figures" aria-label={label}>
      {figures.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Fields({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="preview-fields">
      {rows
        .filter(([, v]) => v !== null && v !== undefined && v !== "")
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

function Tags({ tags }: { tags: string[] }) {
  if (tags.length === 0) return <span class="hint">none</span>;
  return (
    <span class="chip-list">
      {tags.map((t) => (
        <span key={t} class="chip">
          {t}
        </span>
      ))}
    </span>
  );
}

function PlanLines({ p }: { p: Rec }) {
  const lines = list(p.lines).map(rec).filter((l): l is Rec => l !== null);
  const totals = rec(p.totals);
  const shops = list(p.shops).map(rec).filter((s): s is Rec => s !== null);
  return (
    <>
      <Fields
        rows={[
          ["plan", `${str(p.plan) === "create" ? "would create" : "would reuse"} ${str(p.plan_id) ?? ""}`],
          ["candidates", num(p.candidates) === null ? null : `${num(p.candidates)} (${num(p.skipped) ?? 0} skipped)`],
          ["totals", totals ? `${count(num(totals.lines) ?? 0, "line")}, ${count(num(totals.units) ?? 0, "unit")}, cost ${money(num(totals.cost_value))}, retail ${money(num(totals.retail_value))}` : null],
        ]}
      />
      {lines.length > 0 && (
        <div class="table-wrap">
          <table class="table compact">
            <caption class="hint">{lines.length < (num(totals?.lines) ?? 0) ? `The first ${lines.length} lines` : "Lines"}</caption>
            <thead>
              <tr>
                <th scope="col">Variant</th>
                <th scope="col">Shop</th>
                <th scope="col" class="num">Units</th>
                <th scope="col" class="num">Cost</th>
                <th scope="col" class="num">Retail</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l, i) => (
                <tr key={i}>
                  <td class="wrap">
                    <code>{str(l.variant_id) ?? str(l.inventory_item_id)}</code>
                  </td>
                  <td>{str(l.from_shop_id) ? `${str(l.from_shop_id)} → ${str(l.to_shop_id)}` : str(l.shop_id)}</td>
                  <td class="num">{num(l.quantity)}</td>
                  <td class="num">{money(num(l.cost_value))}</td>
                  <td class="num">{money(num(l.retail_value))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shops.length > 0 && (
        <table class="table compact">
          <caption class="hint">Totals per shop</caption>
          <thead>
            <tr>
              <th scope="col">Shop</th>
              <th scope="col" class="num">Lines</th>
              <th scope="col" class="num">Units</th>
              <th scope="col" class="num">Cost</th>
              <th scope="col" class="num">Retail</th>
            </tr>
          </thead>
          <tbody>
            {shops.map((s) => (
              <tr key={str(s.shop_id)}>
                <td>{str(s.shop_id)}</td>
                <td class="num">{num(s.lines)}</td>
                <td class="num">{num(s.units)}</td>
                <td class="num">{money(num(s.cost_value))}</td>
                <td class="num">{money(num(s.retail_value))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** What one step would do, read the way its node shows it. */
function StepPreviewBody({ step }: { step: PreviewStep }) {
  const p = rec(step.preview);
  if (!p) return null;
  if (p.previewable === false) return <p class="hint">Not previewed: {str(p.reason)}</p>;
  switch (step.type) {
    case "send_email":
    case "send_internal_email": {
      const html = str(p.html);
      const text = str(p.text);
      return (
        <>
          <Fields
            rows={[
              ["from", str(p.from)],
              ["to", strs(p.to).join(", ")],
              ["cc", strs(p.cc).join(", ")],
              ["subject", str(p.subject)],
              ["links", p.track_links === true ? "tracked when sent" : null],
            ]}
          />
          {html !== null && <iframe class="email-frame preview-frame" title={`Email preview of step ${step.node_id}`} sandbox="" srcdoc={html} />}
          {text !== null && (
            <details>
              <summary>Text version</summary>
              <pre class="preview-text">{text}</pre>
            </details>
          )}
        </>
      );
    }
    case "send_push":
      return (
        <Fields
          rows={[
            ["title", str(p.title)],
            ["body", str(p.body)],
            ["url", str(p.url)],
            ["customer", str(p.customer_id)],
            ["recipients", num(p.recipients) === null ? "unknown" : count(num(p.recipients) ?? 0, "browser")],
          ]}
        />
      );
    case "call_webhook": {
      const headers = Object.entries(rec(p.headers) ?? {});
      return (
        <>
          <p class="mono">
            <strong>{str(p.method)}</strong> {str(p.url)}
          </p>
          {headers.length > 0 && (
            <Fields rows={headers.map(([k, v]): [string, ComponentChildren] => [k, <code key={k}>{String(v)}</code>])} />
          )}
          {str(p.body) !== null && <pre class="preview-text">{str(p.body)}</pre>}
        </>
      );
    }
    case "create_discount_code":
      return (
        <Fields
          rows={[
            ["code", <code key="c">{str(p.code)}</code>],
            ["value", `${num(p.value) ?? ""}${str(p.type) === "percent" ? " %" : ` ${str(p.currency) ?? ""}`}`],
            ["expires", str(p.expires_on)],
            ["uses", num(p.usage_limit) === null ? null : String(num(p.usage_limit))],
            ["customer", str(p.customer_id)],
          ]}
        />
      );
    case "update_subscription_status":
      return (
        <Fields
          rows={[
            ["subscription", str(p.subscription_id)],
            ["status", `${str(p.from) ?? "?"} → ${str(p.to) ?? "?"}`],
            ["legal", p.legal === true ? "yes" : "no"],
          ]}
        />
      );
    case "add_customer_tags":
    case "remove_customer_tags":
      return (
        <Fields
          rows={[
            ["customer", str(p.customer_id)],
            ["before", <Tags key="b" tags={strs(p.before)} />],
            ["after", <Tags key="a" tags={strs(p.after)} />],
          ]}
        />
      );
    case "wait":
      return <p>{str(p.text) ?? `would wait until ${formatDateTime(str(p.until))}`}</p>;
    case "condition":
      return <p>{p.result === true ? "true: takes the “then” branch" : "false: takes the “else” branch"}</p>;
    case "create_or_get_plan":
      return <Fields rows={[["plan", `${str(p.plan) === "create" ? "would create" : "would reuse"} ${str(p.plan_id) ?? ""}`]]} />;
    case "add_items_to_plan":
      return <PlanLines p={p} />;
    default:
      return <JsonBlock value={p} label={`Preview of step ${step.node_id}`} />;
  }
}

const STEP_STATUS: Record<PreviewStep["status"], { tone: string; label: string }> = {
  would_run: { tone: "succeeded", label: "would run" },
  skipped: { tone: "skipped", label: "skipped" },
  would_fail: { tone: "failed", label: "would fail" },
};

function RunPreviewView({ m, answer }: { m: Builder; answer: RunPreview }) {
  const names = new Map(allSteps(m.data.draft.value.flow).map((s) => [s.node.id, s.node.name]));
  const t = answer.trigger;
  return (
    <section class="preview-result" aria-labelledby="preview-result-title" aria-live="polite">
      <h3 id="preview-result-title">Preview of version {answer.version}</h3>
      <p>
        <StatusBadge status={t.matches ? "succeeded" : "skipped"} label={t.matches ? "trigger matches" : "trigger does not match"} />
      </p>
      {t.reasons.length > 0 && (
        <ul class="preview-reasons">
          {t.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      <Impact impact={answer.impact} label="Impact of this run" />
      <ol class="preview-steps">
        {answer.steps.map((s) => (
          <li key={s.node_id} class={`preview-step preview-${s.status}`}>
            <div class="preview-step-head">
              <strong>{names.get(s.node_id) || s.node_id}</strong> <span class="hint">{s.type.replaceAll("_", " ")}</span>{" "}
              <StatusBadge status={STEP_STATUS[s.status].tone} label={STEP_STATUS[s.status].label} />
            </div>
            {s.error && <p class="step-error">{s.error}</p>}
            <StepPreviewBody step={s} />
          </li>
        ))}
      </ol>
    </section>
  );
}

function MatchingView({ answer }: { answer: MatchingNowPreview }) {
  return (
    <section class="preview-result" aria-labelledby="preview-result-title" aria-live="polite">
      <h3 id="preview-result-title">Everything that matches now (version {answer.version})</h3>
      <p class="preview-count">
        <strong>{count(answer.runs, "run")}</strong> would start{answer.truncated ? " (at least: the count stopped at the limit)" : ""}, of {answer.examined} examined
        {answer.failing > 0 && <>; {count(answer.failing, "run")} with a step that would fail</>}.
      </p>
      <Impact impact={answer.impact} label="Summed impact of the runs" />
    </section>
  );
}

export function PreviewPanel({ m }: { m: Builder }) {
  const p = m.preview;
  const entity = m.data.draft.value.trigger.entity;
  const mode = p.view.mode.value;
  const answer = p.data.answer.value;
  // Results of another entity (the trigger changed since the search) are not offered.
  const current = p.data.searchedFor.value === entity;
  const picked = current ? p.data.picked.value : null;
  const needsSave = m.dirty.value || !m.data.workflow.value;
  useEffect(() => {
    // A new answer is brought into view (on a phone the panel sits below the flow).
    if (answer) document.getElementById("preview-result-title")?.scrollIntoView({ block: "nearest" });
  }, [answer]);
  return (
    <Inspector
      eyebrow="Preview"
      title="Preview with real data"
      titleId="preview-title"
      hint="Shows what a run of the saved version would do — which branch each condition takes, each message, code, status and plan line — and writes nothing."
    >
      <fieldset class="bare preview-mode">
        <legend class="visually-hidden">Preview on</legend>
        <label>
          <input type="radio" name="preview-mode" checked={mode === "entity"} onChange={() => p.setMode("entity")} /> One {humanize(entity)}
        </label>
        <label>
          <input type="radio" name="preview-mode" checked={mode === "matching"} onChange={() => p.setMode("matching")} /> Everything that matches now
        </label>
      </fieldset>
      {mode === "entity" ? (
        <>
          <EntityPicker
            id="preview-search"
            entity={entity}
            query={p.view.query.value}
            searching={p.view.searching.value}
            error={p.view.searchError.value}
            results={current ? p.data.results.value : null}
            picked={picked?.id ?? null}
            onQuery={(q) => p.setQuery(q)}
            onSearch={() => void p.search()}
            onPick={(e) => p.pick(e)}
          />
          {!current && <p class="hint">Search the mirror, then pick one to preview on.</p>}
        </>
      ) : (
        <div class="field">
          <label for="preview-limit">At most this many runs</label>
          <input id="preview-limit" type="number" min={1} max={1000} value={p.view.limit.value} onChange={(e) => p.setLimit(e.currentTarget.valueAsNumber)} />
        </div>
      )}
      {needsSave && <p class="hint">A preview runs a saved version: the button saves your edits first.</p>}
      <button type="button" class="btn btn-primary" disabled={p.view.running.value || m.view.busy.value !== null} onClick={() => void p.run()}>
        {p.view.running.value ? "Previewing…" : `${needsSave ? "Save and preview" : "Preview"}${mode === "entity" && picked ? ` on ${picked.id}` : ""}`}
      </button>
      <ErrorNote error={p.view.error.value} />
      {p.view.running.value && <Loading label="Previewing…" />}
      {answer && ("matching_now" in answer ? <MatchingView answer={answer} /> : <RunPreviewView m={m} answer={answer} />)}
    </Inspector>
  );
}
