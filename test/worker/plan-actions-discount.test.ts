/** add_items_to_plan: the discount strategies of markdown plans. */
import { describe, expect, it } from "vitest";
import { itemsStep, linesOf, newPlan, outputOf, world } from "../support/plan-fixtures";

describe("add_items_to_plan markdown discounts", () => {
  it("recommended: clamped, lowered to the margin floor, and skipped when it cannot hold it", async () => {
    const w = await world();
    const plan = await newPlan("markdown");
    const out = outputOf(
      await itemsStep({
        plan,
        filter: { entity: "brand", ids: [w.id("B1")] },
        discount: { strategy: "recommended", margin_floor: 0.5, min_percent: 5, max_percent: 50 },
        markdown_date: { type: "relative", days: 7 },
      }),
    );
    // Floor is cost × 1.5.
    // V1a_S1: 100 × 0.70 = 70 < 75 → highest whole percent 25 (75 ≥ 75).
    // V1a_S2: 100 × 0.90 = 90 ≥ 75 → 10.
    // V1b_S1: 120 (variant price) × 0.55 = 66 < 75 → 100 × (1 − 75/120) = 37.5 → 37.
    // V2a_S2: 70 × 1.5 = 105 > 80: no discount holds the floor → skipped (margin floor).
    // V1a_W, V1b_S2, V1b_W, V2a_S1 have no recommendation → skipped.
    expect(out).toMatchObject({ candidates: 8, added: 3, skipped: 5, skipped_margin_floor: 1, total_quantity: 3 });
    const lines = await linesOf(plan);
    expect(lines.map((l) => `${w.short(l.inventory_item_id)} ${l.discount_percent}% ${l.markdown_date} ${l.strategy}`).sort()).toEqual([
      "V1a_S1 25% 2026-11-29 discount:recommended",
      "V1a_S2 10% 2026-11-29 discount:recommended",
      "V1b_S1 37% 2026-11-29 discount:recommended",
    ]);
  });

  it("score: round(score × max_percent)", async () => {
    const w = await world();
    const plan = await newPlan("markdown");
    const out = outputOf(await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] }, discount: { strategy: "score", max_percent: 40 } }));
    // 0.9 × 40 = 36, 0.3 × 40 = 12, 0.6 × 40 = 24, 0.7 × 40 = 28
    expect(out).toMatchObject({ added: 4, skipped: 4 });
    expect((await linesOf(plan)).map((l) => `${w.short(l.inventory_item_id)} ${l.discount_percent}`).sort()).toEqual(["V1a_S1 36", "V1a_S2 12", "V1b_S1 24", "V2a_S2 28"]);
  });

  it("fixed: the percent, dated on the plan's deadline when the step gives no date", async () => {
    const w = await world();
    const plan = await newPlan("markdown", { deadline: { type: "absolute", date: "2026-12-24" } });
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product_variant", ids: [w.id("V1a")] }, quantity: { strategy: "fixed", quantity: 2 }, discount: { strategy: "fixed", percent: 15 } }));
    expect(out).toMatchObject({ added: 3, total_quantity: 6 });
    expect((await linesOf(plan)).every((l) => l.discount_percent === 15 && l.markdown_date === "2026-12-24" && l.quantity === 2)).toBe(true);
  });
});
