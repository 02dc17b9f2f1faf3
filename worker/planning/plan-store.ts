import { and as both, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { planItems, plans } from "../db/schema";
import { batch, chunk, db, jsonList, prepare, sortUtf8, type Rows } from "../db/sql";
import { track } from "../lib/metrics";
import { newId } from "../lib/ids";
import type { Diff, HeldLine, Line, VariantPrice } from "./lines";
import { PlanItemSchema, PlanSchema, type Plan } from "./plan";
import type { PlanKind, PlanStatus } from "./plan";
import { EDITABLE, RUN_WRITABLE } from "./plan-status";
import { lineIdOf, PlanLineSchema, PlanShopTotalsSchema, type PlanAmounts, type PlanLine, type PlanTotals } from "./plan-view";
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
    test: row.test,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  });
}

export async function getPlan(d1: D1Database, id: string): Promise<Plan | undefined> {
  const rows = await db(d1).select().from(plans).where(eq(plans.id, id)).limit(1);
  return rows[0] ? toPlan(rows[0]) : undefined;
}

/**
 * The open plan of this kind, name and test mark, created when there is none. Safe under
 * concurrency: the insert is ignored when the partial unique index plans_open_kind_name already
 * holds an open plan, and the select in the same batch (one transaction) reads whichever plan won.
 * `created` is true for the step that inserted it, on every retry of that step too (`stepKey` is
 * its idempotency key). A test run's plan is a test plan: test runs and real runs never share one.
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
        test: input.test,
        createdAt: at,
        updatedAt: at,
      })
      .onConflictDoNothing(),
    d
      .select()
      .from(plans)
      .where(both(eq(plans.kind, input.kind), eq(plans.name, input.name), eq(plans.test, input.test), eq(plans.status, "open")))
      .limit(1),
  ]);
  track(results[0]);
  const row = results[1][0];
  if (!row) throw new Error("The open plan vanished between insert and read");
  return { plan: toPlan(row), created: row.createdByStep === lineage.stepKey };
}

export async function listPlans(
  d1: D1Database,
  opts: { kind?: PlanKind | undefined; status?: PlanStatus | undefined; test?: boolean | undefined; limit: number; before?: string | undefined },
): Promise<Plan[]> {
  const rows = await db(d1)
    .select()
    .from(plans)
    .where(
      both(
        opts.kind ? eq(plans.kind, opts.kind) : undefined,
        opts.status ? eq(plans.status, opts.status) : undefined,
        opts.test !== undefined ? eq(plans.test, opts.test) : undefined,
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

// ---------------------------------------------------------------- what a planner reads and edits (issue 14)

/**
 * A line's unit cost and price and its values, over the joins of LINE_JOINS (`l` the line, `v`
 * its variant, `p` its product). Money is rounded to cents per line; totals add these.
 */
const UNIT_COST = sql.raw("coalesce(v.cost, p.cost)");
const UNIT_PRICE = sql.raw("coalesce(v.price, p.price)");
const COST_VALUE = sql.raw("round(l.quantity * coalesce(v.cost, p.cost), 2)");
const RETAIL_VALUE = sql.raw("round(l.quantity * coalesce(v.price, p.price) * (1 - coalesce(l.discount_percent, 0) / 100.0), 2)");
const LINE_JOINS = sql.raw(`LEFT JOIN product_variants v ON v.id = l.variant_id
  LEFT JOIN products p ON p.id = v.product_id`);

/** A line as D1 answers it: the planner's line (plan-view.ts) keyed by its stored key, `test` as 0 or 1. */
const LineRowSchema = PlanLineSchema.omit({ line_id: true }).extend({
  key: z.string(),
  test: z.union([z.literal(0), z.literal(1)]).transform((t) => t === 1),
});

export interface LineFilter {
  /** Words, each in the product, brand, size, SKU, a shop's name or any id or strategy of the line (case-insensitive for ASCII). */
  q?: string | undefined;
  /** Lines of this shop: receiving or sending. */
  shop_id?: string | undefined;
  test?: boolean | undefined;
}

