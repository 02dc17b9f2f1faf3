/** add_items_to_plan: the waitlist strategy sizes a restock plan by who is waiting (SPEC §12). */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { addItems, DEFAULT_LIMITS } from "../../worker/planning/add-items";
import { api, json } from "../support/api";
import { ctxOf, itemsStep, lineSummary, linesOf, mirror, NOW, outputOf, restockPlan, scopeOf, world, type World } from "../support/plan-fixtures";

let n = 0;
/** Subscriptions of `variant` (a short name of the world), in `shop` (short name) or in any shop. */
async function waiting(w: World, variant: string, shop: string | null, count: number, status = "pending") {
  const rows = Array.from({ length: count }, () => {
    n += 1;
    return {
      id: w.id(`sub_${n}`),
      customer_id: w.id(`cust_${n}`),
      variant_id: w.id(variant),
      ...(shop === null ? {} : { shop_id: w.id(shop) }),
      status,
      channel: "email",
      created_at: new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString(),
    };
  });
  await mirror("subscription", rows);
}

describe("add_items_to_plan waitlist strategy", () => {
  it("orders for every pending subscription in the shop and in any shop, minus what is on order", async () => {
    const w = await world();
    await waiting(w, "V1b", "S1", 3);
    await waiting(w, "V1b", null, 2);
    await waiting(w, "V1b", "S2", 4);
    // Not waiting any more: notified, or cancelled.
    await waiting(w, "V1b", "S1", 5, "delivered");
    await waiting(w, "V1b", null, 1, "cancelled");
    const plan = await restockPlan();
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product_variant", ids: [w.id("V1b")] }, quantity: { strategy: "waitlist" } }));
    // S1: 3 + 2 = 5; S2: 4 + 2 − 1 on order = 5; W: 0 + 2 = 2.
    expect(lineSummary(w, await linesOf(plan))).toEqual(["V1b_S1 5", "V1b_S2 5", "V1b_W 2"]);
    expect(out).toMatchObject({ candidates: 3, added: 3, skipped: 0, total_quantity: 12 });
    expect((await linesOf(plan)).every((l) => l.strategy === "quantity:waitlist")).toBe(true);
  });

  it("multiplies by the factor, rounds up and skips items nobody waits for", async () => {
    const w = await world();
    await waiting(w, "V1a", "S2", 3);
    const plan = await restockPlan();
    const out = outputOf(await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "waitlist", factor: 0.5 } }));
    // Only V1a_S2 has anyone waiting: ceil(3 × 0.5) = 2; the other 7 items of brand B1 are skipped.
    expect(lineSummary(w, await linesOf(plan))).toEqual(["V1a_S2 2"]);
    expect(out).toMatchObject({ candidates: 8, added: 1, skipped: 7, total_quantity: 2 });
  });

  it("counts the same waitlist across pages and checkpoints", async () => {
    const w = await world();
    await waiting(w, "V1a", null, 2);
    await waiting(w, "V2a", "S2", 1);
    await waiting(w, "V3a", "S1", 6);
    const plan = await restockPlan();
    // One variant per page, one page per invocation.
    const run = await itemsStep(
      { plan, filter: { entity: "brand", ids: [w.id("B1"), w.id("B2")] }, quantity: { strategy: "waitlist" } },
      { limits: { pageSize: 3, maxUnits: 1, maxPages: 1 } },
    );
    expect(run.invocations).toBeGreaterThan(1);
    expect(lineSummary(w, await linesOf(plan))).toEqual(["V1a_S1 2", "V1a_S2 2", "V1a_W 2", "V2a_S2 1", "V3a_S1 6"]);
  });

  it("refuses a factor that is not positive", () => {
    const parsed = addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "brand", ids: ["b"] }, quantity: { strategy: "waitlist", factor: 0 } });
    expect(parsed.success).toBe(false);
  });
});

describe("plan lines of test runs", () => {
  it("marks the lines a test run writes as test data, in D1 and in the API", async () => {
    const w = await world();
    const plan = await restockPlan();
    const cfg = addItemsToPlan.configSchema.parse({ plan, filter: { entity: "product_variant", ids: [w.id("V1b")] }, quantity: { strategy: "fixed", quantity: 1 } });
    const c = { ...ctxOf(), test: true };
    const input = addItemsToPlan.resolve!(cfg, scopeOf(c.trigger), NOW);
    const result = await addItems(input, c, { db: env.DB }, DEFAULT_LIMITS);
    expect(result.ok).toBe(true);
    const rows = await env.DB.prepare("SELECT test FROM plan_items WHERE plan_id = ?").bind(plan).all<{ test: number }>();
    expect(rows.results.map((r) => r.test)).toEqual([1, 1, 1]);
    const detail = await json<{ items: { test: boolean }[] }>(await api(`/api/plans/${plan}`));
    expect(detail.items.map((i) => i.test)).toEqual([true, true, true]);
  });

  it("marks lines of real runs as not test data, and a real run's rewrite of a test line makes it real", async () => {
    const w = await world();
    const plan = await restockPlan();
    const cfg = { plan, filter: { entity: "product_variant", ids: [w.id("V1b")] }, quantity: { strategy: "fixed", quantity: 1 } };
    const parsed = addItemsToPlan.configSchema.parse(cfg);
    const c = { ...ctxOf(), test: true };
    await addItems(addItemsToPlan.resolve!(parsed, scopeOf(c.trigger), NOW), c, { db: env.DB }, DEFAULT_LIMITS);
    outputOf(await itemsStep({ ...cfg, quantity: { strategy: "fixed", quantity: 2 } }));
    const detail = await json<{ items: { test: boolean; quantity: number }[] }>(await api(`/api/plans/${plan}`));
    expect(detail.items.map((i) => [i.quantity, i.test])).toEqual([
      [2, false],
      [2, false],
      [2, false],
    ]);
  });
});
