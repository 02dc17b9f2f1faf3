import { describe, expect, it } from "vitest";
import { ControlsSchema, controlKey, describeControls, gated, keyIssue, NO_KEY } from "../../worker/definition/controls";
import { admit, arrive, throttleWindow } from "../../worker/flow/gate-rules";

/* Flow control (SPEC §14): the definition's controls and the gate's pure decisions. */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);

describe("controls in a definition", () => {
  it("takes a key made of the trigger's data, and refuses any other", () => {
    expect(keyIssue("{{trigger.data.shop_id}}")).toBeUndefined();
    expect(keyIssue("{{ trigger.data.shop_id }}/{{trigger.data.sku}}")).toBeUndefined();
    expect(keyIssue("shop")).toMatch(/must use the trigger's data/);
    expect(keyIssue("{{trigger.entity_id}}")).toMatch(/only the trigger's data/);
    expect(keyIssue("{{trigger.data}}")).toMatch(/only the trigger's data/);
    expect(keyIssue("{{steps.plan.output.plan_id}}")).toMatch(/only the trigger's data/);
    expect(ControlsSchema.safeParse({ key: "shop", concurrency: 1 }).success).toBe(false);
  });

  it("names the key of an event from its data, with one key for events without a value", () => {
    const c = ControlsSchema.parse({ key: "{{trigger.data.shop_id}}", concurrency: 2 });
    expect(controlKey(c, { data: { shop_id: "Zürich-1" } })).toBe("Zürich-1");
    expect(controlKey(c, { data: { shop_id: 7 } })).toBe("7");
    expect(controlKey(c, { data: {} })).toBe(NO_KEY);
    expect(controlKey(ControlsSchema.parse({ concurrency: 1 }), { data: { shop_id: "s" } })).toBe("");
  });

  it("says periods as people do", () => {
    const phrases = (period_minutes: number) => describeControls(ControlsSchema.parse({ throttle: { limit: 1, period_minutes } }))[0];
    expect([1, 10, 60, 120, 1440, 2880].map(phrases)).toEqual([
      "at most 1 start every minute",
      "at most 1 start every 10 minutes",
      "at most 1 start every hour",
      "at most 1 start every 2 hours",
      "at most 1 start every day",
      "at most 1 start every 2 days",
    ]);
  });

  it("gates only per-key controls: caps alone start runs at once", () => {
    expect(gated(undefined)).toBe(false);
    expect(gated(ControlsSchema.parse({ caps: { per_day: { emails: 3 } } }))).toBe(false);
    expect(gated(ControlsSchema.parse({ cooldown_minutes: 5 }))).toBe(true);
  });

  it("says each control in plain words", () => {
    const c = ControlsSchema.parse({
      key: "{{trigger.data.shop_id}}",
      concurrency: 5,
      throttle: { limit: 100, period_minutes: 60 },
      debounce_minutes: 10,
      cooldown_minutes: 1440,
      caps: { per_day: { emails: 500, units: 10000 } },
    });
    expect(describeControls(c)).toEqual([
      "at most 5 runs at a time per shop",
      "at most 100 starts every hour per shop",
      "one run after 10 minutes of quiet per shop, with the latest event",
      "no new run for a day after one starts per shop",
      "pause the workflow past 500 emails a day",
      "pause the workflow past 10000 units added to plans a day",
    ]);
  });
});

describe("an event arriving at the gate", () => {
  const view = (over = {}) => ({ now: T0, lastAccept: 0, debouncing: false, ...over });

  it("is suppressed inside the cooldown and accepted after it", () => {
    const c = ControlsSchema.parse({ cooldown_minutes: 30 });
    expect(arrive(c, view({ lastAccept: T0 - 29 * MIN }))).toEqual({ kind: "suppress" });
    expect(arrive(c, view({ lastAccept: T0 - 30 * MIN }))).toEqual({ kind: "queue" });
    expect(arrive(c, view())).toEqual({ kind: "queue" });
  });

  it("opens a quiet window, or folds into the one already open and restarts it", () => {
    const c = ControlsSchema.parse({ debounce_minutes: 10 });
    expect(arrive(c, view())).toEqual({ kind: "debounce", until: T0 + 10 * MIN });
    expect(arrive(c, view({ debouncing: true }))).toEqual({ kind: "fold", until: T0 + 10 * MIN });
  });
});

describe("starting queued runs", () => {
  it("fills the free slots, first in first out, and says the rest wait for concurrency", () => {
    const c = ControlsSchema.parse({ concurrency: 2 });
    expect(admit(c, T0, 5, 0, 0)).toEqual({ start: 2, reason: "concurrency", notBefore: null });
    expect(admit(c, T0, 5, 2, 0)).toEqual({ start: 0, reason: "concurrency", notBefore: null });
    expect(admit(c, T0, 1, 1, 0)).toEqual({ start: 1, reason: null, notBefore: null });
  });

  it("starts at most the throttle's limit per period and holds the rest until the next period", () => {
    const c = ControlsSchema.parse({ throttle: { limit: 10, period_minutes: 60 } });
    const w = throttleWindow(c, T0 + 5 * MIN)!;
    expect(w.next).toBe(T0 + 60 * MIN);
    expect(admit(c, T0 + 5 * MIN, 11, 0, 0)).toEqual({ start: 10, reason: "throttle", notBefore: T0 + 60 * MIN });
    expect(admit(c, T0 + 5 * MIN, 3, 0, 10)).toEqual({ start: 0, reason: "throttle", notBefore: T0 + 60 * MIN });
  });

  it("names the tighter of concurrency and throttle", () => {
    const c = ControlsSchema.parse({ concurrency: 3, throttle: { limit: 10, period_minutes: 60 } });
    expect(admit(c, T0, 20, 0, 0).reason).toBe("concurrency");
    expect(admit(c, T0, 20, 0, 9)).toMatchObject({ start: 1, reason: "throttle" });
  });
});
