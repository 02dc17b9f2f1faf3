import { describe, expect, it } from "vitest";
import * as worker from "../../worker/definition/controls";
import {
  asSentence,
  capRows,
  capText,
  CAP_KINDS,
  controlsSummary,
  describeControls,
  keyIssue,
  keyNoun,
  pausedLabel,
  pruneControls,
  runKey,
  statsTotals,
  throttleIssue,
  waitingBadge,
  waitingSentence,
  type ControlsInput,
} from "../../ui/models/controls";

/*
 * The UI's flow-control words (ui/models/controls.ts). The UI may not import worker code, so it
 * repeats the worker's phrases; these tests hold the two copies side by side.
 */

const SAMPLES: ControlsInput[] = [
  {},
  { concurrency: 1 },
  { key: "{{trigger.data.shop_id}}", concurrency: 5 },
  { key: "{{ trigger.data.variant_id }}", throttle: { limit: 1, period_minutes: 60 } },
  { key: "{{trigger.data.customer_id}}", throttle: { limit: 100, period_minutes: 90 }, debounce_minutes: 10, cooldown_minutes: 1440 },
  { debounce_minutes: 1, cooldown_minutes: 2880 },
  { cooldown_minutes: 120, caps: { per_day: { emails: 500, pushes: 2000, units: 10000, discount_codes: 200, webhook_calls: 5000 } } },
  { key: "{{trigger.data.shop_id}}-{{trigger.data.variant_id}}", concurrency: 2, caps: { per_day: { emails: 0 } } },
  { caps: { per_day: { emails: 1, pushes: 1, units: 1, discount_codes: 1, webhook_calls: 1 } } },
];

/**
 * Where the worker's English slips, the UI says it right (reported to the lead): "every an hour" is
 * "every hour", "past 1 emails" is "past 1 email". Once the worker says it right, this changes nothing.
 */
const everyFixed = (phrases: string[]) =>
  phrases.map((p) =>
    p
      .replace(/\bevery an? (minute|hour|day)\b/, "every $1")
      .replace(/\bpast 1 (email|push|unit|discount code|webhook call)(e?s)\b/, "past 1 $1"),
  );

describe("the controls in plain words", () => {
  it("says what the worker says, phrase for phrase", () => {
    for (const c of SAMPLES) expect(describeControls(c)).toEqual(everyFixed(worker.describeControls(worker.ControlsSchema.parse(c))));
  });

  it("says 'every hour', 'every 2 hours', 'every 90 minutes'", () => {
    const periods = [1, 60, 90, 120, 1440, 2880].map((period_minutes) => describeControls({ throttle: { limit: 1, period_minutes } })[0]);
    expect(periods).toEqual([
      "at most 1 start every minute",
      "at most 1 start every hour",
      "at most 1 start every 90 minutes",
      "at most 1 start every 2 hours",
      "at most 1 start every day",
      "at most 1 start every 2 days",
    ]);
  });

  it("names the key by the trigger field it reads", () => {
    for (const key of ["{{trigger.data.shop_id}}", "{{trigger.data.product_variant_id}}", "{{trigger.data.sku}}", "no template", "{{trigger.data.a}}-{{trigger.data.b}}"]) {
      expect(keyNoun(key)).toBe(worker.keyNoun(key));
    }
    expect(keyNoun("{{trigger.data.product_variant_id}}")).toBe("product variant");
  });

  it("says 'at most 5 runs at a time per shop'", () => {
    expect(describeControls({ key: "{{trigger.data.shop_id}}", concurrency: 5 })).toEqual(["at most 5 runs at a time per shop"]);
  });

  it("puts one capitalised line on the canvas, and says when there are no limits", () => {
    expect(controlsSummary({ key: "{{trigger.data.shop_id}}", concurrency: 1, cooldown_minutes: 60 })).toBe("At most 1 run at a time per shop · no new run for an hour after one starts per shop");
    expect(controlsSummary(undefined)).toBe("No limits: every matching event starts a run right away.");
    expect(controlsSummary({})).toBe(controlsSummary(undefined));
  });
});

