/**
 * Flow control in the UI's words (SPEC §14): the controls as phrases, why a key is refused, why a
 * pending run waits, and a day's cap usage. Pure, with types from the worker's contract only.
 *
 * The UI may not import worker code (only contract types), so `describeControls`, `keyNoun` and
 * `keyIssue` repeat worker/definition/controls.ts word for word (but "every hour" where the worker
 * says "every an hour", and "1 email" for "1 emails"); test/unit/flow-control-ui.test.ts holds the
 * two side by side.
 */
import type { DefinitionInput, RunRecord } from "../../worker/contract";
import type { FlowStats } from "../../worker/contract/flow";

export type ControlsInput = NonNullable<DefinitionInput["controls"]>;
export type CapKind = keyof FlowStats["caps"]["used"];
export type WaitingFor = NonNullable<RunRecord["waiting_for"]>;

/** Every cap kind, in the worker's order (the labels below are typed by the contract, so a new kind fails to compile there). */
export const CAP_KINDS = ["emails", "pushes", "units", "discount_codes", "webhook_calls"] as const satisfies readonly CapKind[];

/** A cap's noun in sentences ("pause the workflow past 500 emails a day"), as the worker says it. */
export const CAP_NOUNS: Record<CapKind, string> = {
  emails: "emails",
  pushes: "pushes",
  units: "units added to plans",
  discount_codes: "discount codes",
  webhook_calls: "webhook calls",
};

/** The same noun for one ("past 1 webhook call a day"). */
const CAP_NOUN_ONE: Record<CapKind, string> = {
  emails: "email",
  pushes: "push",
  units: "unit added to plans",
  discount_codes: "discount code",
  webhook_calls: "webhook call",
};

/** A cap's label in forms and the usage list. */
export const CAP_LABELS: Record<CapKind, string> = {
  emails: "Emails",
  pushes: "Push notifications",
  units: "Units added to plans",
  discount_codes: "Discount codes",
  webhook_calls: "Webhook calls",
};

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

function references(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((m) => m[1] ?? "");
}

function parsePath(path: string): string[] | undefined {
  const parts = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  return parts.some((p) => !SEGMENT.test(p)) ? undefined : parts;
}

/** Why a key template cannot partition runs (it must name the trigger's data, and only it). */
export function keyIssue(key: string): string | undefined {
  const refs = references(key);
  if (refs.length === 0) return `The key must use the trigger's data, e.g. {{trigger.data.shop_id}}`;
  for (const path of refs) {
    const parts = parsePath(path);
    if (!parts || parts[0] !== "trigger" || parts[1] !== "data" || parts.length < 3) {
      return `"{{${path}}}": the key may use only the trigger's data, e.g. {{trigger.data.shop_id}}`;
    }
  }
  return undefined;
}

/** `{{trigger.data.shop_id}}` → "shop": the last segment of the first reference, without `_id`. */
export function keyNoun(key: string): string {
  const path = references(key)[0];
  const last = path ? parsePath(path)?.at(-1) : undefined;
  return last ? last.replace(/_id$/, "").replace(/_/g, " ") : "key";
}

export function minutes(n: number): string {
  if (n % 1440 === 0) return n === 1440 ? "a day" : `${n / 1440} days`;
  if (n % 60 === 0) return n === 60 ? "an hour" : `${n / 60} hours`;
  return n === 1 ? "a minute" : `${n} minutes`;
}

/** "every hour", "every 2 hours", "every 90 minutes". */
export function every(n: number): string {
  return `every ${minutes(n).replace(/^an? /, "")}`;
}

/** The controls in plain words, one phrase each ("at most 5 runs at a time per shop"). */
export function describeControls(c: ControlsInput | undefined): string[] {
  if (!c) return [];
  const per = c.key ? ` per ${keyNoun(c.key)}` : "";
  const out: string[] = [];
  if (c.concurrency !== undefined) out.push(`at most ${c.concurrency} run${c.concurrency === 1 ? "" : "s"} at a time${per}`);
  // A throttle being typed may lack a number; the check names it, the phrase waits for both.
  if (c.throttle?.limit !== undefined && c.throttle.period_minutes !== undefined) out.push(`at most ${c.throttle.limit} start${c.throttle.limit === 1 ? "" : "s"} ${every(c.throttle.period_minutes)}${per}`);
  if (c.debounce_minutes !== undefined) out.push(`one run after ${minutes(c.debounce_minutes)} of quiet${per}, with the latest event`);
  if (c.cooldown_minutes !== undefined) out.push(`no new run for ${minutes(c.cooldown_minutes)} after one starts${per}`);
  for (const kind of CAP_KINDS) {
    const n = c.caps?.per_day[kind];
    if (n !== undefined) out.push(`pause the workflow past ${n} ${(n === 1 ? CAP_NOUN_ONE : CAP_NOUNS)[kind]} a day`);
  }
  return out;
}

/** Why a throttle cannot be saved as typed: one of its two numbers is missing. */
export function throttleIssue(c: ControlsInput | undefined): string | undefined {
  const t = c?.throttle;
  if (!t || (t.limit === undefined) === (t.period_minutes === undefined)) return undefined;
  return t.limit === undefined ? "Give the number of starts too, or clear the minutes." : "Give the minutes too, or clear the number of starts.";
}

