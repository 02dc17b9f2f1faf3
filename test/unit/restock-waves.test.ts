import { describe, expect, it } from "vitest";
import { indexEntity, indexTags, RESTOCK_INDEX_ENTITY, TriggerSchema } from "../../worker/definition/trigger";
import { backInStockEventId, crosses, episodeId, findCrossings, nextPageSize, waveSize, type StockChange } from "../../worker/restock/waves";

/* The pure parts of back-in-stock restocks (SPEC §12): the trigger, crossings, wave sizes, ids. */

const sums = (entries: [string, string, number][]) => {
  const out = new Map<string, Map<string, number>>();
  for (const [v, s, n] of entries) out.set(v, (out.get(v) ?? new Map()).set(s, n));
  return out;
};
const change = (over: Partial<StockChange>): StockChange => ({ event_id: "e1", variant_id: "v", shop_id: "s1", before: 0, after: 0, ...over });

describe("the back-in-stock trigger", () => {
  const bis = { entity: "subscription", events: ["back_in_stock"] };

  it("takes min_stock, per_unit and wave_minutes, with defaults", () => {
    expect(TriggerSchema.parse({ ...bis, restock: {} }).restock).toEqual({ min_stock: 1, wave_minutes: 60 });
    expect(TriggerSchema.parse({ ...bis, restock: { min_stock: 3, per_unit: 2, wave_minutes: 15 } }).restock).toEqual({ min_stock: 3, per_unit: 2, wave_minutes: 15 });
  });

  it.each([
    [{ min_stock: 0 }, "restock.min_stock"],
    [{ min_stock: 1.5 }, "restock.min_stock"],
    [{ per_unit: 0 }, "restock.per_unit"],
    [{ per_unit: -1 }, "restock.per_unit"],
    [{ wave_minutes: 0 }, "restock.wave_minutes"],
    [{ waves: 3 }, "restock"],
  ])("refuses restock %j", (restock, path) => {
    const r = TriggerSchema.safeParse({ ...bis, restock });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toContain(path);
  });

  it("accepts back_in_stock only alone, on subscriptions, with restock settings", () => {
    const paths = (t: unknown) => TriggerSchema.safeParse(t).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(paths({ entity: "inventory_item", events: ["back_in_stock"], restock: {} })).toEqual(["events: back_in_stock is an event of subscription triggers only"]);
    expect(paths({ ...bis, events: ["back_in_stock", "created"], restock: {} })?.[0]).toMatch(/^events: back_in_stock cannot be combined/);
    expect(paths(bis)?.[0]).toMatch(/^restock: A back_in_stock trigger needs/);
    expect(paths({ entity: "subscription", events: ["created"], restock: {} })?.[0]).toMatch(/^restock: restock applies only/);
  });

  it("is indexed apart from subscription events, under every tag", () => {
    const t = TriggerSchema.parse({ ...bis, tags: { include: ["vip"] }, restock: {} });
    expect(indexEntity(t)).toBe(RESTOCK_INDEX_ENTITY);
    expect(indexTags(t)).toEqual(["*"]);
    const created = TriggerSchema.parse({ entity: "subscription", events: ["created"], tags: { include: ["vip"] } });
    expect([indexEntity(created), indexTags(created)]).toEqual(["subscription", ["vip"]]);
  });
});

describe("crossings", () => {
  it("crosses only from below min_stock to at least it", () => {
    expect(crosses(0, 1, 1)).toBe(true);
    expect(crosses(0, 0, 1)).toBe(false);
    expect(crosses(1, 5, 1)).toBe(false);
    expect(crosses(4, 2, 1)).toBe(false);
    expect(crosses(1, 3, 3)).toBe(true);
  });

  it("finds the shop's and the variant's crossing of one change", () => {
    // s1 went 0 → 10 and s2 holds 0: both the shop and the variant over all shops crossed.
    const found = findCrossings([change({ before: 0, after: 10 })], sums([["v", "s1", 10], ["v", "s2", 0]]), 1);
    expect(found).toEqual([
      { event_id: "e1", variant_id: "v", shop_id: "s1", available: 10 },
      { event_id: "e1", variant_id: "v", shop_id: null, available: 10 },
    ]);
  });

  it("finds no variant crossing when another shop had stock already", () => {
    const found = findCrossings([change({ before: 0, after: 4 })], sums([["v", "s1", 4], ["v", "s2", 3]]), 1);
    expect(found).toEqual([{ event_id: "e1", variant_id: "v", shop_id: "s1", available: 4 }]);
  });

  it("finds nothing for 0 → 0 or a rise that stays below min_stock", () => {
    expect(findCrossings([change({ before: 0, after: 0 })], sums([["v", "s1", 0]]), 1)).toEqual([]);
    expect(findCrossings([change({ before: 1, after: 4 })], sums([["v", "s1", 4]]), 5)).toEqual([]);
  });

  it("replays a batch's changes in order: the change that crossed is the one named", () => {
    const changes = [change({ event_id: "a", before: 0, after: 1 }), change({ event_id: "b", before: 1, after: 3 })];
    expect(findCrossings(changes, sums([["v", "s1", 3]]), 2)).toEqual([
      { event_id: "b", variant_id: "v", shop_id: "s1", available: 3 },
      { event_id: "b", variant_id: "v", shop_id: null, available: 3 },
    ]);
  });
});

describe("waves", () => {
  it("sizes a wave at ceil(available × per_unit), unbounded without per_unit", () => {
    expect(waveSize(10, { per_unit: 2 })).toBe(20);
    expect(waveSize(3, { per_unit: 0.5 })).toBe(2);
    expect(waveSize(10, { per_unit: 0.3 })).toBe(3);
    expect(waveSize(1, { per_unit: 0.01 })).toBe(1);
    expect(waveSize(10, {})).toBeNull();
  });

  it("reads what the wave still needs, within page and budget", () => {
    expect(nextPageSize({ quota: 20, notified: 0, page: 200, budget: 400 })).toBe(20);
    expect(nextPageSize({ quota: 20, notified: 20, page: 200, budget: 400 })).toBe(0);
    expect(nextPageSize({ quota: null, notified: 5000, page: 200, budget: 400 })).toBe(200);
    expect(nextPageSize({ quota: null, notified: 0, page: 200, budget: 50 })).toBe(50);
  });

  it("names episodes and events deterministically", async () => {
    const c = { event_id: "evt_1", variant_id: "v", shop_id: null };
    expect(await episodeId("wf", c)).toBe(await episodeId("wf", c));
    expect(await episodeId("wf", c)).not.toBe(await episodeId("wf", { ...c, shop_id: "s1" }));
    expect(await episodeId("wf", c)).not.toBe(await episodeId("wf2", c));
    expect(await episodeId("wf", c)).toMatch(/^rst_[0-9a-f]{24}$/);
    expect(backInStockEventId("rst_1", "sub_1")).toBe("rst_1:sub_1");
  });
});
