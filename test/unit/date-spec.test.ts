import { describe, expect, it } from "vitest";
import { DateSpecSchema } from "../../worker/definition/common";
import { addDays, DateSpecError, parseCalendarDate, resolveDateSpec, utcDate } from "../../worker/definition/date-spec";
import type { Scope } from "../../worker/definition/interpolate";

const scope = (steps: Record<string, unknown> = {}, data: unknown = {}): Scope => ({
  trigger: { id: "evt_1", type: "inventory_item.updated", entity: "inventory_item", entity_id: "inv_1", occurred_at: "2026-11-22T23:30:00-05:00", data, previous: null },
  steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, { output: v }])),
  workflow: { id: "wf_1", name: "W", version: 1 },
  run: { id: "run_1" },
  now: "2026-11-22T10:00:00.000Z",
  today: "2026-11-22",
});
const NOW = new Date("2026-11-22T10:00:00Z");
const resolve = (spec: unknown, s = scope(), now = NOW) => resolveDateSpec(DateSpecSchema.parse(spec), s, now);

describe("addDays", () => {
  it.each([
    ["2026-01-31", 1, "2026-02-01"],
    ["2026-01-31", 28, "2026-02-28"],
    ["2026-02-28", 1, "2026-03-01"],
    ["2024-02-28", 1, "2024-02-29"],
    ["2024-02-29", 1, "2024-03-01"],
    ["2024-02-29", 365, "2025-02-28"],
    ["2026-03-01", -1, "2026-02-28"],
    ["2024-03-01", -1, "2024-02-29"],
    ["2026-01-01", -1, "2025-12-31"],
    ["2026-12-31", 1, "2027-01-01"],
    ["2000-02-28", 1, "2000-02-29"],
    ["1900-02-28", 1, "1900-03-01"],
    ["2026-11-22", 0, "2026-11-22"],
    ["2026-03-29", 1, "2026-03-30"],
    ["0099-12-31", 1, "0100-01-01"],
  ])("%s %+d days is %s", (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
  });

  it("refuses what is not a calendar date", () => {
    for (const bad of ["2026-02-29", "2026-02-30", "2026-04-31", "2026-13-01", "2026-00-10", "2026-1-1", "yesterday", ""]) {
      expect(() => addDays(bad, 1), bad).toThrow(DateSpecError);
    }
    expect(() => addDays("2026-01-01", 1.5)).toThrow("not a whole number");
  });

  it("refuses to leave the years 0000 to 9999", () => {
    expect(addDays("9999-12-30", 1)).toBe("9999-12-31");
    expect(() => addDays("9999-12-31", 1)).toThrow("outside the years");
    expect(() => addDays("0000-01-01", -1)).toThrow("outside the years");
  });
});

describe("parseCalendarDate", () => {
  it("takes a timestamp as the UTC day it falls on", () => {
    expect(utcDate(new Date(parseCalendarDate("2026-11-22T23:30:00-05:00")!))).toBe("2026-11-23");
    expect(utcDate(new Date(parseCalendarDate("2026-11-23T00:30:00+02:00")!))).toBe("2026-11-22");
    expect(utcDate(new Date(parseCalendarDate("2026-11-22T10:00:00.123Z")!))).toBe("2026-11-22");
    // No offset: UTC is meant.
    expect(utcDate(new Date(parseCalendarDate("2026-11-22T23:59:59")!))).toBe("2026-11-22");
  });

  it("refuses timestamps that Date.parse would roll over", () => {
    for (const bad of ["2026-02-30T10:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:61:00Z", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00+25:00"]) {
      expect(parseCalendarDate(bad), bad).toBeUndefined();
    }
  });
});

describe("resolveDateSpec", () => {
  it("keeps an absolute date", () => {
    expect(resolve({ type: "absolute", date: "2024-02-29" })).toBe("2024-02-29");
  });

  it("counts a relative date from today (UTC), forwards and backwards", () => {
    expect(resolve({ type: "relative", days: 14 })).toBe("2026-12-06");
    expect(resolve({ type: "relative", days: -22 })).toBe("2026-10-31");
    expect(resolve({ type: "relative", days: 0 }, scope(), new Date("2026-11-22T23:59:59.999Z"))).toBe("2026-11-22");
    expect(resolve({ type: "relative", days: 7 }, scope(), new Date("2028-02-25T00:00:00Z"))).toBe("2028-03-03");
  });

  it("resolves an interpolated date with an offset, negative or not", () => {
    const s = scope({ plan: { deadline: "2026-12-01" } });
    expect(resolve({ type: "interpolated", value: "{{steps.plan.output.deadline}}", offset_days: -3 }, s)).toBe("2026-11-28");
    expect(resolve({ type: "interpolated", value: "{{steps.plan.output.deadline}}" }, s)).toBe("2026-12-01");
    expect(resolve({ type: "interpolated", value: "{{steps.plan.output.deadline}}", offset_days: 31 }, s)).toBe("2027-01-01");
    // The trigger's time is 2026-11-23 in UTC.
    expect(resolve({ type: "interpolated", value: "{{trigger.occurred_at}}", offset_days: 1 })).toBe("2026-11-24");
    expect(resolve({ type: "interpolated", value: "2026-{{trigger.data.month}}-31", offset_days: 1 }, scope({}, { month: "03" }))).toBe("2026-04-01");
    expect(resolve({ type: "interpolated", value: " {{today}} " })).toBe("2026-11-22");
  });

  it("fails with a DateSpecError when the value is missing or not a date", () => {
    expect(() => resolve({ type: "interpolated", value: "{{steps.plan.output.deadline}}" })).toThrow(DateSpecError);
    expect(() => resolve({ type: "interpolated", value: "{{steps.plan.output.deadline}}" }, scope({ plan: { deadline: 42 } }))).toThrow(
      "gave 42, which is not a date",
    );
    expect(() => resolve({ type: "interpolated", value: "{{trigger.data.d}}" }, scope({}, { d: "2026-02-30" }))).toThrow(DateSpecError);
    expect(() => resolve({ type: "interpolated", value: "{{trigger.data.d}}" }, scope({}, { d: null }))).toThrow("gave null");
    expect(() => resolve({ type: "relative", days: 1 }, scope(), new Date("nope"))).toThrow("Not a valid time");
  });

  it("is refused by the schema when it cannot be a DateSpec", () => {
    for (const bad of [
      { type: "absolute", date: "2026-02-30" },
      { type: "absolute", date: "01/12/2026" },
      { type: "relative", days: 1.5 },
      { type: "relative", days: 4000 },
      { type: "interpolated", value: "" },
      { type: "weekly" },
      { type: "relative", days: 1, extra: true },
    ]) {
      expect(DateSpecSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