/** What the words of `q` are looked for in. */
const HAYSTACK = sql.raw(`(coalesce(p.name, '') || ' ' || coalesce(b.name, '') || ' ' || coalesce(v.size, '') || ' ' || coalesce(v.sku, '') || ' ' ||
  coalesce(s.name, '') || ' ' || coalesce(fs.name, '') || ' ' || coalesce(l.inventory_item_id, '') || ' ' || coalesce(l.variant_id, '') || ' ' ||
  coalesce(l.shop_id, '') || ' ' || coalesce(l.from_shop_id, '') || ' ' || coalesce(l.strategy, '') || ' ' || coalesce(l.run_id, ''))`);

/** `%text%` for LIKE, with its wildcards taken literally (ESCAPE '\\'). */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** At most this many words of `q` are looked for (each binds one parameter). */
export const MAX_QUERY_WORDS = 8;

function lineFilter(f: LineFilter) {
  const parts = [];
  if (f.test !== undefined) parts.push(sql`l.test = ${f.test ? 1 : 0}`);
  if (f.shop_id !== undefined) parts.push(sql`(l.shop_id = ${f.shop_id} OR l.from_shop_id = ${f.shop_id})`);
  for (const word of (f.q ?? "").trim().split(/\s+/).filter(Boolean).slice(0, MAX_QUERY_WORDS)) {
    parts.push(sql`${HAYSTACK} LIKE ${likePattern(word)} ESCAPE '\\'`);
  }
  return parts;
}

/**
 * A plan's lines as a planner reads them, in key order after `after`: each with its product,
 * brand, size, shop names, the item's stock, and its values, joined from the entity mirror in one
 * statement (a line whose entities the mirror lacks keeps nulls).
 */
export async function listPlanLines(
  d1: D1Database,
  planId: string,
  opts: LineFilter & { limit: number; after?: string | undefined; key?: string | undefined },
): Promise<PlanLine[]> {
  const where = sql.join(
    [
      sql`l.plan_id = ${planId}`,
      ...(opts.key !== undefined ? [sql`l.line_key = ${opts.key}`] : []),
      ...(opts.after !== undefined ? [sql`l.line_key > ${opts.after}`] : []),
      ...lineFilter(opts),
    ],
    sql` AND `,
  );
  const [result] = await batch(d1, [
    prepare(
      d1,
      sql`SELECT l.line_key AS key, l.inventory_item_id, l.variant_id, l.shop_id, l.quantity, l.from_shop_id, l.to_shop_id,
          l.discount_percent, l.markdown_date, l.strategy, l.score, l.run_id, l.node_id, l.test, l.edited_at,
          v.product_id AS product_id, p.name AS product_name, p.brand_id AS brand_id, b.name AS brand_name, v.size AS size, v.sku AS sku,
          s.name AS shop_name, fs.name AS from_shop_name, i.on_hand AS on_hand, i.on_order AS on_order, i.target AS target,
          (SELECT fi.on_hand FROM inventory_items fi WHERE l.from_shop_id IS NOT NULL AND fi.variant_id = l.variant_id AND fi.shop_id = l.from_shop_id LIMIT 1)
            AS from_on_hand,
          ${UNIT_COST} AS unit_cost, ${UNIT_PRICE} AS unit_price, ${COST_VALUE} AS cost_value, ${RETAIL_VALUE} AS retail_value
        FROM plan_items l ${LINE_JOINS}
          LEFT JOIN brands b ON b.id = p.brand_id
          LEFT JOIN inventory_items i ON i.id = l.inventory_item_id
          LEFT JOIN shops s ON s.id = l.shop_id
          LEFT JOIN shops fs ON fs.id = l.from_shop_id
        WHERE ${where}
        ORDER BY l.line_key LIMIT ${opts.limit}`,
    ),
  ]);
  return z
    .array(LineRowSchema)
    .parse(result!.results)
    .map(({ key, ...line }): PlanLine => ({ line_id: lineIdOf(key), ...line }));
}

/** One line as a planner reads it, or undefined when the plan has no line with this key. */
export async function getPlanLine(d1: D1Database, planId: string, key: string): Promise<PlanLine | undefined> {
  return (await listPlanLines(d1, planId, { limit: 1, key }))[0];
}

const zero = (): PlanAmounts => ({ lines: 0, units: 0, cost_value: 0, retail_value: 0, unpriced_lines: 0, test_lines: 0 });

