/**
 * Conditions of triggers and condition steps (SPEC §7), after interpolation.
 *
 * The one rule for missing values, the same in trigger matching and in condition steps:
 * - An operand is *missing* when a path it references is not in the run's data (a `created`
 *   event has no `trigger.previous`, a step in another branch has no output). A template with
 *   several references, or a list or object holding one, is missing as a whole when any of
 *   them is.
 * - `exists` is false and `not_exists` true for a missing operand; JSON `null` counts as absent
 *   for these two as well.
 * - Every comparison (`eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `in`, `not_in`, `contains`,
 *   `not_contains`) with a missing operand, left or right, is false: a negated operator says
 *   "the value is there and differs", never "we could not look". So `previous.status ne "x"`
 *   does not fire on a created event.
 * - `null` in the data is a value for comparisons: `eq null null` is true, `ne null "x"` true.
 * - A condition step does not fail on a missing path: the condition is false and the step's
 *   input records the side that was missing (`"missing": ["left"]`, the operand shown as null).
 */
import { z } from "zod";

export const CONDITION_OPS = [
  "eq",
  "ne",
  "lt",
  "lte",
  "gt",
  "gte",
  "in",
  "not_in",
  "contains",
  "not_contains",
  "exists",
  "not_exists",
] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export const ConditionSchema = z.strictObject({
  left: z.unknown(),
  op: z.enum(CONDITION_OPS),
  right: z.unknown().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionGroupSchema = z
  .strictObject({
    all: z.array(ConditionSchema).max(50).optional(),
    any: z.array(ConditionSchema).max(50).optional(),
  })
  .refine((g) => (g.all?.length ?? 0) + (g.any?.length ?? 0) > 0, {
    message: "Add at least one condition under all or any",
  });
export type ConditionGroup = z.infer<typeof ConditionGroupSchema>;

/** A value in a condition after interpolation; `undefined` means the path was missing. */
export type Resolved = unknown;

function asNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" || typeof b === "number") {
    const x = asNumber(a);
    const y = asNumber(b);
    return x !== undefined && y !== undefined && x === y;
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

function order(a: unknown, b: unknown): number | undefined {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  // ISO dates and other strings compare as text, which orders ISO timestamps correctly.
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (Array.isArray(haystack)) return haystack.some((h) => equal(h, needle));
  if (typeof haystack === "string" && needle !== undefined && needle !== null) {
    return haystack.includes(String(needle));
  }
  return false;
}

export class ConditionError extends Error {}

/**
 * Whether an interpolated operand references a missing path. JSON never holds `undefined`, so an
 * `undefined` anywhere inside the operand can only be a missing reference.
 */
export function isMissing(value: Resolved): boolean {
  if (value === undefined) return true;
  if (Array.isArray(value)) return value.some(isMissing);
  if (value !== null && typeof value === "object") return Object.values(value).some(isMissing);
  return false;
}

/**
 * Compares two already-interpolated operands under the rule above. Type mismatches compare
 * false, never throw; only `in` / `not_in` with a present right side that is not a list throw.
 */
export function compare(op: ConditionOp, left: Resolved, right: Resolved): boolean {
  if (op === "exists") return !isMissing(left) && left !== null;
  if (op === "not_exists") return isMissing(left) || left === null;
  if (isMissing(left) || isMissing(right)) return false;
  switch (op) {
    case "eq":
      return equal(left, right);
    case "ne":
      return !equal(left, right);
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const d = order(left, right);
      if (d === undefined) return false;
      return op === "lt" ? d < 0 : op === "lte" ? d <= 0 : op === "gt" ? d > 0 : d >= 0;
    }
    case "in":
    case "not_in": {
      if (!Array.isArray(right)) throw new ConditionError(`"${op}" needs a list on the right`);
      const found = right.some((r) => equal(left, r));
      return op === "in" ? found : !found;
    }
    case "contains":
      return contains(left, right);
    case "not_contains":
      return !contains(left, right);
  }
}

/** One condition after interpolation, as a step records it (JSON: a missing operand shows as null). */
export interface EvaluatedCondition {
  left: unknown;
  op: ConditionOp;
  right?: unknown;
  result: boolean;
  /** The operands that referenced a missing path; absent when none did. */
  missing?: ("left" | "right")[];
}

const unary = (op: ConditionOp) => op === "exists" || op === "not_exists";

/**
 * Evaluates a group: every condition of `all` and at least one of `any` (each part only when
 * present). `resolve` interpolates an operand, giving `undefined` for a missing path (hence
 * `missingOk` is always true). Every condition is evaluated so that a step can show them.
 */
export function evaluateGroup(
  group: ConditionGroup,
  resolve: (operand: unknown, missingOk: true) => Resolved,
): { result: boolean; all: EvaluatedCondition[]; any: EvaluatedCondition[] } {
  const evaluate = (c: Condition): EvaluatedCondition => {
    const left = resolve(c.left, true);
    const right = unary(c.op) ? undefined : resolve(c.right, true);
    const leftMissing = isMissing(left);
    const rightMissing = !unary(c.op) && isMissing(right);
    const missing = [...(leftMissing ? ["left" as const] : []), ...(rightMissing ? ["right" as const] : [])];
    return {
      left: leftMissing ? null : left,
      op: c.op,
      ...(unary(c.op) ? {} : { right: rightMissing ? null : right }),
      result: compare(c.op, left, right),
      ...(missing.length ? { missing } : {}),
    };
  };
  const all = (group.all ?? []).map(evaluate);
  const any = (group.any ?? []).map(evaluate);
  const result = all.every((c) => c.result) && (any.length === 0 || any.some((c) => c.result));
  return { result, all, any };
}