describe("the key's inline error", () => {
  it("refuses the keys the worker refuses, with the same words", () => {
    for (const key of [
      "{{trigger.data.shop_id}}",
      "{{trigger.data.shop_id}}-{{trigger.data.variant_id}}",
      "shop",
      "{{trigger.previous.shop_id}}",
      "{{trigger.data}}",
      "{{steps.plan.output.id}}",
      "{{trigger.data.shop id}}",
      "{{trigger.data.lines[0].sku}}",
      "{{trigger.data.shop_id}}-{{now}}",
    ]) {
      expect(keyIssue(key), key).toBe(worker.keyIssue(key));
    }
    expect(keyIssue("{{trigger.data.shop_id}}")).toBeUndefined();
    expect(keyIssue("shop")).toMatch(/must use the trigger's data/);
  });
});

describe("the controls the builder saves", () => {
  it("drops emptied fields and groups, and no controls at all when nothing is set", () => {
    expect(pruneControls(undefined)).toBeUndefined();
    expect(pruneControls({})).toBeUndefined();
    expect(pruneControls({ key: "  ", throttle: {} as never, caps: { per_day: {} } })).toBeUndefined();
    expect(pruneControls({ concurrency: 1, caps: { per_day: {} } })).toEqual({ concurrency: 1 });
    expect(pruneControls({ caps: { per_day: { emails: 0 } } })).toEqual({ caps: { per_day: { emails: 0 } } });
  });

  it("keeps half a throttle, names the missing number, and leaves it out of the phrases", () => {
    const half = { throttle: { limit: 10 } } as ControlsInput;
    expect(pruneControls(half)).toEqual({ throttle: { limit: 10 } });
    expect(throttleIssue(half)).toBe("Give the minutes too, or clear the number of starts.");
    expect(throttleIssue({ throttle: { period_minutes: 60 } } as ControlsInput)).toBe("Give the number of starts too, or clear the minutes.");
    expect(throttleIssue({ throttle: { limit: 1, period_minutes: 60 } })).toBeUndefined();
    expect(describeControls({ ...half, concurrency: 2 })).toEqual(["at most 2 runs at a time"]);
  });

});

describe("why a run waits", () => {
  const controls = { key: "{{trigger.data.shop_id}}", concurrency: 1, throttle: { limit: 10, period_minutes: 60 }, debounce_minutes: 10 };

  it("badges the reason, with the key's value for a concurrency slot", () => {
    expect(waitingBadge("concurrency", runKey(controls, "s1"))).toBe("waiting: concurrency slot (shop s1)");
    expect(waitingBadge("concurrency")).toBe("waiting: concurrency slot");
    expect(waitingBadge("throttle", runKey(controls, "s1"))).toBe("waiting: throttle — next period");
    expect(waitingBadge("debounce")).toBe("waiting: debounce — quiet window");
  });

  it("has no key without a key template or without a value", () => {
    expect(runKey({ concurrency: 1 }, "")).toBeNull();
    expect(runKey(controls, null)).toBeNull();
    expect(runKey(undefined, "s1")).toBeNull();
  });

  it("explains it in a sentence on the run page", () => {
    expect(waitingSentence("concurrency", controls, "s1")).toBe(
      "This run waits for a free slot: at most 1 run of this workflow may run at a time per shop, and one is running for shop s1 now. It starts as soon as one ends, first in, first out.",
    );
    expect(waitingSentence("throttle", controls, "s1")).toBe(
      "This run waits for the next period: the workflow allows at most 10 starts every hour per shop, and this period's starts for shop s1 are used up. It starts in the next period; nothing is dropped.",
    );
    expect(waitingSentence("debounce", controls, "s1")).toMatch(/^This run waits for 10 minutes without a new event for shop s1\./);
    // A run whose version lost its controls still gets a sentence.
    expect(waitingSentence("concurrency", undefined, null)).toBe(
      "This run waits for a free slot: only a few runs of this workflow may run at a time, and that many are running now. It starts as soon as one ends, first in, first out.",
    );
  });
});

describe("the caps and the days", () => {
  const caps = {
    day: "2025-06-01",
    used: { emails: 3, pushes: 0, units: 40, discount_codes: 0, webhook_calls: 7 },
    limits: { emails: 3, pushes: 2000, units: null, discount_codes: null, webhook_calls: null },
  };

  it("lists the capped kinds first, then the used ones without a cap, and marks a cap used up", () => {
    const rows = capRows(caps);
    expect(rows.map((r) => [r.kind, capText(r), r.full])).toEqual([
      ["emails", "3 / 3", true],
      ["pushes", "0 / 2000", false],
      ["units", "40", false],
      ["webhook_calls", "7", false],
    ]);
    expect(rows[0]!.share).toBe(1);
    expect(rows[2]!.share).toBeNull();
  });

  it("offers every cap kind the worker has", () => {
    expect([...CAP_KINDS]).toEqual([...worker.CAP_KINDS]);
  });

  it("adds the days up", () => {
    expect(statsTotals([{ day: "2025-06-01", started: 2, suppressed: 5, delayed: 1, waiting: 3 }, { day: "2025-05-31", started: 1, suppressed: 0, delayed: 2, waiting: 0 }])).toEqual({ started: 3, suppressed: 5, delayed: 3 });
  });

  it("says 'past 1 webhook call a day', not 'calls'", () => {
    expect(describeControls({ caps: { per_day: { webhook_calls: 1, units: 1 } } })).toEqual(["pause the workflow past 1 unit added to plans a day", "pause the workflow past 1 webhook call a day"]);
  });

  it("ends the engine's reason with a full stop, once", () => {
    expect(asSentence("Daily cap reached: at most 1 webhook call a day")).toBe("Daily cap reached: at most 1 webhook call a day.");
    expect(asSentence("Stopped. ")).toBe("Stopped.");
  });

  it("labels a workflow paused at a cap", () => {
    expect(pausedLabel("The daily cap of 3 emails was reached")).toBe("paused: daily cap");
    expect(pausedLabel("Something else")).toBe("paused by the engine");
  });
});
