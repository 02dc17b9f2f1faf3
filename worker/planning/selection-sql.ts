import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { and, jsonColumn, jsonList } from "../db/sql";
import type { TagFilter } from "../definition/common";
import type { Level } from "./plan";

/*
 * The SQL a selection page is made of (selection.ts walks the pages): which items a selection
 * keeps, and the columns each item row carries — the item, its recommendation and the plan line
 * it would update — read in the same statement so that a candidate costs about one row read.
 */

export interface Selection {
  level: Level;
  /** Ids at `level`, sorted and unique; null when ids do not narrow the selection. */
  ids: string[] | null;
  /** An entity above `level` (the trigger's) that every selected item descends from. */
  root: { level: Level; id: string } | null;
  /** Tag filter on the entities at `level`. */
  tags: TagFilter;
  /** Shops whose items are kept; null keeps every shop. */
  shops: string[] | null;
  /** Keep items with on_hand below this (the size scope); null keeps every size. */
  below: number | null;
}

/** What each item row carries besides the item. */
export interface Probes {
  planId: string;
  /** Read the item's recommendation (the highest-scored one): for every item, or only for items short of target. */
  rec: "none" | "all" | "deficit";
  /** Read the plan line the item would update: keyed by the item, or a transfer from `from` to the item's shop. */
  line: { type: "item" } | { type: "transfer"; from: string } | null;
  /** Read variants' price and cost where the walk reads variants anyway (markdowns need them). */
  prices: boolean;
}

const Num = z.number();
const NumOrNull = z.number().nullable();
export const ItemRowSchema = z.object({
  id: z.string(),
  variant_id: z.string(),
  shop_id: z.string(),
  on_hand: Num,
  on_order: Num,
  target: Num,
  rec: jsonColumn(z.tuple([Num, NumOrNull, NumOrNull])).nullish(),
  line: jsonColumn(
    z.tuple([Num, z.string().nullable(), z.string().nullable(), NumOrNull, z.string().nullable(), z.string().nullable(), NumOrNull]),
  ).nullish(),
});
export type ItemRow = z.infer<typeof ItemRowSchema>;

const unique = (values: readonly string[]) => [...new Set(values)];

/** Entities (by an id expression) that pass a tag filter; undefined when the filter is empty. */
export function tagPredicate(entity: Level, id: SQL, filter: TagFilter): SQL | undefined {
  const parts: SQL[] = [];
  const include = unique(filter.include);
  if (include.length > 0) {
    const tagged = sql`FROM entity_tags g WHERE g.entity = ${entity} AND g.tag IN (SELECT value FROM json_each(${jsonList(include)})) AND g.entity_id = ${id}`;
    parts.push(
      filter.match === "all" && include.length > 1 ? sql`(SELECT count(*) ${tagged}) = ${include.length}` : sql`EXISTS (SELECT 1 ${tagged})`,
    );
  }
  const exclude = unique(filter.exclude);
  if (exclude.length > 0) {
    parts.push(
      sql`NOT EXISTS (SELECT 1 FROM entity_tags x WHERE x.entity = ${entity} AND x.tag IN (SELECT value FROM json_each(${jsonList(exclude)})) AND x.entity_id = ${id})`,
    );
  }
  return parts.length > 0 ? and(parts) : undefined;
}

/** Variants (by an id expression) under a product or a brand. */
export function variantUnder(id: SQL, root: NonNullable<Selection["root"]>): SQL {
  switch (root.level) {
    case "product_variant":
      return sql`${id} = ${root.id}`;
    case "product":
      return sql`EXISTS (SELECT 1 FROM product_variants av WHERE av.id = ${id} AND av.product_id = ${root.id})`;
    default:
      return sql`EXISTS (SELECT 1 FROM product_variants av JOIN products ap ON ap.id = av.product_id WHERE av.id = ${id} AND ap.brand_id = ${root.id})`;
  }
}

export const productUnder = (id: SQL, brandId: string) => sql`EXISTS (SELECT 1 FROM products ap WHERE ap.id = ${id} AND ap.brand_id = ${brandId})`;

