import { z } from "zod";
import { collectReferences, interpolateString, parsePath, toText, type Scope } from "./interpolate";

/*
 * Flow control and safety of one workflow (SPEC §14): a key that partitions the controls, and per
 * key at most N runs at a time, at most `limit` starts per period, one run per quiet window, a
 * cooldown after a start; daily caps on effects for the whole workflow. Pure: the gate object
 * (worker/flow/) applies them.
 */

export const CAP_KINDS = ["emails", "pushes", "units", "discount_codes", "webhook_calls"] as const;
export const CapKindSchema = z.enum(CAP_KINDS);
export type CapKind = z.infer<typeof CapKindSchema>;

/** Why a run that exists is not running yet (SPEC §14). */
export const WAITING_FOR = ["concurrency", "throttle", "debounce"] as const;
export type WaitingFor = (typeof WAITING_FOR)[number];

const Cap = z.int().min(0).max(10_000_000);

export const ControlsSchema = z
  .strictObject({
    key: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .superRefine((key, ctx) => {
        const why = keyIssue(key);
        if (why) ctx.addIssue({ code: "custom", message: why });
      })
      .optional()
      .describe("Partitions every control, e.g. {{trigger.data.shop_id}}"),
    concurrency: z.int().min(1).max(1000).optional().describe("At most this many runs per key are running"),
    throttle: z
      .strictObject({
        limit: z.int().min(1).max(100_000),
        period_minutes: z.int().min(1).max(10_080),
      })
      .optional()
      .describe("At most `limit` runs start per key per period; the rest wait for the next period"),
    debounce_minutes: z.int().min(1).max(1440).optional().describe("One run per quiet window per key, with the latest event"),
    cooldown_minutes: z.int().min(1).max(43_200).optional().describe("After a run starts for a key, events for it start none for this long"),
    caps: z
      .strictObject({
        per_day: z.strictObject(Object.fromEntries(CAP_KINDS.map((k) => [k, Cap.optional()])) as Record<CapKind, z.ZodOptional<typeof Cap>>),
      })
      .optional()
      .describe("Daily (UTC) safety caps for the whole workflow: the effect that would pass one fails and pauses the workflow"),
  });
export type Controls = z.infer<typeof ControlsSchema>;

/** Why a key template cannot partition runs: it must name the trigger's data, and only it. */
export function keyIssue(key: string): string | undefined {
  const refs = collectReferences(key);
  if (refs.length === 0) return `The key must use the trigger's data, e.g. {{trigger.data.shop_id}}`;
  for (const { path } of refs) {
    const parts = parsePath(path);
    if (!parts || parts[0] !== "trigger" || parts[1] !== "data" || parts.length < 3) {
      return `"{{${path}}}": the key may use only the trigger's data, e.g. {{trigger.data.shop_id}}`;
    }
  }
  return undefined;
}

/** Whether runs of a definition pass through a gate: any per-key control (caps alone do not). */
export const gated = (c: Controls | undefined): c is Controls =>
  c !== undefined && (c.concurrency !== undefined || c.throttle !== undefined || c.debounce_minutes !== undefined || c.cooldown_minutes !== undefined);

/** The name of the gate object of one workflow and key (worker/flow/gate-object.ts). */
export const gateName = (workflowId: string, key: string) => `${workflowId}\n${key}`;

/** The key value used when the trigger's data has no value for the key. */
export const NO_KEY = "(none)";

/** The key of one event: the template with the trigger's data, or one key for the workflow. */
export function controlKey(c: Controls, trigger: Pick<Scope["trigger"], "data">): string {
  if (c.key === undefined) return "";
  const scope = { trigger } as unknown as Scope;
  const value = interpolateString(c.key, scope, { missingOk: true });
  const text = value === undefined ? "" : toText(value);
  return text === "" ? NO_KEY : text.slice(0, 500);
}

/** The controls in plain words, one phrase each, as the builder and the workflow page show them. */
export function describeControls(c: Controls | undefined): string[] {
  if (!c) return [];
  const per = c.key ? ` per ${keyNoun(c.key)}` : "";
  const out: string[] = [];
  if (c.concurrency !== undefined) out.push(`at most ${c.concurrency} run${c.concurrency === 1 ? "" : "s"} at a time${per}`);
  if (c.throttle) out.push(`at most ${c.throttle.limit} start${c.throttle.limit === 1 ? "" : "s"} ${every(c.throttle.period_minutes)}${per}`);
  if (c.debounce_minutes !== undefined) out.push(`one run after ${minutes(c.debounce_minutes)} of quiet${per}, with the latest event`);
  if (c.cooldown_minutes !== undefined) out.push(`no new run for ${minutes(c.cooldown_minutes)} after one starts${per}`);
  for (const kind of CAP_KINDS) {
    const n = c.caps?.per_day[kind];
    if (n !== undefined) out.push(`pause the workflow past ${capCount(kind, n)} a day`);
  }
  return out;
}

export const CAP_NOUNS: Record<CapKind, string> = {
  emails: "emails",
  pushes: "pushes",
  units: "units added to plans",
  discount_codes: "discount codes",
  webhook_calls: "webhook calls",
};
const CAP_NOUN: Record<CapKind, string> = {
  emails: "email",
  pushes: "push",
  units: "unit added to plans",
  discount_codes: "discount code",
  webhook_calls: "webhook call",
};

/** "3 emails", "1 email". */
export const capCount = (kind: CapKind, n: number) => `${n} ${n === 1 ? CAP_NOUN[kind] : CAP_NOUNS[kind]}`;

/** `{{trigger.data.shop_id}}` → "shop": the last segment of the first reference, without `_id`. */
export function keyNoun(key: string): string {
  const path = collectReferences(key)[0]?.path;
  const last = path ? parsePath(path)?.at(-1) : undefined;
  return last ? last.replace(/_id$/, "").replace(/_/g, " ") : "key";
}

/** "every hour", "every 2 hours", "every 10 minutes". */
function every(n: number): string {
  const d = minutes(n);
  return d.startsWith("a ") || d.startsWith("an ") ? `every ${d.replace(/^an? /, "")}` : `every ${d}`;
}

function minutes(n: number): string {
  if (n % 1440 === 0) return n === 1440 ? "a day" : `${n / 1440} days`;
  if (n % 60 === 0) return n === 60 ? "an hour" : `${n / 60} hours`;
  return n === 1 ? "a minute" : `${n} minutes`;
}
