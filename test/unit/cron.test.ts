import { describe, expect, it } from "vitest";
import { TriggerSchema } from "../../worker/definition/trigger";
import { cronMatches, cronProblem, nextTimes, parseCron } from "../../worker/lib/cron";

/** The next `n` times after `iso`, as ISO strings. */
const next = (expr: string, iso: string, n = 5) => nextTimes(parseCron(expr), new Date(iso), n).map((d) => d.toISOString());

describe("cron expressions (five fields, UTC)", () => {
  it("runs `0 6 * * 1` on Mondays at 06:00 UTC", () => {
    // 2026-11-23 is a Monday.
    expect(next("0 6 * * 1", "2026-11-22T12:00:00Z", 3)).toEqual(["2026-11-23T06:00:00.000Z", "2026-11-30T06:00:00.000Z", "2026-12-07T06:00:00.000Z"]);
  });

  it("gives times strictly after the moment asked, at whole minutes", () => {
    expect(next("* * * * *", "2026-11-22T12:00:00Z", 2)).toEqual(["2026-11-22T12:01:00.000Z", "2026-11-22T12:02:00.000Z"]);
    expect(next("* * * * *", "2026-11-22T12:00:30.500Z", 1)).toEqual(["2026-11-22T12:01:00.000Z"]);
  });

  it("reads ranges, steps, lists and names", () => {
    expect(next("*/15 9-10 * * *", "2026-11-22T09:20:00Z")).toEqual([
      "2026-11-22T09:30:00.000Z",
      "2026-11-22T09:45:00.000Z",
      "2026-11-22T10:00:00.000Z",
      "2026-11-22T10:15:00.000Z",
      "2026-11-22T10:30:00.000Z",
    ]);
    expect(next("0 0 1 jan,JUL *", "2026-02-01T00:00:00Z", 2)).toEqual(["2026-07-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    expect(next("30 8 * * MON-FRI/2", "2026-11-22T00:00:00Z", 3)).toEqual(["2026-11-23T08:30:00.000Z", "2026-11-25T08:30:00.000Z", "2026-11-27T08:30:00.000Z"]);
    expect(next("5/20 0 1 1 *", "2026-06-01T00:00:00Z", 3)).toEqual(["2027-01-01T00:05:00.000Z", "2027-01-01T00:25:00.000Z", "2027-01-01T00:45:00.000Z"]);
    expect(next("@daily", "2026-11-22T12:00:00Z", 1)).toEqual(["2026-11-23T00:00:00.000Z"]);
  });

  it("takes 0 and 7 as Sunday", () => {
    expect(next("0 12 * * 7", "2026-11-22T13:00:00Z", 1)).toEqual(next("0 12 * * 0", "2026-11-22T13:00:00Z", 1));
    expect(next("0 12 * * 0", "2026-11-22T13:00:00Z", 1)).toEqual(["2026-11-29T12:00:00.000Z"]);
  });

  it("runs on either day when both day fields are restricted, as crontab does", () => {
    // The 1st of December 2026 is a Tuesday; Mondays are the 7th, 14th…
    expect(next("0 0 1 * MON", "2026-11-30T12:00:00Z", 3)).toEqual(["2026-12-01T00:00:00.000Z", "2026-12-07T00:00:00.000Z", "2026-12-14T00:00:00.000Z"]);
    // With one day field `*`, the other alone decides.
    expect(next("0 0 */10 * *", "2026-11-30T12:00:00Z", 2)).toEqual(["2026-12-01T00:00:00.000Z", "2026-12-11T00:00:00.000Z"]);
  });

  it("lets a day field that starts with `*` leave the other to decide, as crontab does (croner alone would take either)", () => {
    // `*/10` days: 1, 11, 21, 31; of those, Mondays only: 21 December 2026, 11 January, 1 February 2027.
    expect(next("0 0 */10 * MON", "2026-11-30T12:00:00Z", 3)).toEqual(["2026-12-21T00:00:00.000Z", "2027-01-11T00:00:00.000Z", "2027-02-01T00:00:00.000Z"]);
    const cron = parseCron("0 0 */10 * MON");
    expect(cronMatches(cron, new Date("2026-12-07T00:00:00Z"))).toBe(false); // a Monday, not a tenth day
    expect(cronMatches(cron, new Date("2026-12-11T00:00:00Z"))).toBe(false); // a tenth day, a Friday
  });

  it("finds 29 February years ahead, quickly", () => {
    const started = performance.now();
    expect(next("0 0 29 2 *", "2026-03-01T00:00:00Z", 2)).toEqual(["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("says whether a minute is one it runs at", () => {
    const cron = parseCron("17 3 * * *");
    expect(cronMatches(cron, new Date("2026-11-22T03:17:42Z"))).toBe(true);
    expect(cronMatches(cron, new Date("2026-11-22T03:18:00Z"))).toBe(false);
    expect(cronMatches(cron, new Date("2026-11-22T04:17:00Z"))).toBe(false);
  });

  it("refuses what is not a five-field schedule, saying why", () => {
    expect(cronProblem("61 * * * *")).toBe("minute: 61 is out of range 0-59");
    expect(cronProblem("0 6 * * * *")).toMatch(/five fields.*no seconds field.*at most once a minute/);
    expect(cronProblem("0 6 * *")).toMatch(/five fields.*this has 4/);
    expect(cronProblem("")).toMatch(/five fields/);
    expect(cronProblem("0 24 * * *")).toBe("hour: 24 is out of range 0-23");
    expect(cronProblem("0 0 0 * *")).toBe("day of month: 0 is out of range 1-31");
    expect(cronProblem("0 0 * 13 *")).toBe("month: 13 is out of range 1-12");
    expect(cronProblem("0 0 * * 8")).toBe("day of week: 8 is out of range 0-7");
    expect(cronProblem("5-1 * * * *")).toMatch(/backwards/);
    expect(cronProblem("*/0 * * * *")).toMatch(/step/);
    expect(cronProblem("0 0 L * *")).toMatch(/not supported/);
    expect(cronProblem("0 0 ? * MON")).toMatch(/not supported/);
    expect(cronProblem("0 0 * * MON#2")).toMatch(/not supported|not a number/);
    expect(cronProblem("0 0 * * FUN")).toMatch(/not a number or a name/);
    expect(cronProblem("1,,2 * * * *")).toMatch(/empty item/);
    expect(cronProblem("@reboot")).toMatch(/Unknown shorthand/);
    expect(cronProblem("0 0 30 2 *")).toMatch(/never runs/);
    expect(cronProblem("0 6 * * 1")).toBeUndefined();
  });

  it("refuses what croner reads but a five-field crontab does not, naming the field", () => {
    for (const [expr, field] of [
      ["0 0 15W * *", "day of month"],
      ["0 0 LW * *", "day of month"],
      ["0 0 ? * *", "day of month"],
      ["0 0 * * 5L", "day of week"],
      ["0 0 * * 5#L", "day of week"],
      ["0 0 * * +MON", "day of week"],
    ]) {
      expect(cronProblem(expr!)).toBe(`${field}: "${expr!.split(" ")[field === "day of month" ? 2 : 4]}" is not supported (no ?, L, W, # or +): use numbers, ranges, steps and lists`);
    }
    expect(cronProblem("0 0 0 * * * *")).toMatch(/five fields.*this has 7/);
    expect(cronProblem("001 * * * *")).toBe('minute: "001" is not a number');
    expect(cronProblem("0 0 * * MON-SUN")).toMatch(/backwards/);
    // A step longer than the field would name one value only: refused rather than read as `0`.
    expect(cronProblem("*/90 * * * *")).toBe('minute: the step of "*/90" must be a whole number from 1 to 60');
    expect(cronProblem("0 0 * * */7")).toBeUndefined();
    expect(cronProblem("0 0 31 4,6,9,11 *")).toMatch(/never runs/);
  });
});

describe("trigger.schedule in a definition", () => {
  const base = { entity: "inventory_item" };

  it("takes a cron, with one run per matching entity by default", () => {
    const t = TriggerSchema.parse({ ...base, schedule: { cron: " 0 6 * * 1 " } });
    expect(t.schedule).toEqual({ cron: "0 6 * * 1", each: "entity" });
    // Definitions without a schedule read as before.
    expect(TriggerSchema.parse(base).schedule).toBeUndefined();
  });

  it("names the problem of a bad cron at trigger.schedule.cron", () => {
    const r = TriggerSchema.safeParse({ ...base, schedule: { cron: "61 * * * *" } });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ["schedule", "cron"], message: "minute: 61 is out of range 0-59" })]);
    expect(TriggerSchema.safeParse({ ...base, schedule: { cron: "0 0 6 * * 1" } }).success).toBe(false);
    expect(TriggerSchema.safeParse({ ...base, schedule: { cron: "0 6 * * 1", every: "minute" } }).success).toBe(false);
  });

  it('refuses tags and conditions on a schedule that runs once per tick ("each": "tick")', () => {
    expect(TriggerSchema.safeParse({ ...base, schedule: { cron: "0 6 * * 1", each: "tick" } }).success).toBe(true);
    const tagged = TriggerSchema.safeParse({ ...base, tags: { include: ["sneakers"] }, schedule: { cron: "0 6 * * 1", each: "tick" } });
    expect(tagged.error!.issues.map((i) => i.path)).toEqual([["tags"]]);
    const conditioned = TriggerSchema.safeParse({
      ...base,
      conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] },
      schedule: { cron: "0 6 * * 1", each: "tick" },
    });
    expect(conditioned.error!.issues.map((i) => i.path)).toEqual([["conditions"]]);
  });

  it("refuses a schedule on a back-in-stock trigger", () => {
    const r = TriggerSchema.safeParse({ entity: "subscription", events: ["back_in_stock"], restock: {}, schedule: { cron: "0 6 * * 1" } });
    expect(r.error!.issues.map((i) => i.path)).toEqual([["schedule"]]);
  });
});
