/** add_items_to_plan: re-runs, concurrent runs, long runs that continue from checkpoints. */
import { describe, expect, it } from "vitest";
import { snapshotCounters } from "../../worker/lib/metrics";
import { countersOf, itemsStep, lineSummary, linesOf, mirror, outputOf, restockPlan, triggerOf, world } from "../support/plan-fixtures";
import { uid } from "../support/api";

describe("add_items_to_plan re-runs", () => {
  it("updates lines instead of duplicating them, and rewrites only what changed", async () => {
    const w = await world();
    const plan = await restockPlan();
    const cfg = { plan, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fill_to_target" } };
    const first = await itemsStep(cfg, { runId: "run_first" });
    expect(outputOf(first)).toMatchObject({ added: 4, updated: 0 });
    const second = await itemsStep(cfg, { runId: "run_second" });
    expect(outputOf(second)).toMatchObject({ added: 0, updated: 4, unchanged: 4, total_quantity: 12 });
    let lines = await linesOf(plan);
    expect(lines).toHaveLength(4);
    // Nothing changed, so the lines still name the run that set them.
    expect(new Set(lines.map((l) => l.run_id))).toEqual(new Set(["run_first"]));
    // V1a_S1 received 2: it now needs 6 − 3 = 3.
    await mirror("inventory_item", [{ ...w.items.V1a_S1!, on_hand: 3 }]);
    const third = await itemsStep(cfg, { runId: "run_third" });
    expect(outputOf(third)).toMatchObject({ added: 0, updated: 4, unchanged: 3, total_quantity: 10 });
    lines = await linesOf(plan);
    expect(lineSummary(w, lines)).toEqual(["V1a_S1 3", "V1b_S1 4", "V1b_S2 1", "V2a_S2 2"]);
    expect(lines.find((l) => l.inventory_item_id === w.id("V1a_S1"))?.run_id).toBe("run_third");
    expect(await countersOf(plan)).toEqual({ item_count: 4, total_quantity: 10, lines: 4, quantity: 10 });
  });

  it("keeps the plan's counters equal to its lines when runs add to it at the same time", async () => {
    const w = await world();
    const plan = await restockPlan();
    const trigger = (item: string) => triggerOf("inventory_item", w.items[item]!);
    const runs = await Promise.all([
      itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1"), w.id("B2")] }, quantity: { strategy: "fixed", quantity: 2 } }, { limits: { pageSize: 2, maxUnits: 1 } }),
      itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, quantity: { strategy: "fixed", quantity: 3 } }, { limits: { pageSize: 2, maxUnits: 1 } }),
      ...["V1a_S1", "V1b_S1", "V2a_S2", "V3a_S1"].map((i) => itemsStep({ plan, filter: { entity: "inventory_item", from_trigger: true }, quantity: { strategy: "fixed", quantity: 1 } }, { trigger: trigger(i) })),
    ]);
    for (const r of runs) expect(r.result.ok).toBe(true);
    const c = await countersOf(plan);
    expect(c.lines).toBe(9);
    expect(c.item_count).toBe(c.lines);
    expect(c.total_quantity).toBe(c.quantity);
  });
});

