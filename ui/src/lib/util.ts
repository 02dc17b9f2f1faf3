export type PathKey = string | number;

export function getIn(value: unknown, path: readonly PathKey[]): unknown {
  let cur = value;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PathKey, unknown>)[k];
  }
  return cur;
}

/** A copy of `value` with `path` set; `undefined` removes the key (optional fields disappear). */
export function setIn<T>(value: T, path: readonly PathKey[], next: unknown): T {
  if (path.length === 0) return next as T;
  const [head, ...rest] = path as [PathKey, ...PathKey[]];
  const base: unknown = value ?? (typeof head === "number" ? [] : {});
  const child = setIn(getIn(base, [head]), rest, next);
  if (Array.isArray(base)) {
    const copy = base.slice();
    if (child === undefined && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = child;
    return copy as T;
  }
  const copy = { ...(base as Record<string, unknown>) };
  if (child === undefined) delete copy[head];
  else copy[head] = child;
  return copy as T;
}

export const pathId = (prefix: string, path: readonly PathKey[]) => `${prefix}-${path.join("-")}`.replace(/[^A-Za-z0-9_-]/g, "_");

const rtf = typeof Intl !== "undefined" ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : undefined;
const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dtf.format(d);
}

export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return formatDateTime(iso);
  if (abs < 45) return rtf.format(s, "second");
  if (abs < 45 * 60) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 22 * 3600) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

export function duration(from: string | null | undefined, to: string | null | undefined, now = Date.now()): string {
  if (!from) return "—";
  const a = Date.parse(from);
  const b = to ? Date.parse(to) : now;
  if (Number.isNaN(a) || Number.isNaN(b)) return "—";
  const ms = Math.max(0, b - a);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/**
 * Reads a value typed into a condition operand: numbers, true/false/null and JSON lists keep
 * their type; anything else is text (templates such as {{trigger.data.on_hand}} included).
 */
export function parseOperand(text: string, asList: boolean): unknown {
  const t = text.trim();
  if (asList) {
    if (t.startsWith("[")) {
      try {
        const v: unknown = JSON.parse(t);
        if (Array.isArray(v)) return v;
      } catch {
        // fall back to a comma list
      }
    }
    return t === "" ? [] : t.split(",").map((p) => parseOperand(p, false));
  }
  if (t === "") return text;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true") return true;
  if (t === "false") return false;
  if (t === "null") return null;
  return text.trim() === text ? text : t;
}

export function formatOperand(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) return v.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ");
  return JSON.stringify(v);
}

/** "200-299, 304" ↔ [[200, 299], 304]. */
export function parseStatuses(text: string): (number | [number, number])[] | string {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return "Give at least one status or range, e.g. 200-299";
  const out: (number | [number, number])[] = [];
  for (const p of parts) {
    const m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(p);
    if (!m) return `"${p}" is not a status (200) or a range (200-299)`;
    out.push(m[2] ? [Number(m[1]), Number(m[2])] : Number(m[1]));
  }
  return out;
}

export function formatStatuses(v: unknown): string {
  if (!Array.isArray(v)) return "200-299";
  return v.map((s) => (Array.isArray(s) ? `${s[0]}-${s[1]}` : String(s))).join(", ");
}

export const pretty = (v: unknown) => (v === undefined ? "" : JSON.stringify(v, null, 2));

export function downloadText(filename: string, text: string, type = "application/json"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "workflow";
}

/** "1 plan", "2 plans": `plural` under its older name. */
export { plural as count } from "./plural";
