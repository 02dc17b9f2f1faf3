import { describe, expect, it } from "vitest";
import { compare } from "../../worker/definition/conditions";
import { judge, waitForEvent, WaitForEventConfigSchema } from "../../worker/nodes/wait-for-event";
import { matchKey, valueAt, type AwaitedEvent } from "../../worker/waits/port";
import { testScope } from "../support/action-context";

/*
 * The pure parts of wait_for_event (SPEC §15): the keys the consumer looks waits up by never lose
 * an event `eq` would take, and which events a wait counts.
 */

const VALUES: unknown[] = [0, -0, 5, 5.5, "5", "5.0", " 5", "0x10", 16, "", " ", "abc", "ABC", true, false, "true", null, 1e21, "1e21", [1], { a: 1 }, Number.NaN];

describe("matchKey", () => {
  it("gives two values eq holds for the same key, so keying never loses an event", () => {
    for (const a of VALUES) {
      for (const b of VALUES) {
        if (!compare("eq", a, b)) continue;
        const ka = matchKey(a);
        // A value without a key is never keyed: its waits take every event of the type.
        if (ka === null || matchKey(b) === null) continue;
        expect(ka, `${JSON.stringify(a)} eq ${JSON.stringify(b)}`).toBe(matchKey(b));
      }
    }
  });

  it("keys scalars only", () => {
    expect(matchKey("c_1")).toBe("s:c_1");
    expect(matchKey(42)).toBe("n:42");
    expect(matchKey("42")).toBe("n:42");
    expect(matchKey({ id: 1 })).toBeNull();
    expect(matchKey([1])).toBeNull();
  });

  it("reads a path inside an event, list indexes included", () => {
    const e: AwaitedEvent = { id: "e", type: "order.created", entity: "order", entity_id: "o", occurred_at: "2026-01-01T00:00:00.000Z", data: { lines: [{ variant_id: "v1" }] } };
    expect(valueAt(e, "data.lines.0.variant_id")).toBe("v1");
    expect(valueAt(e, "data.missing.x")).toBeUndefined();
    expect(valueAt(e, "entity_id")).toBe("o");
  });
});

describe("which events a wait counts", () => {
  const config = WaitForEventConfigSchema.parse({
    event: "order.created",
    match: { all: [{ left: "{{event.data.customer_id}}", op: "eq", right: "{{trigger.data.customer_id}}" }, { left: "{{event.data.total}}", op: "gte", right: 50 }] },
    timeout: { hours: 1 },
  });
  const began = new Date("2026-03-01T12:00:00.700Z");
  const input = waitForEvent.resolve!(config, testScope({ customer_id: "c_1" }), began);
  const order = (occurred: string, data: Record<string, unknown>): AwaitedEvent => ({ id: "e1", type: "order.created", entity: "order", entity_id: "o1", occurred_at: occurred, data });

  it("fixes the wait when it begins: from the start of its second, for the timeout, keyed by the customer", () => {
    expect(input).toMatchObject({ since: "2026-03-01T12:00:00.000Z", until: "2026-03-01T13:00:00.700Z", key: { path: "data.customer_id", value: "s:c_1" } });
    expect(input.match?.all?.[0]).toEqual({ left: { event: "{{event.data.customer_id}}" }, op: "eq", right: { value: "c_1" } });
  });

  it("counts an event of the same second, not one of the second before nor one after the timeout", () => {
    expect(judge(input, order("2026-03-01T12:00:00.000Z", { customer_id: "c_1", total: 60 })).ok).toBe(true);
    expect(judge(input, order("2026-03-01T11:59:59.999Z", { customer_id: "c_1", total: 60 })).ok).toBe(false);
    expect(judge(input, order("2026-03-01T13:00:00.701Z", { customer_id: "c_1", total: 60 })).ok).toBe(false);
  });

  it("never counts the event the run started from, even of the same type and second", () => {
    const own = { ...order("2026-03-01T12:00:00.100Z", { customer_id: "c_1", total: 60 }), id: "evt_1" };
    expect(testScope({}).trigger.id).toBe("evt_1");
    expect(judge(input, own)).toEqual({ ok: false, refused: "The event the run started from does not count" });
  });

  it("evaluates the whole match, with the missing-value rule of conditions", () => {
    expect(judge(input, order("2026-03-01T12:30:00.000Z", { customer_id: "c_1", total: 10 }))).toEqual({ ok: false, refused: "The event does not match" });
    expect(judge(input, order("2026-03-01T12:30:00.000Z", { customer_id: "c_2", total: 60 })).ok).toBe(false);
    expect(judge(input, order("2026-03-01T12:30:00.000Z", { total: 60 })).ok).toBe(false);
    expect(judge(input, { ...order("2026-03-01T12:30:00.000Z", { customer_id: "c_1", total: 60 }), type: "order.updated" }).ok).toBe(false);
  });

  it("a run value missing when the wait began matches no event", () => {
    const missing = waitForEvent.resolve!(config, testScope({}), began);
    expect(missing.key).toBeNull();
    expect(missing.match?.all?.[0]?.right).toEqual({ missing: true });
    expect(judge(missing, order("2026-03-01T12:30:00.000Z", { customer_id: "c_1", total: 60 })).ok).toBe(false);
  });
});