/** The one line on the canvas: the phrases joined, capitalised; a plain "off" when there are none. */
export function controlsSummary(c: ControlsInput | undefined): string {
  const phrases = describeControls(c);
  if (phrases.length === 0) return "No limits: every matching event starts a run right away.";
  const text = phrases.join(" · ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const isEmpty = (o: object) => Object.keys(o).length === 0;

/**
 * The controls as the definition stores them: a cleared field is gone, and so is a group left
 * empty (no throttle without numbers, no caps without a cap, no controls at all when nothing is
 * set). A throttle with one number of two stays, so that the check names the missing one.
 */
export function pruneControls(c: ControlsInput | undefined): ControlsInput | undefined {
  if (!c) return undefined;
  const out: Record<string, unknown> = { ...c };
  if (typeof c.key === "string" && c.key.trim() === "") delete out.key;
  if (c.throttle && isEmpty(c.throttle)) delete out.throttle;
  const perDay = c.caps?.per_day;
  if (c.caps && (!perDay || isEmpty(perDay))) delete out.caps;
  return isEmpty(out) ? undefined : (out as ControlsInput);
}

/** The short badge of a waiting run: "waiting: concurrency slot (shop s1)". */
export function waitingBadge(w: WaitingFor, key?: { noun: string; value: string } | null): string {
  const why: Record<WaitingFor, string> = {
    concurrency: "concurrency slot",
    throttle: "throttle — next period",
    debounce: "debounce — quiet window",
  };
  const of = key && w === "concurrency" ? ` (${key.noun} ${key.value})` : "";
  return `waiting: ${why[w]}${of}`;
}

/** The key of a run as "shop s1", when its workflow has a key and the run has a value for it. */
export function runKey(c: ControlsInput | undefined, flowKey: string | null): { noun: string; value: string } | null {
  if (!c?.key || flowKey === null || flowKey === "") return null;
  return { noun: keyNoun(c.key), value: flowKey };
}

/** Why a pending run waits, in a sentence for its run page. */
export function waitingSentence(w: WaitingFor, c: ControlsInput | undefined, flowKey: string | null): string {
  const key = runKey(c, flowKey);
  const per = key ? ` per ${key.noun}` : "";
  const forKey = key ? ` for ${key.noun} ${key.value}` : "";
  switch (w) {
    case "concurrency": {
      const n = c?.concurrency;
      const limit = n === undefined ? "only a few runs" : `at most ${n} run${n === 1 ? "" : "s"}`;
      const busy = n === 1 ? "one is" : "that many are";
      return `This run waits for a free slot: ${limit} of this workflow may run at a time${per}, and ${busy} running${forKey} now. It starts as soon as one ends, first in, first out.`;
    }
    case "throttle": {
      const t = c?.throttle;
      const limit = t ? `at most ${t.limit} start${t.limit === 1 ? "" : "s"} ${every(t.period_minutes)}` : "a limited number of starts per period";
      return `This run waits for the next period: the workflow allows ${limit}${per}, and this period's starts${forKey} are used up. It starts in the next period; nothing is dropped.`;
    }
    case "debounce": {
      const d = c?.debounce_minutes;
      const quiet = d === undefined ? "a quiet window" : `${minutes(d)} without a new event`;
      return `This run waits for ${quiet}${forKey}. Each new event${forKey} starts the wait again, and the run then starts once, with the latest event.`;
    }
  }
}

/** A reason from the engine as a sentence of its own (it may come without a full stop). */
export function asSentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** How a workflow the engine paused itself is labelled (its reason is the badge's title). */
export function pausedLabel(reason: string): string {
  return /\bcap/i.test(reason) ? "paused: daily cap" : "paused by the engine";
}

export interface CapRow {
  kind: CapKind;
  label: string;
  used: number;
  limit: number | null;
  /** Used up: the next effect of this kind would fail and pause the workflow. */
  full: boolean;
  /** 0–1 of the limit used, for a bar; null without a limit. */
  share: number | null;
}

/** Today's use of each cap: the kinds with a limit, then those used without one. */
export function capRows(caps: FlowStats["caps"]): CapRow[] {
  const rows = CAP_KINDS.map((kind): CapRow => {
    const used = caps.used[kind];
    const limit = caps.limits[kind];
    return { kind, label: CAP_LABELS[kind], used, limit, full: limit !== null && used >= limit, share: limit === null ? null : limit === 0 ? 1 : Math.min(1, used / limit) };
  });
  return [...rows.filter((r) => r.limit !== null), ...rows.filter((r) => r.limit === null && r.used > 0)];
}

/** "3 / 3", "12" (no limit). */
export const capText = (r: CapRow) => (r.limit === null ? String(r.used) : `${r.used} / ${r.limit}`);

/** The days' counts added up, for the table's footer. */
export function statsTotals(days: FlowStats["days"]): { started: number; suppressed: number; delayed: number } {
  return days.reduce((t, d) => ({ started: t.started + d.started, suppressed: t.suppressed + d.suppressed, delayed: t.delayed + d.delayed }), { started: 0, suppressed: 0, delayed: 0 });
}
