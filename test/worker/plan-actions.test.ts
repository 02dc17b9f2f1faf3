import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addItemsToPlan } from "../../worker/actions/add-items-to-plan";
import { createOrGetPlan } from "../../worker/actions/create-or-get-plan";
import type { ActionContext, ActionDeps, ActionResult } from "../../worker/actions/types";
import { config } from "../../worker/config";
import { DateSpecError } from "../../worker/definition/date-spec";
import type { Scope } from "../../worker/definition/interpolate";
import { upsertStatements, type EntityKind } from "../../worker/entities";
import { snapshotCounters } from "../../worker/lib/metrics";
import { addItems, DEFAULT_LIMITS, type Limits } from "../../worker/planning/add-items";
import { uid } from "./helpers";

/** Helpers for tests that run the planning actions against the real D1 of the test runtime. */

const NOW = new Date("2026-11-22T10:00:00Z");

let seq = 0;
/** Writes entities straight into the mirror (the path events take). */
async function mirror(kind: EntityKind, rows: Record<string, unknown>[]): Promise<void> {
  seq += 1;
  const stmts = upsertStatements(
    env.DB,
    kind,
    rows.map((data, i) => ({ data, occurredAt: "2026-11-20T00:00:00Z", eventId: `seed_${seq}_${i}` })),
  );
  for (let i = 0; i < stmts.length; i += 40) await env.DB.batch(stmts.slice(i, i + 40));
}

type Trigger = Scope["trigger"];

function triggerOf(entity: string, data: Record<string, unknown> & { id: string }): Trigger {
  return {
    id: `evt_${data.id}`,
    type: `${entity}.updated`,
    entity,
    entity_id: data.id,
    occurred_at: "2026-11-22T09:00:00Z",
    data,
    previous: null,
  };
}

const NO_TRIGGER: Trigger = { id: "evt_test", type: "product.updated", entity: "product", entity_id: "none", occurred_at: "2026-11-22T09:00:00Z", data: {}, previous: null };

function scopeOf(trigger: Trigger = NO_TRIGGER, steps: Record<string, unknown> = {}): Scope {
  return {
    trigger,
    steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, { output: v }])),
    workflow: { id: "wf_test", name: "Test", version: 1 },
    run: { id: "run_test" },
    now: NOW.toISOString(),
    today: "2026-11-22",
  };
}

function ctxOf(opts: { trigger?: Trigger; runId?: string; nodeId?: string; key?: string; checkpoint?: unknown; logs?: string[] } = {}): ActionContext {
  const runId = opts.runId ?? `run_${Math.random().toString(36).slice(2)}`;
  const nodeId = opts.nodeId ?? "items";
  return {
    runId,
    workflowId: "wf_test",
    nodeId,
    attempt: 1,
    idempotencyKey: opts.key ?? `${runId}:${nodeId}`,
    now: NOW,
    signal: new AbortController().signal,
    trigger: opts.trigger ?? NO_TRIGGER,
    checkpoint: opts.checkpoint,
    log: (m) => opts.logs?.push(m),
  };
}

function depsOf(db: D1Database = env.DB): ActionDeps {
  return { config: config(env), db, email: env.EMAIL, fetch };
}

/** create_or_get_plan as the engine runs it: parse the config, resolve, execute. */
async function planStep(cfg: Record<string, unknown>, opts: Parameters<typeof ctxOf>[0] = {}): Promise<ActionResult> {
  const c = ctxOf({ nodeId: "plan", ...opts });
  const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse(cfg), scopeOf(c.trigger), NOW);
  return createOrGetPlan.execute(input, c, depsOf());
}

async function newPlan(kind: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await planStep({ kind, name: `plan_${Math.random().toString(36).slice(2)}`, ...extra });
  if (res.ok !== true) throw new Error(`create_or_get_plan failed: ${JSON.stringify(res)}`);
  return (res.output as { plan_id: string }).plan_id;
}

interface ItemsRun {
  result: ActionResult;
  invocations: number;
  checkpoints: unknown[];
}

/**
 * add_items_to_plan as the engine runs it: parse, resolve, then execute again with each
 * checkpoint (round-tripped through JSON, as the engine stores it) until it finishes.
 */
