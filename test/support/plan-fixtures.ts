/**
 * Shared setup of the planning action tests (test/worker/plan-actions-*.test.ts): helpers that run
 * create_or_get_plan and add_items_to_plan as the engine runs them against the real D1 of the test
 * runtime, readers for the lines and counters they write, and a small seeded retailer.
 */
import { env } from "cloudflare:workers";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { createOrGetPlan } from "../../worker/nodes/create-or-get-plan";
import type { Scope } from "../../worker/definition/interpolate";
import type { ActionContext, ActionResult, NodeDeps } from "../../worker/engine/step";
import { upsertStatements, type EntityKind } from "../../worker/entities";
import { planningPort } from "../../worker/planning";
import { addItems, DEFAULT_LIMITS, type Limits } from "../../worker/planning/add-items";
import { stepDeps } from "../../worker/run/deps";
import { uid } from "./api";

export const NOW = new Date("2026-11-22T10:00:00Z");

let seq = 0;
/** Writes entities straight into the mirror (the path events take). */
export async function mirror(kind: EntityKind, rows: Record<string, unknown>[]): Promise<void> {
  seq += 1;
  const stmts = upsertStatements(
    env.DB,
    kind,
    rows.map((data, i) => ({ data, occurredAt: "2026-11-20T00:00:00Z", eventId: `seed_${seq}_${i}` })),
  );
  for (let i = 0; i < stmts.length; i += 40) await env.DB.batch(stmts.slice(i, i + 40));
}

export type Trigger = Scope["trigger"];

export function triggerOf(entity: string, data: Record<string, unknown> & { id: string }): Trigger {
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

export const NO_TRIGGER: Trigger = { id: "evt_test", type: "product.updated", entity: "product", entity_id: "none", occurred_at: "2026-11-22T09:00:00Z", data: {}, previous: null };

export function scopeOf(trigger: Trigger = NO_TRIGGER, steps: Record<string, unknown> = {}): Scope {
  return {
    trigger,
    steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, { output: v }])),
    workflow: { id: "wf_test", name: "Test", version: 1 },
    run: { id: "run_test" },
    now: NOW.toISOString(),
    today: "2026-11-22",
  };
}

export function ctxOf(opts: { trigger?: Trigger; runId?: string; nodeId?: string; key?: string; checkpoint?: unknown; logs?: string[] } = {}): ActionContext {
  const runId = opts.runId ?? `run_${Math.random().toString(36).slice(2)}`;
  const nodeId = opts.nodeId ?? "items";
  return {
    runId,
    workflowId: "wf_test",
    nodeId,
    attempt: 1,
    idempotencyKey: opts.key ?? `${runId}:${nodeId}`,
    test: false,
    now: NOW,
    signal: new AbortController().signal,
    trigger: opts.trigger ?? NO_TRIGGER,
    checkpoint: opts.checkpoint,
    log: (m) => opts.logs?.push(m),
  };
}

/** The deps the run shell gives actions, with the planning port on `db`. */
export function depsOf(db: D1Database = env.DB): NodeDeps {
  return { ...stepDeps(env).deps, planning: planningPort(db) };
}

/** create_or_get_plan as the engine runs it: parse the config, resolve, execute. */
export async function planStep(cfg: Record<string, unknown>, opts: Parameters<typeof ctxOf>[0] = {}): Promise<ActionResult> {
  const c = ctxOf({ nodeId: "plan", ...opts });
  const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse(cfg), scopeOf(c.trigger), NOW);
  return createOrGetPlan.execute(input, c, depsOf());
}

export async function newPlan(kind: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await planStep({ kind, name: `plan_${Math.random().toString(36).slice(2)}`, ...extra });
  if (res.ok !== true) throw new Error(`create_or_get_plan failed: ${JSON.stringify(res)}`);
  return (res.output as { plan_id: string }).plan_id;
}

export interface ItemsRun {
  result: ActionResult;
  invocations: number;
  checkpoints: unknown[];
}

/**
 * add_items_to_plan as the engine runs it: parse, resolve, then execute again with each
 * checkpoint (round-tripped through JSON, as the engine stores it) until it finishes.
 */
export async function itemsStep(
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

export function outputOf(run: ItemsRun | ActionResult): Record<string, number | string> {
  const result = "result" in run ? run.result : run;
  if (result.ok !== true) throw new Error(`step failed: ${JSON.stringify(result)}`);
  return result.output as Record<string, number | string>;
}

export interface LineRow {
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

export async function linesOf(planId: string): Promise<LineRow[]> {
  const res = await env.DB.prepare(
    `SELECT inventory_item_id, variant_id, shop_id, quantity, from_shop_id, to_shop_id, discount_percent, markdown_date, strategy, score, run_id
     FROM plan_items WHERE plan_id = ? ORDER BY line_key`,
  )
    .bind(planId)
    .all<LineRow>();
  return res.results;
}

/** The plan's counters and what its lines actually sum to: they must agree. */
export async function countersOf(planId: string) {
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
export async function world() {
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
export type World = Awaited<ReturnType<typeof world>>;

export const lineSummary = (w: World, lines: LineRow[]) => lines.map((l) => `${w.short(l.inventory_item_id)} ${l.quantity}`).sort();

export async function restockPlan(extra: Record<string, unknown> = {}) {
  return newPlan("restock", extra);
}
