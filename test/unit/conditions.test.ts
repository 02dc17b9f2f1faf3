import { describe, expect, it } from "vitest";
import { compare, CONDITION_OPS, type ConditionGroup, type ConditionOp, evaluateGroup } from "../../worker/definition/conditions";
import { interpolate, type Scope } from "../../worker/definition/interpolate";
import { TriggerSchema } from "../../worker/contract/definition";
import { matchesTrigger } from "../../worker/engine/trigger-match";
import { testScope } from "../support/action-context";

const COMPARISONS = CONDITION_OPS.filter((op) => op !== "exists" && op !== "not_exists");

/** A right operand that would make the comparison true were the left one present and "red". */
const TRUE_RIGHT: Record<Exclude<ConditionOp, "exists" | "not_exists">, unknown> = {
  eq: "red",
  ne: "blue",
  lt: "zzz",
  lte: "red",
  gt: "a",
  gte: "red",
  in: ["red"],
  not_in: ["blue"],
  contains: "e",
  not_contains: "x",
};

const scope = testScope({ colour: "red", nothing: null, list: ["a", "b"] });
const group = (left: unknown, op: ConditionOp, right?: unknown): ConditionGroup => ({ all: [{ left, op, right }] });
const evaluate = (g: ConditionGroup, s: Scope = scope) => evaluateGroup(g, (operand, missingOk) => interpolate(operand, s, { missingOk }));

describe("missing values in conditions", () => {
  it.each(COMPARISONS)("%s holds for present values (the table's control)", (op) => {
    expect(evaluate(group("{{trigger.data.colour}}", op, TRUE_RIGHT[op])).result).toBe(true);
  });

  it.each(COMPARISONS)("%s is false when the left value is missing", (op) => {
    expect(compare(op, undefined, TRUE_RIGHT[op])).toBe(false);
    const r = evaluate(group("{{trigger.data.colour_name}}", op, TRUE_RIGHT[op]));
    expect(r.result).toBe(false);
    expect(r.all[0]).toEqual({ left: null, op, right: TRUE_RIGHT[op], result: false, missing: ["left"] });
  });

  it.each(COMPARISONS)("%s is false when the right value is missing", (op) => {
    expect(compare(op, "red", undefined)).toBe(false);
    const r = evaluate(group("{{trigger.data.colour}}", op, "{{trigger.data.other}}"));
    expect(r.result).toBe(false);
    expect(r.all[0]).toEqual({ left: "red", op, right: null, result: false, missing: ["right"] });
  });

  it("treats a list or a text with a missing reference inside as missing", () => {
    expect(evaluate(group("{{trigger.data.colour}}", "not_in", ["blue", "{{trigger.data.other}}"])).all[0]).toMatchObject({
      result: false,
      missing: ["right"],
    });
    expect(evaluate(group("size {{trigger.data.size}}", "ne", "size 42")).all[0]).toMatchObject({ result: false, missing: ["left"] });
  });

  it("says exists is false and not_exists true for a missing value, and the same for null", () => {
    for (const path of ["{{trigger.data.colour_name}}", "{{trigger.data.nothing}}", "{{trigger.previous.status}}"]) {
      expect(evaluate(group(path, "exists")).result, path).toBe(false);
      expect(evaluate(group(path, "not_exists")).result, path).toBe(true);
    }
    expect(evaluate(group("{{trigger.data.colour}}", "exists")).result).toBe(true);
    expect(evaluate(group("{{trigger.data.colour}}", "not_exists")).result).toBe(false);
    expect(evaluate(group("{{trigger.data.colour_name}}", "exists")).all[0]).toEqual({ left: null, op: "exists", result: false, missing: ["left"] });
  });

  it("compares null in the data as a value", () => {
    expect(evaluate(group("{{trigger.data.nothing}}", "eq", null)).result).toBe(true);
    expect(evaluate(group("{{trigger.data.nothing}}", "ne", "red")).result).toBe(true);
    expect(evaluate(group("{{trigger.data.nothing}}", "in", [null])).result).toBe(true);
    expect(evaluate(group("{{trigger.data.nothing}}", "eq", null)).all[0]).not.toHaveProperty("missing");
  });

  it("decides any and all with the missing conditions false", () => {
    const g: ConditionGroup = {
      any: [
        { left: "{{trigger.data.colour_name}}", op: "ne", right: "red" },
        { left: "{{trigger.data.colour}}", op: "eq", right: "red" },
      ],
    };
    expect(evaluate(g).result).toBe(true);
    expect(evaluate({ all: g.any! }).result).toBe(false);
  });

  it("still refuses in / not_in with a present right side that is not a list", () => {
    expect(() => evaluate(group("{{trigger.data.colour}}", "not_in", "red"))).toThrow(/needs a list/);
  });
});

describe("missing values in triggers", () => {
  const trigger = TriggerSchema.parse({
    entity: "inventory_item",
    events: ["created", "updated"],
    conditions: { all: [{ left: "{{trigger.previous.status}}", op: "ne", right: "archived" }] },
  });
  const candidate = (previous: unknown, kind: string) => {
    const s = testScope({ status: "active" });
    s.trigger.previous = previous;
    return { entity: "inventory_item", kind, tags: [], scope: s };
  };

  it('does not fire previous.status ne "archived" on a created event, which has no previous', () => {
    expect(matchesTrigger(trigger, candidate(null, "created"))).toBe(false);
  });

  it('fires previous.status ne "archived" on an update from another status, not from archived', () => {
    expect(matchesTrigger(trigger, candidate({ status: "active" }, "updated"))).toBe(true);
    expect(matchesTrigger(trigger, candidate({ status: "archived" }, "updated"))).toBe(false);
  });

  it("does not fire not_contains or not_in on a missing path either", () => {
    for (const [op, right] of [
      ["not_contains", "sale"],
      ["not_in", ["sale"]],
    ] as const) {
      const t = TriggerSchema.parse({ entity: "inventory_item", conditions: { all: [{ left: "{{trigger.previous.tags}}", op, right }] } });
      expect(matchesTrigger(t, candidate(null, "created")), op).toBe(false);
      expect(matchesTrigger(t, candidate({ tags: ["new"] }, "updated")), op).toBe(true);
    }
  });
});