async function itemsStep(
  cfg: Record<string, unknown>,
  opts: Parameters<typeof ctxOf>[0] & { limits?: Partial<Limits>; db?: D1Database } = {},
): Promise<ItemsRun> {
  const c = ctxOf(opts);
  const input = addItemsToPlan.resolve!(addItemsToPlan.configSchema.parse(cfg), scopeOf(c.trigger), NOW);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const checkpoints: unknown[] = [];
  let checkpoint = opts.checkpoint;
  for (let i = 1; i <= 1000; i++) {
    const result = await addItems(input, { ...c, checkpoint }, { db: opts.db ?? env.DB }, limits);
    if (result.ok !== "continue") return { result, invocations: i, checkpoints };
    checkpoint = JSON.parse(JSON.stringify(result.checkpoint));
    checkpoints.push(checkpoint);
  }
  throw new Error("add_items_to_plan never finished");
}

function outputOf(run: ItemsRun | ActionResult): Record<string, number | string> {
  const result = "result" in run ? run.result : run;
  if (result.ok !== true) throw new Error(`step failed: ${JSON.stringify(result)}`);
  return result.output as Record<string, number | string>;
}

interface LineRow {
  inventory_item_id: string | null;
  variant_id: string | null;
  shop_id: string | null;
  quantity: number;
  from_shop_id: string | null;
  to_shop_id: string | null;
  discount_percent: number | null;
  markdown_date: string | null;
  strategy: string | null;
  score: number | null;
  run_id: string | null;
}

async function linesOf(planId: string): Promise<LineRow[]> {
  const res = await env.DB.prepare(
    `SELECT inventory_item_id, variant_id, shop_id, quantity, from_shop_id, to_shop_id, discount_percent, markdown_date, strategy, score, run_id
     FROM plan_items WHERE plan_id = ? ORDER BY line_key`,
  )
    .bind(planId)
    .all<LineRow>();
  return res.results;
}

/** The plan's counters and what its lines actually sum to: they must agree. */
async function countersOf(planId: string) {
  const plan = await env.DB.prepare("SELECT item_count, total_quantity FROM plans WHERE id = ?").bind(planId).first<{ item_count: number; total_quantity: number }>();
  const real = await env.DB.prepare("SELECT count(*) AS n, coalesce(sum(quantity), 0) AS q FROM plan_items WHERE plan_id = ?").bind(planId).first<{ n: number; q: number }>();
  return { item_count: plan?.item_count, total_quantity: plan?.total_quantity, lines: real?.n, quantity: real?.q };
}

// ---------------------------------------------------------------- a small retailer, per test

/**
 * Brands B1 (tagged premium) and B2; products P1 (B1, 100/50, sneakers), P2 (B1, 80/70),
 * P3 (B2, 50/20, sneakers); variants V1a, V1b (P1, tagged core; V1b priced 120), V2a (P2), V3a (P3);
 * shops S1, S2 (stores) and W (warehouse). Items are `<variant>_<shop>`:
 *
 *   item     on_hand on_order target  recommendation (score, quantity, discount %)
 *   V1a_S1       1       0       6     0.9, 4, 30     (tagged clear)
 *   V1a_S2       8       0       3     0.3, 2, 10
 *   V1a_W       20       0      10
 *   V1b_S1       0       0       4     0.6, 3, 45
 *   V1b_S2       2       1       4
 *   V1b_W        5       0       5
 *   V2a_S1       3       0       3
 *   V2a_S2       0       0       2     0.7, 1, 25
 *   V3a_S1       2       0       5     0.2, 5, 40
 */
