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

/** Compares two already-interpolated operands. Type mismatches compare false, never throw. */
export function compare(op: ConditionOp, left: Resolved, right: Resolved): boolean {
  switch (op) {
    case "exists":
      return left !== undefined && left !== null;
    case "not_exists":
      return left === undefined || left === null;
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

/** One condition after interpolation, as a step records it. */
export interface EvaluatedCondition {
  left: unknown;
  op: ConditionOp;
  right: unknown;
  result: boolean;
}

const tolerant = (op: ConditionOp) => op === "exists" || op === "not_exists";

/**
 * Evaluates a group: every condition of `all` and at least one of `any` (each part only when
 * present). `resolve` interpolates an operand; `missingOk` is set for exists / not_exists, whose
 * point is a path that may be missing. Every condition is evaluated so that a step can show them.
 */
export function evaluateGroup(
  group: ConditionGroup,
  resolve: (operand: unknown, missingOk: boolean) => Resolved,
): { result: boolean; all: EvaluatedCondition[]; any: EvaluatedCondition[] } {
  const evaluate = (c: Condition): EvaluatedCondition => {
    const left = resolve(c.left, tolerant(c.op));
    const right = tolerant(c.op) ? undefined : resolve(c.right, false);
    return { left, op: c.op, right, result: compare(c.op, left, right) };
  };
  const all = (group.all ?? []).map(evaluate);
  const any = (group.any ?? []).map(evaluate);
  const result = all.every((c) => c.result) && (any.length === 0 || any.some((c) => c.result));
  return { result, all, any };
}
