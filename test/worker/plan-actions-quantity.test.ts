/** add_items_to_plan: the quantity strategies of restock plans. */
import { describe, expect, it } from "vitest";
import { itemsStep, lineSummary, linesOf, outputOf, restockPlan, world } from "../support/plan-fixtures";

describe("add_items_to_plan quantity strategies", () => {
  it("fill_to_target: max(0, target − on_hand − on_order), zero skipped", async () => {
    const w = await world();
    const plan = await restockPlan();
    const out = outputOf(await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fill_to_target" } }));
    // V1a_S1 6−1=5, V1b_S1 4−0=4, V1b_S2 4−2−1=1, V2a_S2 2−0=2; the other four are at or over target.
    expect(out).toMatchObject({ candidates: 8, added: 4, skipped: 4, total_quantity: 12 });
    const lines = await linesOf(plan);
    expect(lineSummary(w, lines)).toEqual(["V1a_S1 5", "V1b_S1 4", "V1b_S2 1", "V2a_S2 2"]);
    expect(lines.every((l) => l.strategy === "quantity:fill_to_target" && l.score === null && l.from_shop_id === null)).toBe(true);
  });

  it("fill_to_target with a target of its own", async () => {
    const w = await world();
    const plan = await restockPlan();
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product_variant", ids: [w.id("V1b")] }, quantity: { strategy: "fill_to_target", target: 6 } }));
    // S1 6−0=6, S2 6−2−1=3, W 6−5=1
    expect(out).toMatchObject({ added: 3, total_quantity: 10 });
  });

  it("score: the recommendation's quantity where score ≥ min_score", async () => {
    const w = await world();
    const plan = await restockPlan();
    const out = outputOf(await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1"), w.id("B2")] }, quantity: { strategy: "score", min_score: 0.5 } }));
    // V1a_S1 (0.9 → 4), V1b_S1 (0.6 → 3), V2a_S2 (0.7 → 1); V1a_S2 (0.3) and V3a_S1 (0.2) too low; 4 without one.
    expect(out).toMatchObject({ candidates: 9, added: 3, skipped: 6, total_quantity: 8 });
    const lines = await linesOf(plan);
    expect(lineSummary(w, lines)).toEqual(["V1a_S1 4", "V1b_S1 3", "V2a_S2 1"]);
    expect(lines.map((l) => l.score).sort()).toEqual([0.6, 0.7, 0.9]);
  });
});