async function world() {
  const p = uid("w");
  const id = (s: string) => `${p}_${s}`;
  const tag = (s: string) => `${p}_${s}`;
  await mirror("brand", [
    { id: id("B1"), name: "Brand one", tags: [tag("premium")] },
    { id: id("B2"), name: "Brand two" },
  ]);
  await mirror("product", [
    { id: id("P1"), brand_id: id("B1"), name: "Runner", price: 100, cost: 50, tags: [tag("sneakers")] },
    { id: id("P2"), brand_id: id("B1"), name: "Tee", price: 80, cost: 70 },
    { id: id("P3"), brand_id: id("B2"), name: "Court", price: 50, cost: 20, tags: [tag("sneakers")] },
  ]);
  await mirror("product_variant", [
    { id: id("V1a"), product_id: id("P1"), size: "42", tags: [tag("core")] },
    { id: id("V1b"), product_id: id("P1"), size: "43", price: 120, tags: [tag("core")] },
    { id: id("V2a"), product_id: id("P2"), size: "M" },
    { id: id("V3a"), product_id: id("P3"), size: "L" },
  ]);
  await mirror("shop", [
    { id: id("S1"), name: "Store 1", kind: "store" },
    { id: id("S2"), name: "Store 2", kind: "store" },
    { id: id("W"), name: "Warehouse", kind: "warehouse" },
  ]);
  const rows: [string, string, number, number, number][] = [
    ["V1a", "S1", 1, 0, 6],
    ["V1a", "S2", 8, 0, 3],
    ["V1a", "W", 20, 0, 10],
    ["V1b", "S1", 0, 0, 4],
    ["V1b", "S2", 2, 1, 4],
    ["V1b", "W", 5, 0, 5],
    ["V2a", "S1", 3, 0, 3],
    ["V2a", "S2", 0, 0, 2],
    ["V3a", "S1", 2, 0, 5],
  ];
  const items = Object.fromEntries(
    rows.map(([v, s, on_hand, on_order, target]) => [
      `${v}_${s}`,
      { id: id(`${v}_${s}`), variant_id: id(v), shop_id: id(s), on_hand, on_order, target, tags: v === "V1a" && s === "S1" ? [tag("clear")] : [] },
    ]),
  );
  await mirror("inventory_item", Object.values(items));
  const recs: [string, number, number, number][] = [
    ["V1a_S1", 0.9, 4, 30],
    ["V1a_S2", 0.3, 2, 10],
    ["V1b_S1", 0.6, 3, 45],
    ["V2a_S2", 0.7, 1, 25],
    ["V3a_S1", 0.2, 5, 40],
  ];
  await mirror(
    "recommendation",
    recs.map(([item, score, quantity, discount_percent]) => ({ id: id(`rec_${item}`), inventory_item_id: id(item), score, quantity, discount_percent })),
  );
  /** Short names of the items of a plan's lines: "V1a_S1". */
  const short = (full: string | null) => (full ?? "").slice(p.length + 1);
  return { p, id, tag, items, short };
}
type World = Awaited<ReturnType<typeof world>>;

const lineSummary = (w: World, lines: LineRow[]) => lines.map((l) => `${w.short(l.inventory_item_id)} ${l.quantity}`).sort();

async function restockPlan(extra: Record<string, unknown> = {}) {
  return newPlan("restock", extra);
}

// ---------------------------------------------------------------- create_or_get_plan