/** What every selected item (alias `i`) meets: live, its own tags at item level, the shop and size scopes. */
export function itemPredicates(sel: Selection): SQL {
  return and([
    sql`i.deleted = 0`,
    sel.level === "inventory_item" ? tagPredicate("inventory_item", sql`i.id`, sel.tags) : undefined,
    sel.shops ? sql`i.shop_id IN (SELECT value FROM json_each(${jsonList(sel.shops)}))` : undefined,
    sel.below !== null ? sql`i.on_hand < ${sel.below}` : undefined,
  ]);
}

/** The columns of an item row (ItemRowSchema): the item, then what the probes ask for. */
export function itemColumns(p: Probes): SQL {
  const cols = [sql`i.id AS id, i.variant_id AS variant_id, i.shop_id AS shop_id, i.on_hand AS on_hand, i.on_order AS on_order, i.target AS target`];
  if (p.rec !== "none") {
    // The highest-scored recommendation (ties: the greatest id), read backwards off recommendations_item.
    const rec = sql`(SELECT json_array(r.score, r.quantity, r.discount_percent) FROM recommendations r WHERE r.inventory_item_id = i.id AND r.deleted = 0 ORDER BY r.score DESC, r.id DESC LIMIT 1)`;
    // CASE evaluates the subquery only when its branch is taken: no row read for the others. The
    // condition is strategies.ts deficitOf > 0.
    cols.push(p.rec === "all" ? sql`${rec} AS rec` : sql`CASE WHEN i.target - i.on_hand - i.on_order > 0 THEN ${rec} END AS rec`);
  }
  if (p.line) {
    // Same keys as lines.ts itemKey / transferKey.
    const key =
      p.line.type === "item"
        ? sql`'i' || char(1) || i.id`
        : sql`'t' || char(1) || i.variant_id || char(1) || ${p.line.from} || char(1) || i.shop_id`;
    cols.push(
      sql`(SELECT json_array(l.quantity, l.from_shop_id, l.to_shop_id, l.discount_percent, l.markdown_date, l.strategy, l.score) FROM plan_items l WHERE l.plan_id = ${p.planId} AND l.line_key = ${key}) AS line`,
    );
  }
  return sql.join(cols, sql`, `);
}

/** Items in variant order, so that a page can end on a whole variant. */
export const ITEM_ORDER = sql`ORDER BY i.variant_id, i.shop_id, i.id`;

/**
 * Pending back-in-stock subscriptions of these variants, per variant and shop (shop null: a
 * subscription for any shop), for the `waitlist` quantity strategy. One statement per page: each
 * variant is a seek on subscriptions_variant_status (variant_id, status), so only the variant's
 * pending subscriptions are read, once each, however many shops the page holds. CROSS JOIN keeps
 * json_each outside, as in plan-store.ts heldTransfersStatement.
 */
export function waitlistCounts(variantIds: readonly string[]): SQL {
  return sql`SELECT s.variant_id AS variant_id, s.shop_id AS shop_id, count(*) AS n
    FROM json_each(${jsonList(variantIds)}) j CROSS JOIN subscriptions s ON s.variant_id = j.value AND s.status = 'pending'
    WHERE s.deleted = 0 GROUP BY s.variant_id, s.shop_id`;
}

const WaitlistRowSchema = z.object({ variant_id: z.string(), shop_id: z.string().nullable(), n: z.int() });

/** Pending subscriptions by variant, then shop ("" for those without a shop). */
export type Waitlist = Map<string, Map<string, number>>;

export function parseWaitlist(rows: unknown[]): Waitlist {
  const out: Waitlist = new Map();
  for (const r of z.array(WaitlistRowSchema).parse(rows)) {
    const shops = out.get(r.variant_id) ?? new Map<string, number>();
    shops.set(r.shop_id ?? "", r.n);
    out.set(r.variant_id, shops);
  }
  return out;
}

/**
 * Who waits for an item (SPEC §12): its variant's pending subscriptions in its shop, plus those in
 * no shop — a customer who waits for the size anywhere counts for every shop the plan restocks.
 */
export function waitingFor(waitlist: Waitlist, variantId: string, shopId: string): number {
  const shops = waitlist.get(variantId);
  if (!shops) return 0;
  // Shop ids are never empty (worker/entities/registry.ts), so "" cannot collide with one.
  return (shops.get(shopId) ?? 0) + (shops.get("") ?? 0);
}
