import { describe, expect, it } from "vitest";
import type { Backfill } from "../../worker/contract/backfill";
import { TriggerSchema } from "../../worker/definition/trigger";
import { backfillProgress, pollDelay } from "../../ui/models/backfill";
import { CRON_PRESETS, DEFAULT_SCHEDULE, eachLabel, formatUtc } from "../../ui/models/schedule";

/* The builder's schedule and backfill words (ui/models/schedule.ts, ui/models/backfill.ts). */

const backfill = (over: Partial<Backfill>): Backfill => ({
  id: "bf_1",
  workflow_id: "wf_1",
  version: 2,
  status: "running",
  limit: 100_000,
  examined: 0,
  matched: 0,
  started: 0,
  duplicates: 0,
  errors: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  limit_reached: false,
  created_at: "2026-11-23T06:00:00.000Z",
  finished_at: null,
  reason: null,
  ...over,
});

describe("the builder's schedule", () => {
  it("switches on a schedule, and offers presets, the worker accepts", () => {
    for (const cron of [DEFAULT_SCHEDULE.cron, ...CRON_PRESETS.map((p) => p.cron)]) {
      expect(TriggerSchema.safeParse({ entity: "inventory_item", schedule: { ...DEFAULT_SCHEDULE, cron } }).success).toBe(true);
    }
  });

  it("lists times in UTC, as the schedule runs", () => {
    expect(formatUtc("2026-11-23T06:00:00.000Z")).toBe("Mon 23 Nov 2026, 06:00 UTC");
    expect(formatUtc("2027-01-01T00:05:00.000Z")).toBe("Fri 1 Jan 2027, 00:05 UTC");
    expect(formatUtc("nonsense")).toBe("nonsense");
  });

  it("says what each tick starts", () => {
    expect(eachLabel("entity", "inventory_item")).toBe("One run per inventory item that matches at the tick");
    expect(eachLabel("tick", "inventory_item")).toBe("One run per tick");
  });
});

describe("the builder's backfill bar", () => {
  it("shows no amount before a run started, then fills as started runs end", () => {
    expect(backfillProgress(backfill({}))).toMatchObject({ max: null, percent: null, live: true });
    const walking = backfillProgress(backfill({ examined: 500, matched: 400, started: 400, completed: 100, failed: 0 }));
    expect(walking).toMatchObject({ value: 100, max: 400, percent: 25, live: true });
    expect(walking.label).toContain("500 entities examined, 400 matched; 400 runs started");
    const ending = backfillProgress(backfill({ status: "done", examined: 5500, matched: 5000, started: 5000, completed: 4990, failed: 5 }));
    expect(ending).toMatchObject({ value: 4995, max: 5000, percent: 99, live: true });
    expect(ending.label).toBe("5,000 runs started; 4,990 completed, 5 failed; the others are still going.");
    const over = backfillProgress(backfill({ status: "done", matched: 5000, started: 5000, completed: 4000, failed: 900, cancelled: 100 }));
    expect(over).toMatchObject({ value: 5000, percent: 100, live: false });
  });

  it("says when there was nothing new to start, and stops polling", () => {
    const p = backfillProgress(backfill({ status: "done", examined: 10, matched: 10, duplicates: 10 }));
    expect(p).toMatchObject({ value: 1, max: 1, percent: 100, live: false });
    expect(p.label).toBe("Nothing to start: 10 entities matched, and each had its run already.");
  });

  it("follows a cancelled backfill's runs until they end, and names failures", () => {
    const cancelled = backfillProgress(backfill({ status: "cancelled", reason: "Cancelled", started: 250, completed: 200 }));
    expect(cancelled.live).toBe(true);
    expect(cancelled.label).toMatch(/^Cancelled\. 250 runs started before/);
    const failed = backfillProgress(backfill({ status: "failed", reason: "Reading the mirror failed 8 times in a row", started: 3, completed: 1 }));
    expect(failed.live).toBe(false);
    expect(backfillProgress(backfill({ status: "done", started: 2, completed: 2, errors: 1 })).label).toContain("1 run could not start: backfill again");
  });

  it("polls every 2 s at first, then slower, never slower than every 30 s", () => {
    expect(pollDelay(0)).toBe(2000);
    expect(pollDelay(8)).toBe(2000);
    expect(pollDelay(12)).toBeGreaterThan(2000);
    expect(pollDelay(1000)).toBe(30_000);
  });
});