describe("create_or_get_plan", () => {
  it("creates an open plan, then reuses it for the same kind and interpolated name", async () => {
    const name = uid("Restock");
    const trigger = triggerOf("inventory_item", { id: "inv_1", shop_id: "shop_9", variant_id: "v", region: name });
    const first = await planStep({ kind: "restock", name: "{{trigger.data.region}} week", deadline: { type: "relative", days: 7 } }, { trigger });
    expect(first).toMatchObject({ ok: true, output: { created: true, kind: "restock", name: `${name} week`, deadline: "2026-11-29", status: "open", shops: { mode: "all", ids: [] } } });
    const again = await planStep({ kind: "restock", name: `${name} week`, deadline: { type: "absolute", date: "2027-01-01" } });
    // Reused as it is: the first plan's deadline stays.
    expect(again).toMatchObject({ ok: true, output: { created: false, deadline: "2026-11-29" } });
    expect((again as { output: { plan_id: string } }).output.plan_id).toBe((first as { output: { plan_id: string } }).output.plan_id);
    const other = await planStep({ kind: "markdown", name: `${name} week` });
    expect(other).toMatchObject({ ok: true, output: { created: true, kind: "markdown" } });
  });

  it("gives two runs asking at once one plan", async () => {
    const name = uid("race");
    const results = await Promise.all(Array.from({ length: 8 }, () => planStep({ kind: "rebalance", name })));
    const outputs = results.map((r) => (r as { ok: true; output: { plan_id: string; created: boolean } }).output);
    expect(new Set(outputs.map((o) => o.plan_id)).size).toBe(1);
    expect(outputs.filter((o) => o.created)).toHaveLength(1);
    const open = await env.DB.prepare("SELECT count(*) AS n FROM plans WHERE kind = 'rebalance' AND name = ? AND status = 'open'").bind(name).first<{ n: number }>();
    expect(open?.n).toBe(1);
  });

  it("reports created again when the step that created the plan is retried", async () => {
    const name = uid("retry");
    const first = await planStep({ kind: "restock", name }, { key: "run_x:plan" });
    const retry = await planStep({ kind: "restock", name }, { key: "run_x:plan" });
    expect(first).toMatchObject({ output: { created: true } });
    expect(retry).toMatchObject({ output: { created: true, plan_id: (first as { output: { plan_id: string } }).output.plan_id } });
  });

  it("creates a new plan once the open one is closed", async () => {
    const name = uid("closed");
    const first = (await planStep({ kind: "restock", name })) as { output: { plan_id: string } };
    await env.DB.prepare("UPDATE plans SET status = 'closed' WHERE id = ?").bind(first.output.plan_id).run();
    const next = (await planStep({ kind: "restock", name })) as { output: { plan_id: string; created: boolean } };
    expect(next.output.created).toBe(true);
    expect(next.output.plan_id).not.toBe(first.output.plan_id);
  });

  it("stores the trigger's shop for shops from_trigger, and fails without one", async () => {
    const ok = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "from_trigger" } }, { trigger: triggerOf("inventory_item", { id: "i", shop_id: "shop_7" }) });
    expect(ok).toMatchObject({ ok: true, output: { shops: { mode: "specific", ids: ["shop_7"] } } });
    const bad = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "from_trigger" } }, { trigger: triggerOf("product", { id: "p" }) });
    expect(bad).toMatchObject({ ok: false, retryable: false });
    expect((bad as { error: string }).error).toContain("needs an inventory_item trigger");
    const specific = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "specific", ids: ["b", "a", "b"] } });
    expect(specific).toMatchObject({ output: { shops: { mode: "specific", ids: ["a", "b"] } } });
  });

  it("refuses in resolve a name or deadline that interpolates to nothing usable", () => {
    const resolve = (cfg: Record<string, unknown>, trigger = triggerOf("product", { id: "p", when: "soon", blank: "" })) =>
      createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse(cfg), scopeOf(trigger), NOW);
    expect(() => resolve({ kind: "restock", name: "{{trigger.data.blank}}" })).toThrow("empty after interpolation");
    expect(() => resolve({ kind: "restock", name: "x", deadline: { type: "interpolated", value: "{{trigger.data.when}}" } })).toThrow(DateSpecError);
    expect(() => resolve({ kind: "restock", name: "{{trigger.data.missing}}" })).toThrow("missing");
    expect(resolve({ kind: "restock", name: "Plan {{trigger.entity_id}}", deadline: { type: "interpolated", value: "{{trigger.occurred_at}}", offset_days: 3 } })).toEqual({
      kind: "restock",
      name: "Plan p",
      shops: { mode: "all", ids: [] },
      deadline: "2026-11-25",
    });
  });

  it("fails with a retryable error when D1 fails", async () => {
    const broken = { ...env.DB, batch: async () => Promise.reject(new Error("D1_ERROR: network connection lost")) } as unknown as D1Database;
    const c = ctxOf({ nodeId: "plan" });
    const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse({ kind: "restock", name: uid("d1") }), scopeOf(), NOW);
    const res = await createOrGetPlan.execute(input, c, depsOf(broken));
    expect(res).toMatchObject({ ok: false, retryable: true });
  });
});

// ---------------------------------------------------------------- add_items_to_plan: selection

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

// ---------------------------------------------------------------- add_items_to_plan: strategies

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

// ---------------------------------------------------------------- re-runs, lineage, counters

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

// ---------------------------------------------------------------- failures

