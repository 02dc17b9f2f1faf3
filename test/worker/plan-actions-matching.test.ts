/** add_items_to_plan: the matching strategies of rebalance plans. */
import { describe, expect, it } from "vitest";
import { countersOf, itemsStep, linesOf, mirror, newPlan, outputOf, world } from "../support/plan-fixtures";

describe("add_items_to_plan rebalance matching", () => {
  it("score: surplus to deficit per variant, highest-scored deficit first", async () => {
    const w = await world();
    const plan = await newPlan("rebalance");
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, matching: { strategy: "score" } }));
    // V1a: S1 lacks 6−1 = 5; W has 20−10 = 10 over, S2 8−3 = 5 over: the larger surplus (W) gives 5.
    // V1b: S1 lacks 4, S2 lacks 1, W is at target: nobody has surplus.
    expect(out).toMatchObject({ candidates: 6, added: 1, skipped: 4, total_quantity: 5 });
    const [line] = await linesOf(plan);
    expect(line).toMatchObject({ from_shop_id: w.id("W"), to_shop_id: w.id("S1"), shop_id: w.id("S1"), variant_id: w.id("V1a"), inventory_item_id: w.id("V1a_S1"), quantity: 5, score: 0.9, strategy: "matching:score" });
  });

  it("score: a re-run after stock moved replaces transfers the new matching no longer makes", async () => {
    const w = await world();
    const plan = await newPlan("rebalance");
    const cfg = { plan, filter: { entity: "product_variant", ids: [w.id("V1a")] }, matching: { strategy: "score" } };
    await itemsStep(cfg);
    // S2 now has 20 − 3 = 17 over, more than W's 10: it gives the 5.
    await mirror("inventory_item", [{ ...w.items.V1a_S2!, on_hand: 20 }]);
    const out = outputOf(await itemsStep(cfg));
    expect(out).toMatchObject({ added: 1, updated: 0, removed: 1, total_quantity: 5 });
    const lines = await linesOf(plan);
    expect(lines.map((l) => `${w.short(l.from_shop_id)}→${w.short(l.to_shop_id)} ${l.quantity}`)).toEqual(["S2→S1 5"]);
    expect(await countersOf(plan)).toEqual({ item_count: 1, total_quantity: 5, lines: 1, quantity: 5 });
  });

  it("score: the size scope narrows the receiving shops only", async () => {
    const w = await world();
    const plan = await newPlan("rebalance");
    // on_hand < 2: V1a_S1 (1) may receive, and W (20) still gives.
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product_variant", ids: [w.id("V1a")] }, sizes: { mode: "below_threshold", threshold: 2 }, matching: { strategy: "score" } }));
    expect(out).toMatchObject({ added: 1, total_quantity: 5 });
    const none = await newPlan("rebalance");
    // on_hand < 1: V1a_S1 has 1, so nobody may receive.
    expect(outputOf(await itemsStep({ plan: none, filter: { entity: "product_variant", ids: [w.id("V1a")] }, sizes: { mode: "below_threshold", threshold: 1 }, matching: { strategy: "score" } }))).toMatchObject({ added: 0 });
  });

  it("fixed: from_shop to to_shop, the quantity from the quantity strategy", async () => {
    const w = await world();
    const plan = await newPlan("rebalance");
    const out = outputOf(
      await itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, quantity: { strategy: "fill_to_target" }, matching: { strategy: "fixed", from_shop: w.id("W"), to_shop: w.id("S1") } }),
    );
    // S1's items of P1: V1a_S1 6 − 1 = 5, V1b_S1 4 − 0 = 4.
    expect(out).toMatchObject({ candidates: 2, added: 2, total_quantity: 9 });
    const lines = await linesOf(plan);
    expect(lines.map((l) => `${w.short(l.variant_id)} ${w.short(l.from_shop_id)}→${w.short(l.to_shop_id)} ${l.quantity} ${l.strategy}`)).toEqual([
      "V1a W→S1 5 matching:fixed",
      "V1b W→S1 4 matching:fixed",
    ]);
    const again = outputOf(
      await itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, quantity: { strategy: "fill_to_target" }, matching: { strategy: "fixed", from_shop: w.id("W"), to_shop: w.id("S1") } }),
    );
    expect(again).toMatchObject({ added: 0, updated: 2, unchanged: 2 });
  });
});