/** A plan's totals and its totals per shop (the receiving shop of a transfer), most units first; aggregated in D1. */
export async function planTotals(d1: D1Database, planId: string): Promise<PlanTotals> {
  const [result] = await batch(d1, [
    prepare(
      d1,
      sql`SELECT l.shop_id AS shop_id, s.name AS shop_name, count(*) AS lines, coalesce(sum(l.quantity), 0) AS units,
          round(coalesce(sum(${COST_VALUE}), 0), 2) AS cost_value, round(coalesce(sum(${RETAIL_VALUE}), 0), 2) AS retail_value,
          sum(CASE WHEN ${UNIT_COST} IS NULL OR ${UNIT_PRICE} IS NULL THEN 1 ELSE 0 END) AS unpriced_lines,
          sum(l.test) AS test_lines
        FROM plan_items l ${LINE_JOINS} LEFT JOIN shops s ON s.id = l.shop_id
        WHERE l.plan_id = ${planId}
        GROUP BY l.shop_id
        ORDER BY units DESC, l.shop_id`,
    ),
  ]);
  const shops = z.array(PlanShopTotalsSchema).parse(result!.results);
  const totals = zero();
  for (const s of shops) {
    totals.lines += s.lines;
    totals.units += s.units;
    totals.cost_value += s.cost_value;
    totals.retail_value += s.retail_value;
    totals.unpriced_lines += s.unpriced_lines;
    totals.test_lines += s.test_lines;
  }
  const cents = (n: number) => Math.round(n * 100) / 100;
  return { plan_id: planId, totals: { ...totals, cost_value: cents(totals.cost_value), retail_value: cents(totals.retail_value) }, shops };
}

export type LineEdit = { ok: true; changed: boolean } | { ok: false; reason: "no_line" | "not_editable" };

/**
 * Sets a line's quantity by hand and moves the plan's total with it, in one batch: the first
 * statement moves the total and swaps the write token only while the plan is editable and holds
 * the line; the second writes the line only when that swap happened. Swapping the token makes an
 * add_items_to_plan page that read the old quantity recompute (writeLines), so the counters stay
 * exact. The same quantity again changes nothing.
 */
export async function setLineQuantity(d1: D1Database, planId: string, key: string, quantity: number, now: Date): Promise<LineEdit> {
  const fresh = crypto.randomUUID();
  const at = now.toISOString();
  const line = sql`(SELECT quantity FROM plan_items WHERE plan_id = ${planId} AND line_key = ${key})`;
  const results = await batch(d1, [
    prepare(
      d1,
      sql`UPDATE plans SET total_quantity = total_quantity + (${quantity} - ${line}), write_token = ${fresh}, updated_at = ${at}
        WHERE id = ${planId} AND status IN (SELECT value FROM json_each(${jsonList(EDITABLE)})) AND ${line} IS NOT NULL AND ${line} <> ${quantity}`,
    ),
    prepare(
      d1,
      sql`UPDATE plan_items SET quantity = ${quantity}, edited_at = ${at}, updated_at = ${at}
        WHERE plan_id = ${planId} AND line_key = ${key} AND (SELECT write_token FROM plans WHERE id = ${planId}) = ${fresh}`,
    ),
    prepare(
      d1,
      sql`SELECT p.status AS status, (SELECT quantity FROM plan_items WHERE plan_id = ${planId} AND line_key = ${key}) AS quantity
        FROM plans p WHERE p.id = ${planId}`,
    ),
  ]);
  if (results[0]!.meta.changes === 1) return { ok: true, changed: true };
  // Nothing moved: say why from what the same transaction read afterwards.
  const after = z.object({ status: z.string(), quantity: z.int().nullable() }).array().parse(results[2]!.results)[0];
  if (!after || after.quantity === null) return { ok: false, reason: "no_line" };
  if (!(EDITABLE as readonly string[]).includes(after.status)) return { ok: false, reason: "not_editable" };
  return { ok: true, changed: false };
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
 * nobody wrote lines of this plan since `token` was read and the plan still takes lines from runs
 * (draft or open). A line written again loses its planner's edit mark (`edited_at`). The first
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
        WHERE id = ${w.planId} AND write_token = ${w.token} AND status IN (SELECT value FROM json_each(${jsonList(RUN_WRITABLE)}))`,
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
            score = excluded.score, run_id = excluded.run_id, node_id = excluded.node_id, test = excluded.test, edited_at = NULL,
            updated_at = excluded.updated_at`,
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