describe("add_items_to_plan failures", () => {
  it("fails without retry for a missing or closed plan", async () => {
    const w = await world();
    const missing = await itemsStep({ plan: "plan_nope", filter: { entity: "brand", ids: [w.id("B1")] } });
    expect(missing.result).toMatchObject({ ok: false, retryable: false });
    expect((missing.result as { error: string }).error).toContain("No plan has the id plan_nope");
    const plan = await restockPlan();
    await env.DB.prepare("UPDATE plans SET status = 'closed' WHERE id = ?").bind(plan).run();
    const closed = await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] } });
    expect(closed.result).toMatchObject({ ok: false, retryable: false });
    expect((closed.result as { error: string }).error).toContain("is closed");
  });

  it("fails without retry when the strategies do not fit the plan's kind", async () => {
    const w = await world();
    const filter = { entity: "brand", ids: [w.id("B1")] };
    const cases: [string, Record<string, unknown>, string][] = [
      ["rebalance", {}, "needs matching"],
      ["markdown", {}, "needs discount"],
      ["restock", { discount: { strategy: "fixed", percent: 10 } }, "discount applies to markdown plans"],
      ["markdown", { discount: { strategy: "fixed", percent: 10 }, matching: { strategy: "score" } }, "matching applies to rebalance plans"],
      ["restock", { markdown_date: { type: "relative", days: 1 } }, "markdown_date applies to markdown plans"],
    ];
    for (const [kind, extra, message] of cases) {
      const plan = await newPlan(kind);
      const res = (await itemsStep({ plan, filter, ...extra })).result;
      expect(res, message).toMatchObject({ ok: false, retryable: false });
      expect((res as { error: string }).error).toContain(message);
    }
  });

  it("refuses in resolve a fixed matching whose shops interpolate to the same shop", async () => {
    const plan = await newPlan("rebalance");
    const cfg = { plan, filter: { entity: "brand", ids: ["b"] }, matching: { strategy: "fixed", from_shop: "{{trigger.entity_id}}", to_shop: "{{trigger.entity_id}}" } };
    expect(addItemsToPlan.configSchema.safeParse(cfg).success).toBe(true);
    await expect(itemsStep(cfg)).rejects.toThrow("matching.to_shop: from_shop and to_shop must be different shops");
  });

  it("fails without retry when the trigger cannot anchor the selection", async () => {
    const w = await world();
    const plan = await restockPlan();
    const customer = await itemsStep({ plan, filter: { entity: "product", from_trigger: true } }, { trigger: triggerOf("customer", { id: "c1", email: "a@b.c" }) });
    expect((customer.result as { error: string }).error).toContain("needs a brand, product, product_variant or inventory_item trigger");
    const shop = await itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, shops: { mode: "from_trigger" } }, { trigger: triggerOf("product", { id: w.id("P1") }) });
    expect((shop.result as { error: string }).error).toContain("shops.mode from_trigger needs an inventory_item trigger");
    const orphan = await itemsStep({ plan, filter: { entity: "product", from_trigger: true } }, { trigger: triggerOf("inventory_item", { id: "i", variant_id: uid("ghost"), shop_id: "s" }) });
    expect(orphan.result).toMatchObject({ ok: false, retryable: false });
    expect((orphan.result as { error: string }).error).toContain("is not in the entity mirror");
  });

  it("refuses input that does not parse, and config the schema forbids", async () => {
    const res = await addItemsToPlan.execute({ plan: 42, filter: {} } as never, ctxOf(), depsOf());
    expect(res).toMatchObject({ ok: false, retryable: false });
    const cfg = addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "brand" }, matching: { strategy: "fixed", from_shop: "a", to_shop: "a" } });
    expect(cfg.success).toBe(false);
    expect(addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "shop" } }).success).toBe(false);
    expect(addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "brand" }, discount: { strategy: "recommended", min_percent: 60, max_percent: 50 } }).success).toBe(false);
  });

  it("fails with a retryable error when D1 fails", async () => {
    const w = await world();
    const plan = await restockPlan();
    const broken = {
      prepare: (q: string) => env.DB.prepare(q),
      batch: async () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
    } as unknown as D1Database;
    const run = await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] } }, { db: broken });
    expect(run.result).toMatchObject({ ok: false, retryable: true });
    expect((run.result as { error: string }).error).toContain("Network connection lost");
  });

  it("records concrete dates and ids as the step's input", () => {
    const trigger = triggerOf("inventory_item", { id: "inv_9", shop_id: "shop_3", variant_id: "var_2", related: ["a", "b"], season: "aw26" });
    const input = addItemsToPlan.resolve!(
      addItemsToPlan.configSchema.parse({
        plan: "{{steps.plan.output.plan_id}}",
        filter: { entity: "inventory_item", ids: ["{{trigger.data.related}}", "c"], tags: { include: ["{{trigger.data.season}}"] } },
        shops: { mode: "from_trigger" },
        discount: { strategy: "fixed", percent: 10 },
        markdown_date: { type: "interpolated", value: "{{steps.plan.output.deadline}}", offset_days: -3 },
      }),
      scopeOf(trigger, { plan: { plan_id: "plan_1", deadline: "2026-12-01" } }),
      NOW,
    );
    expect(input).toMatchObject({
      plan: "plan_1",
      filter: { ids: ["a", "b", "c"], tags: { include: ["aw26"] } },
      shops: { mode: "from_trigger", ids: ["shop_3"] },
      markdown_date: "2026-11-28",
    });
  });
});
