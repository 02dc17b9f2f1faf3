/**
 * What changed between two versions of a definition, for the builder's history: the workflow's
 * own fields, the trigger, flow control, and the steps — added, removed, or changed field by
 * field (old → new). Steps are matched by id; a renamed id reads as one removed and one added.
 * Pure, with contract types only (test/unit/history-ui.test.ts).
 */
import type { DefinitionInput } from "../../worker/contract";

type Node = DefinitionInput["nodes"][number];

/** One value that differs, at a path below its part ("tags.include", "config.subject"). */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface StepRef {
  id: string;
  type: string;
  name: string | undefined;
}

export interface DefinitionDiff {
  /** Name, description, start and meta. */
  workflow: FieldChange[];
  trigger: FieldChange[];
  controls: FieldChange[];
  added: StepRef[];
  removed: StepRef[];
  changed: (StepRef & { fields: FieldChange[] })[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isScalarList = (v: unknown): v is unknown[] => Array.isArray(v) && v.every((x) => x === null || typeof x !== "object");
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Leaf differences of two JSON values. Objects are compared key by key and lists of objects
 * item by item; a list of plain values (tags, recipients) is one value, shown whole.
 */
export function fieldChanges(before: unknown, after: unknown, prefix = ""): FieldChange[] {
  if (same(before, after)) return [];
  const at = (k: string | number) => (prefix ? `${prefix}.${k}` : String(k));
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => fieldChanges(before[k], after[k], at(k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && !(isScalarList(before) && isScalarList(after))) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => fieldChanges(before[i], after[i], at(i))).flat();
  }
  return [{ path: prefix, before, after }];
}

const ref = (n: Node): StepRef => ({ id: n.id, type: n.type, name: n.name });

export function diffDefinitions(before: DefinitionInput, after: DefinitionInput): DefinitionDiff {
  const own = (d: DefinitionInput) => ({ name: d.name, description: d.description, start: d.start, meta: d.meta });
  const oldNodes = new Map(before.nodes.map((n) => [n.id, n]));
  const newIds = new Set(after.nodes.map((n) => n.id));
  const changed: DefinitionDiff["changed"] = [];
  for (const n of after.nodes) {
    const old = oldNodes.get(n.id);
    if (!old) continue;
    const { id: _a, ...was } = old;
    const { id: _b, ...is } = n;
    const fields = fieldChanges(was, is);
    if (fields.length > 0) changed.push({ ...ref(n), fields });
  }
  return {
    workflow: fieldChanges(own(before), own(after)),
    trigger: fieldChanges(before.trigger, after.trigger),
    controls: fieldChanges(before.controls ?? {}, after.controls ?? {}),
    added: after.nodes.filter((n) => !oldNodes.has(n.id)).map(ref),
    removed: before.nodes.filter((n) => !newIds.has(n.id)).map(ref),
    changed,
  };
}

export const isEmptyDiff = (d: DefinitionDiff) => d.workflow.length + d.trigger.length + d.controls.length + d.added.length + d.removed.length + d.changed.length === 0;

/** How many lines the diff has, for a summary ("3 changes"). */
export const diffSize = (d: DefinitionDiff) => d.workflow.length + d.trigger.length + d.controls.length + d.added.length + d.removed.length + d.changed.reduce((n, c) => n + c.fields.length, 0);

const WORDS: Record<string, string> = {
  next: "next step",
  then: "“If true” goes to",
  else: "“If false” goes to",
  start: "first step",
  name: "label",
  on_error: "on error",
  timeout_ms: "time limit (ms)",
  max_attempts: "attempts",
  initial_delay_ms: "first delay (ms)",
  max_delay_ms: "longest delay (ms)",
};

/**
 * A path in the words of the forms: "config.quantity.target" → "quantity › target",
 * "all.0.right" → "condition 1 › right", "next" → "next step". `atRoot`: the workflow's own
 * fields, where "name" is the workflow's name rather than a step's label.
 */
export function pathWords(path: string, atRoot = false): string {
  const parts = path.split(".").filter((p) => p !== "config");
  return parts
    .map((p, i) => {
      if (/^\d+$/.test(p)) return `#${Number(p) + 1}`;
      if (atRoot && i === 0 && p === "name") return "name";
      return WORDS[p] ?? p.replaceAll("_", " ");
    })
    .join(" › ")
    .replace(/(all|any) › #(\d+)/g, (_, k: string, n: string) => `${k === "all" ? "condition" : "alternative"} ${n}`);
}

/** A value in a diff line: text in quotes, lists joined, objects as short JSON, nothing as "(none)". */
export function valueWords(v: unknown, max = 80): string {
  if (v === undefined || v === null) return "(none)";
  if (typeof v === "string") return v === "" ? "(empty)" : `“${v.length > max ? `${v.slice(0, max - 1)}…` : v}”`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (isScalarList(v)) return v.length === 0 ? "(none)" : v.map((x) => (typeof x === "string" ? x : String(x))).join(", ");
  const text = JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
