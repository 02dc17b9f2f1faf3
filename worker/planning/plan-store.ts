import { and as both, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { planItems, plans } from "../db/schema";
import { batch, chunk, db, jsonList, prepare, sortUtf8, type Rows } from "../db/sql";
import { track } from "../lib/metrics";
import { newId } from "../lib/ids";
import type { Diff, HeldLine, Line, VariantPrice } from "./lines";
import { PlanItemSchema, PlanSchema, type Plan } from "./plan";
import type { PlanKind, PlanStatus } from "./plan";
import type { NewPlan } from "./port";

/** Plans and their lines in D1 (SPEC §9). */

type Row = typeof plans.$inferSelect;

function toPlan(row: Row): Plan {
  return PlanSchema.parse({
    id: row.id,
    kind: row.kind,
    name: row.name,
    status: row.status,
    deadline: row.deadline,
    shops: row.shops,
    item_count: row.itemCount,
    total_quantity: row.totalQuantity,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  });
}

export async function getPlan(d1: D1Database, id: string): Promise<Plan | undefined> {
  const rows = await db(d1).select().from(plans).where(eq(plans.id, id)).limit(1);
  return rows[0] ? toPlan(rows[0]) : undefined;
}

/**
 * The open plan of this kind and name, created when there is none. Safe under concurrency: the
 * insert is ignored when the partial unique index plans_open_kind_name already holds an open plan,
 * and the select in the same batch (one transaction) reads whichever plan won. `created` is true
 * for the step that inserted it, on every retry of that step too (`stepKey` is its idempotency key).
 */
export async function createOrGetPlan(
  d1: D1Database,
  input: NewPlan,
  lineage: { runId: string; stepKey: string },
  now: Date,
): Promise<{ plan: Plan; created: boolean }> {
  const d = db(d1);
  const at = now.toISOString();
  const results = await d.batch([
    d
      .insert(plans)
      .values({
        // The id sorts by the wall clock (lists page on it), whatever time the run says it is.
        id: newId("plan"),
        kind: input.kind,
        name: input.name,
        status: "open",
        deadline: input.deadline,
        // Sorted as SQLite orders text, so the same shops read the same however a definition lists them.
        shops: { mode: input.shops.mode, ids: sortUtf8(input.shops.ids) },
        createdByRun: lineage.runId,
        createdByStep: lineage.stepKey,
        createdAt: at,
        updatedAt: at,
      })
      .onConflictDoNothing(),
    d
      .select()
      .from(plans)
      .where(both(eq(plans.kind, input.kind), eq(plans.name, input.name), eq(plans.status, "open")))
      .limit(1),
  ]);
  track(results[0]);
  const row = results[1][0];
  if (!row) throw new Error("The open plan vanished between insert and read");
  return { plan: toPlan(row), created: row.createdByStep === lineage.stepKey };
}

export async function listPlans(
  d1: D1Database,
  opts: { kind?: PlanKind | undefined; status?: PlanStatus | undefined; limit: number; before?: string | undefined },
): Promise<Plan[]> {
  const rows = await db(d1)
    .select()
    .from(plans)
    .where(
      both(
        opts.kind ? eq(plans.kind, opts.kind) : undefined,
        opts.status ? eq(plans.status, opts.status) : undefined,
        opts.before ? lt(plans.id, opts.before) : undefined,
      ),
    )
    .orderBy(desc(plans.id))
    .limit(opts.limit);
  return rows.map(toPlan);
}

/** A plan's lines in key order (items by item id, then transfers by variant), after the key `after`. */
export async function listPlanItems(d1: D1Database, planId: string, opts: { limit: number; after?: string | undefined }) {
  const rows = await db(d1)
    .select()
    .from(planItems)
    .where(both(eq(planItems.planId, planId), opts.after !== undefined ? sql`${planItems.lineKey} > ${opts.after}` : undefined))
    .orderBy(planItems.lineKey)
    .limit(opts.limit);
  return rows.map((r) => ({
    key: r.lineKey,
    item: PlanItemSchema.parse({
      inventory_item_id: r.inventoryItemId,
      variant_id: r.variantId,
      shop_id: r.shopId,
      quantity: r.quantity,
      from_shop_id: r.fromShopId,
      to_shop_id: r.toShopId,
      discount_percent: r.discountPercent,
      markdown_date: r.markdownDate,
      strategy: r.strategy,
      score: r.score,
      run_id: r.runId,
      test: r.test,
    }),
  }));
}

/** Moves a plan to `to` when `from` is still its status; false when another change won. */
export async function setPlanStatus(d1: D1Database, id: string, from: PlanStatus, to: PlanStatus, now: Date): Promise<boolean> {
  const rows = await db(d1)
    .update(plans)
    .set({ status: to, updatedAt: now.toISOString() })
    .where(both(eq(plans.id, id), eq(plans.status, from)))
    .returning({ id: plans.id });
  return rows.length === 1;
}

// ---------------------------------------------------------------- what add_items_to_plan reads beside items

/** Price and cost of variants, falling back to their product's (SPEC §5). */
export function variantPricesStatement(d1: D1Database, variantIds: readonly string[]): D1PreparedStatement {
  return prepare(
    d1,
    sql`SELECT j.value AS id, coalesce(v.price, p.price) AS price, coalesce(v.cost, p.cost) AS cost
      FROM json_each(${jsonList(variantIds)}) j LEFT JOIN product_variants v ON v.id = j.value LEFT JOIN products p ON p.id = v.product_id`,
  );
}

export function parseVariantPrices(result: Rows): Map<string, VariantPrice> {
  const rows = z.array(z.object({ id: z.string(), price: z.number().nullable(), cost: z.number().nullable() })).parse(result.results);
  return new Map(rows.map((r) => [r.id, { price: r.price, cost: r.cost }]));
}

/**
 * Every transfer line the plan holds for these variants: per variant, the key range
 * [t␁variant␁, t␁variant␂) of lines.ts transferKey. CROSS JOIN keeps json_each outside: otherwise SQLite may scan all of the
 * plan's lines once per variant.
 */
export function heldTransfersStatement(d1: D1Database, planId: string, variantIds: readonly string[]): D1PreparedStatement {
  return prepare(
    d1,
    sql`SELECT l.line_key AS key, l.quantity AS quantity, l.from_shop_id AS from_shop_id, l.to_shop_id AS to_shop_id,
        l.discount_percent AS discount_percent, l.markdown_date AS markdown_date, l.strategy AS strategy, l.score AS score
      FROM json_each(${jsonList(variantIds)}) j CROSS JOIN plan_items l ON l.plan_id = ${planId}
        AND l.line_key >= ('t' || char(1) || j.value || char(1)) AND l.line_key < ('t' || char(1) || j.value || char(2))`,
  );
}

const HeldLineSchema = z.object({
  key: z.string(),
  quantity: z.int(),
  from_shop_id: z.string().nullable(),
  to_shop_id: z.string().nullable(),
  discount_percent: z.number().nullable(),
  markdown_date: z.string().nullable(),
  strategy: z.string().nullable().transform((s) => s ?? ""),
  score: z.number().nullable(),
});

export function parseHeldLines(result: Rows): HeldLine[] {
  return z.array(HeldLineSchema).parse(result.results);
}

// ---------------------------------------------------------------- writing lines

/** Rows per line upsert: each row is one bound JSON array, beside 7 shared parameters. */
export const LINES_PER_STATEMENT = 90;

const lineRow = (l: Line) =>
  JSON.stringify([
    l.key,
    l.inventory_item_id,
    l.variant_id,
    l.shop_id,
    l.quantity,
    l.from_shop_id,
    l.to_shop_id,
    l.discount_percent,
    l.markdown_date,
    l.strategy,
    l.score,
  ]);

export interface WriteLines {
  planId: string;
  /** The write token read with the lines the diff was computed from. */
  token: string;
  diff: Diff;
  runId: string;
  nodeId: string;
  /** Written by a test run: the lines are test data (the last writer of a line decides, like run_id). */
  test: boolean;
  now: Date;
}

/**
 * Writes a page's lines and moves the plan's counters, in one batch (one transaction), only if
 * nobody wrote lines of this plan since `token` was read and the plan is not closed. The first
 * statement swaps the token; every other statement runs only when the swap happened. Returns false
 * when another writer got there first (read the page again and recompute), and the number of
 * statements it sent.
 */
export async function writeLines(d1: D1Database, w: WriteLines): Promise<{ applied: boolean; statements: number }> {
  const fresh = crypto.randomUUID();
  const at = w.now.toISOString();
  const mine = sql`(SELECT write_token FROM plans WHERE id = ${w.planId}) = ${fresh}`;
  const statements = [
    prepare(
      d1,
      sql`UPDATE plans SET item_count = item_count + ${w.diff.itemDelta}, total_quantity = total_quantity + ${w.diff.quantityDelta},
        write_token = ${fresh}, updated_at = ${at}
        WHERE id = ${w.planId} AND write_token = ${w.token} AND status <> 'closed'`,
    ),
  ];
  for (const part of chunk(w.diff.writes, LINES_PER_STATEMENT)) {
    const values = sql.join(
      part.map((l) => sql`(${lineRow(l)})`),
      sql`, `,
    );
    statements.push(
      prepare(
        d1,
        sql`INSERT INTO plan_items (plan_id, line_key, inventory_item_id, variant_id, shop_id, quantity, from_shop_id, to_shop_id,
            discount_percent, markdown_date, strategy, score, run_id, node_id, test, created_at, updated_at)
          SELECT ${w.planId}, v.column1->>0, v.column1->>1, v.column1->>2, v.column1->>3, v.column1->>4, v.column1->>5, v.column1->>6,
            v.column1->>7, v.column1->>8, v.column1->>9, v.column1->>10, ${w.runId}, ${w.nodeId}, ${w.test ? 1 : 0}, ${at}, ${at}
          FROM (VALUES ${values}) v
          WHERE ${mine}
          ON CONFLICT (plan_id, line_key) DO UPDATE SET inventory_item_id = excluded.inventory_item_id, variant_id = excluded.variant_id,
            shop_id = excluded.shop_id, quantity = excluded.quantity, from_shop_id = excluded.from_shop_id, to_shop_id = excluded.to_shop_id,
            discount_percent = excluded.discount_percent, markdown_date = excluded.markdown_date, strategy = excluded.strategy,
            score = excluded.score, run_id = excluded.run_id, node_id = excluded.node_id, test = excluded.test, updated_at = excluded.updated_at`,
      ),
    );
  }
  for (const keys of chunk(w.diff.removes, 500)) {
    statements.push(
      prepare(
        d1,
        sql`DELETE FROM plan_items WHERE plan_id = ${w.planId} AND line_key IN (SELECT value FROM json_each(${jsonList(keys)})) AND ${mine}`,
      ),
    );
  }
  const results = await batch(d1, statements);
  return { applied: results[0]?.meta.changes === 1, statements: statements.length };
}