describe("add_items_to_plan at scale", () => {
  async function bulk(variants: number, shops: number) {
    const p = uid("bulk");
    const rows = [];
    for (let v = 0; v < variants; v++) {
      for (let s = 0; s < shops; s++) {
        rows.push({ id: `${p}_i${String(v).padStart(4, "0")}_${String(s).padStart(2, "0")}`, variant_id: `${p}_v${String(v).padStart(4, "0")}`, shop_id: `${p}_s${s}`, on_hand: (v + s) % 7, on_order: 0, target: 6 });
      }
    }
    await mirror("product", [{ id: `${p}_p`, brand_id: `${p}_b`, name: "Bulk", price: 10, cost: 5 }]);
    await mirror("product_variant", Array.from({ length: variants }, (_, v) => ({ id: `${p}_v${String(v).padStart(4, "0")}`, product_id: `${p}_p`, size: String(v) })));
    await mirror("inventory_item", rows);
    return { p, rows };
  }

  it("writes more lines than one statement or one batch can hold, in chunks", async () => {
    const { p, rows } = await bulk(60, 20);
    const plan = await restockPlan();
    const run = await itemsStep({ plan, filter: { entity: "product", ids: [`${p}_p`] }, quantity: { strategy: "fixed", quantity: 2 } }, { limits: { pageSize: 300 } });
    expect(outputOf(run)).toMatchObject({ candidates: 1200, added: 1200, total_quantity: 2400, invocations: 1 });
    expect(rows.length).toBe(1200);
    expect(await countersOf(plan)).toEqual({ item_count: 1200, total_quantity: 2400, lines: 1200, quantity: 2400 });
  });

  it("continues from a checkpoint when its budget is spent, and finishes with the same result", async () => {
    const { p } = await bulk(30, 10);
    const plan = await restockPlan();
    const logs: string[] = [];
    const run = await itemsStep({ plan, filter: { entity: "product", ids: [`${p}_p`] }, quantity: { strategy: "fill_to_target" } }, { limits: { pageSize: 40, maxPages: 1 }, logs });
    // 30 variants of 10 items, 4 variants (40 items) a page once the page size is learnt.
    expect(run.invocations).toBeGreaterThanOrEqual(8);
    expect(run.checkpoints.length).toBe(run.invocations - 1);
    expect(logs.length).toBe(run.invocations - 1);
    // on_hand cycles (v + s) % 7 over target 6: quantities 6,5,4,3,2,1,0 — one item in seven needs nothing.
    const lines = await linesOf(plan);
    const out = outputOf(run);
    expect(out).toMatchObject({ candidates: 300, added: lines.length, skipped: 300 - lines.length, invocations: run.invocations });
    expect(out.total_quantity).toBe(lines.reduce((n, l) => n + l.quantity, 0));
    expect(await countersOf(plan)).toMatchObject({ item_count: lines.length, total_quantity: out.total_quantity });
  });

  it("is idempotent when invoked again with a checkpoint it already passed", async () => {
    const { p } = await bulk(20, 10);
    const plan = await restockPlan();
    const cfg = { plan, filter: { entity: "product", ids: [`${p}_p`] }, quantity: { strategy: "fixed", quantity: 1 } };
    const run = await itemsStep(cfg, { limits: { pageSize: 30, maxPages: 1 } });
    expect(outputOf(run).added).toBe(200);
    // As if the runtime died after writing pages but before the engine stored the next checkpoint.
    const replay = await itemsStep(cfg, { limits: { pageSize: 30, maxPages: 1 }, checkpoint: run.checkpoints[1] });
    expect(replay.result.ok).toBe(true);
    expect(await countersOf(plan)).toEqual({ item_count: 200, total_quantity: 200, lines: 200, quantity: 200 });
    // A time budget of zero continues after every page.
    const slow = await itemsStep(cfg, { limits: { pageSize: 100, timeBudgetMs: 0 } });
    expect(slow.invocations).toBeGreaterThan(1);
    expect(outputOf(slow)).toMatchObject({ added: 0, updated: 200, unchanged: 200 });
  });

  it("reads about one row per candidate (plus one per recommendation)", async () => {
    const { p } = await bulk(50, 20);
    const plan = await restockPlan();
    const before = snapshotCounters();
    outputOf(await itemsStep({ plan, filter: { entity: "product", ids: [`${p}_p`] }, quantity: { strategy: "fill_to_target" } }));
    const after = snapshotCounters();
    const read = (after.d1_rows_read ?? 0) - (before.d1_rows_read ?? 0);
    const written = (after.d1_rows_written ?? 0) - (before.d1_rows_written ?? 0);
    const lines = (await countersOf(plan)).lines!;
    expect(read).toBeLessThanOrEqual(2 * 1000);
    // One row per new line, and one for the plan's counters per page.
    expect(written).toBeLessThanOrEqual(lines + 20);
  });
});
