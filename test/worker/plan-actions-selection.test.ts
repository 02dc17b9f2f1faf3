/** add_items_to_plan: which items a filter, shop scope and size scope select. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upsertStatements } from "../../worker/entities";
import { itemsStep, lineSummary, linesOf, newPlan, outputOf, restockPlan, triggerOf, world } from "../support/plan-fixtures";

describe("add_items_to_plan selects items down the hierarchy", () => {
  const fixed1 = { strategy: "fixed", quantity: 1 };

  it("a brand selects its products' variants' items", async () => {
    const w = await world();
    const plan = await restockPlan();
    const run = await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: fixed1 });
    expect(outputOf(run)).toMatchObject({ plan_id: plan, candidates: 8, added: 8, skipped: 0, total_quantity: 8 });
    expect(lineSummary(w, await linesOf(plan))).toEqual(["V1a_S1 1", "V1a_S2 1", "V1a_W 1", "V1b_S1 1", "V1b_S2 1", "V1b_W 1", "V2a_S1 1", "V2a_S2 1"]);
  });

  it("a product, a variant, or items by id", async () => {
    const w = await world();
    const byProduct = await restockPlan();
    expect(outputOf(await itemsStep({ plan: byProduct, filter: { entity: "product", ids: [w.id("P1"), w.id("P3")] }, quantity: fixed1 }))).toMatchObject({ candidates: 7 });
    const byVariant = await restockPlan();
    expect(outputOf(await itemsStep({ plan: byVariant, filter: { entity: "product_variant", ids: [w.id("V2a")] }, quantity: fixed1 }))).toMatchObject({ candidates: 2 });
    const byItem = await restockPlan();
    const out = outputOf(await itemsStep({ plan: byItem, filter: { entity: "inventory_item", ids: [w.id("V1b_W"), w.id("V3a_S1"), w.id("nope")] }, quantity: fixed1 }));
    expect(out).toMatchObject({ candidates: 2, added: 2 });
    expect(lineSummary(w, await linesOf(byItem))).toEqual(["V1b_W 1", "V3a_S1 1"]);
  });

  it("tag filters at each level: brand, product (include and exclude), item", async () => {
    const w = await world();
    const brand = await restockPlan();
    expect(outputOf(await itemsStep({ plan: brand, filter: { entity: "brand", tags: { include: [w.tag("premium")] } }, quantity: fixed1 }))).toMatchObject({ candidates: 8 });
    const sneakers = await restockPlan();
    expect(
      outputOf(await itemsStep({ plan: sneakers, filter: { entity: "product", tags: { include: [w.tag("sneakers")] } }, shops: { mode: "specific", ids: [w.id("S1")] }, quantity: fixed1 })),
    ).toMatchObject({ candidates: 3 });
    expect(lineSummary(w, await linesOf(sneakers))).toEqual(["V1a_S1 1", "V1b_S1 1", "V3a_S1 1"]);
    const notSneakers = await restockPlan();
    expect(
      outputOf(await itemsStep({ plan: notSneakers, filter: { entity: "product", ids: [w.id("P1"), w.id("P2")], tags: { exclude: [w.tag("sneakers")] } }, quantity: fixed1 })),
    ).toMatchObject({ candidates: 2 }); // P2's two items
    const all = await restockPlan();
    expect(
      outputOf(await itemsStep({ plan: all, filter: { entity: "product", tags: { include: [w.tag("sneakers"), w.tag("premium")], match: "all" } }, quantity: fixed1 })),
    ).toMatchObject({ candidates: 0 }); // no product carries both
    const clear = await restockPlan();
    expect(outputOf(await itemsStep({ plan: clear, filter: { entity: "inventory_item", tags: { include: [w.tag("clear")] } }, quantity: fixed1 }))).toMatchObject({ candidates: 1 });
    expect(lineSummary(w, await linesOf(clear))).toEqual(["V1a_S1 1"]);
  });

  it("from_trigger walks up from an item to its variant, product or brand", async () => {
    const w = await world();
    const trigger = triggerOf("inventory_item", w.items.V1a_S1!);
    const counts: Record<string, number> = {};
    for (const entity of ["inventory_item", "product_variant", "product", "brand"]) {
      const plan = await restockPlan();
      counts[entity] = Number(outputOf(await itemsStep({ plan, filter: { entity, from_trigger: true }, quantity: fixed1 }, { trigger })).candidates);
    }
    expect(counts).toEqual({ inventory_item: 1, product_variant: 3, product: 6, brand: 8 });
  });

  it("from_trigger from a brand or product narrows by the tags of the level asked", async () => {
    const w = await world();
    const plan = await restockPlan();
    const brandTrigger = triggerOf("brand", { id: w.id("B1"), name: "Brand one" });
    const out = outputOf(await itemsStep({ plan, filter: { entity: "product", from_trigger: true, tags: { include: [w.tag("sneakers")] } }, quantity: fixed1 }, { trigger: brandTrigger }));
    expect(out).toMatchObject({ candidates: 6 }); // P1 only: P2 is not tagged
    const items = await restockPlan();
    const productTrigger = triggerOf("product", { id: w.id("P1"), brand_id: w.id("B1") });
    const tagged = outputOf(await itemsStep({ plan: items, filter: { entity: "inventory_item", from_trigger: true, tags: { include: [w.tag("clear")] } }, quantity: fixed1 }, { trigger: productTrigger }));
    expect(tagged).toMatchObject({ candidates: 1 });
  });

  it("from_trigger and ids together keep only what both select", async () => {
    const w = await world();
    const trigger = triggerOf("inventory_item", w.items.V1a_S1!);
    const none = await restockPlan();
    expect(outputOf(await itemsStep({ plan: none, filter: { entity: "product_variant", from_trigger: true, ids: [w.id("V1b")] }, quantity: fixed1 }, { trigger }))).toMatchObject({
      candidates: 0,
      added: 0,
    });
    const both = await restockPlan();
    expect(outputOf(await itemsStep({ plan: both, filter: { entity: "product_variant", from_trigger: true, ids: [w.id("V1a"), w.id("V1b")] }, quantity: fixed1 }, { trigger }))).toMatchObject({
      candidates: 3,
    });
  });

  it("shop scope: specific shops, the trigger's shop, and never outside the plan's shops", async () => {
    const w = await world();
    const trigger = triggerOf("inventory_item", w.items.V1b_S2!);
    const specific = await restockPlan();
    expect(outputOf(await itemsStep({ plan: specific, filter: { entity: "brand", ids: [w.id("B1")] }, shops: { mode: "specific", ids: [w.id("S1"), w.id("W")] }, quantity: fixed1 }))).toMatchObject({
      candidates: 5, // S1: V1a, V1b, V2a; W: V1a, V1b
    });
    const fromTrigger = await restockPlan();
    expect(outputOf(await itemsStep({ plan: fromTrigger, filter: { entity: "product", from_trigger: true }, shops: { mode: "from_trigger" }, quantity: fixed1 }, { trigger }))).toMatchObject({
      candidates: 2, // P1's items in S2: V1a_S2, V1b_S2
    });
    const scoped = await restockPlan({ shops: { mode: "specific", ids: [w.id("S2")] } });
    const out = outputOf(await itemsStep({ plan: scoped, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fill_to_target" } }));
    // S2 only: V1a_S2 3 − 8 → 0 (skipped); V1b_S2 4 − 2 − 1 = 1; V2a_S2 2 − 0 − 0 = 2.
    expect(out).toMatchObject({ candidates: 3, added: 2, skipped: 1, total_quantity: 3 });
    const outside = await restockPlan({ shops: { mode: "specific", ids: [w.id("S2")] } });
    expect(outputOf(await itemsStep({ plan: outside, filter: { entity: "brand", ids: [w.id("B1")] }, shops: { mode: "specific", ids: [w.id("S1")] } }))).toMatchObject({ candidates: 0 });
  });

  it("size scope keeps items with on_hand below the threshold", async () => {
    const w = await world();
    const plan = await restockPlan();
    const out = outputOf(
      await itemsStep({
        plan,
        filter: { entity: "product", ids: [w.id("P1")] },
        shops: { mode: "specific", ids: [w.id("S1"), w.id("S2")] },
        sizes: { mode: "below_threshold", threshold: 2 },
        quantity: { strategy: "fixed", quantity: 3 },
      }),
    );
    // V1a_S1 (1) and V1b_S1 (0) are below 2; V1a_S2 (8) and V1b_S2 (2) are not.
    expect(out).toMatchObject({ candidates: 2, added: 2, total_quantity: 6 });
    expect(lineSummary(w, await linesOf(plan))).toEqual(["V1a_S1 3", "V1b_S1 3"]);
  });

  it("selects the same items whatever the page size, for every way of walking the hierarchy", async () => {
    const w = await world();
    const trigger = (entity: string, data: Record<string, unknown> & { id: string }) => triggerOf(entity, data);
    const cases: [string, Record<string, unknown>, ReturnType<typeof triggerOf>?][] = [
      ["brand ids", { entity: "brand", ids: [w.id("B1"), w.id("B2")] }],
      ["brand tags", { entity: "brand", tags: { include: [w.tag("premium")] } }],
      ["product ids", { entity: "product", ids: [w.id("P3"), w.id("P1"), w.id("P2")] }],
      ["product tags", { entity: "product", tags: { include: [w.tag("sneakers")] } }],
      ["variant ids", { entity: "product_variant", ids: [w.id("V2a"), w.id("V1b"), w.id("V1a")] }],
      ["variant tags", { entity: "product_variant", tags: { include: [w.tag("core")] } }],
      ["item ids", { entity: "inventory_item", ids: Object.values(w.items).map((i) => i.id) }],
      ["item tags", { entity: "inventory_item", tags: { include: [w.tag("clear")] } }],
      ["under a brand", { entity: "product_variant", from_trigger: true, tags: { include: [w.tag("core")] } }, trigger("brand", { id: w.id("B1") })],
      ["under a product", { entity: "inventory_item", from_trigger: true }, trigger("product", { id: w.id("P1") })],
    ];
    for (const [name, filter, t] of cases) {
      const results = [];
      for (const limits of [{}, { pageSize: 1, maxUnits: 1 }]) {
        const plan = await restockPlan();
        const run = await itemsStep({ plan, filter, quantity: { strategy: "fill_to_target" } }, { trigger: t, limits });
        results.push({ candidates: outputOf(run).candidates, lines: lineSummary(w, await linesOf(plan)) });
      }
      expect(results[1], name).toEqual(results[0]);
      expect(results[0]!.candidates, name).toBeGreaterThan(0);
    }
  });

  it("matches a variant's shops together even when pages hold one item", async () => {
    const w = await world();
    const summaries = [];
    for (const limits of [{}, { pageSize: 1, maxUnits: 1 }]) {
      const plan = await newPlan("rebalance");
      outputOf(await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] }, matching: { strategy: "score" } }, { limits }));
      summaries.push((await linesOf(plan)).map((l) => `${w.short(l.from_shop_id)}→${w.short(l.to_shop_id)} ${w.short(l.variant_id)} ${l.quantity}`));
    }
    expect(summaries[0]).toEqual(["W→S1 V1a 5"]);
    expect(summaries[1]).toEqual(summaries[0]);
  });

  it("leaves deleted items out", async () => {
    const w = await world();
    const stmts = upsertStatements(env.DB, "inventory_item", [{ data: { id: w.id("V2a_S1") }, occurredAt: "2026-11-21T00:00:00Z", eventId: "del", deleted: true }]);
    await env.DB.batch(stmts);
    const plan = await restockPlan();
    expect(outputOf(await itemsStep({ plan, filter: { entity: "product_variant", ids: [w.id("V2a")] } }))).toMatchObject({ candidates: 1 });
  });
});
