/** What each kind of step preview reads as (SPEC §13): fields, tags, plan lines, and the impact row. */
import type { ComponentChildren } from "preact";
import type { PreviewImpactBody, PreviewStep } from "../../api";
import { count, formatDateTime } from "../../lib/util";
import { plural } from "../../lib/plural";
import { JsonBlock } from "../common/ui";

/* Reading the preview's free-form `preview` values (their shape is the node's): small guards, no casts of JSON. */
type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Rec) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === "string");
const money = (n: number | null) => (n === null ? "—" : n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/** The impact as a compact row of figures. */
export function Impact({ impact, label }: { impact: PreviewImpactBody; label: string }) {
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
            <caption class="hint">{lines.length < (num(totals?.lines) ?? 0) ? `The first ${plural(lines.length, "line")}` : "Lines"}</caption>
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
export function StepPreviewBody({ step }: { step: PreviewStep }) {
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
