import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { and, batch, compareUtf8, jsonList, prepare, sortUtf8, type Rows } from "../db/sql";
import { LEVELS, type Level } from "./plan";
import { ITEM_ORDER, itemColumns, itemPredicates, ItemRowSchema, productUnder, tagPredicate, variantUnder, type ItemRow, type Probes, type Selection } from "./selection-sql";

/**
 * Which inventory items add_items_to_plan considers, read from D1 in pages (SPEC §9: "a brand
 * selects its products' variants' items, and so on").
 *
 * Every page holds whole variants — all the selected shops of each of its variants — because
 * score matching balances a variant across its shops. A walk starts at the level the filter (or
 * the trigger) names and goes down the indexes: listed ids as sorted slices; a brand through its
 * products in id order (products_brand); products through their variants in (product, variant)
 * order (product_variants_product), a product with many variants spanning pages; variants through
 * their items (inventory_items_variant, where a shop scope is a seek per shop). Each page reads its
 * items with their recommendation and the plan line they would update in one statement, so a
 * candidate costs about one row read, plus one per recommendation and per line already held.
 */

export const levelRank = (level: Level) => LEVELS.indexOf(level);

export const CursorSchema = z.object({ b: z.string().optional(), p: z.string().optional(), v: z.string().optional() });
export type Cursor = z.infer<typeof CursorSchema>;

const PlanStateSchema = z.object({ write_token: z.string(), status: z.string() });
export type PlanState = z.infer<typeof PlanStateSchema>;

export interface Page {
  items: ItemRow[];
  /** Price and cost of the page's variants, when the walk read them anyway (product-rooted walks). */
  prices?: Map<string, { price: number | null; cost: number | null }>;
  /** Where the next page starts; null when this was the last. */
  next: Cursor | null;
  /** The plan as it was when the page was read (same D1 transaction). */
  plan: PlanState | undefined;
  /** Roots (ids, products, variants) the page covered, to size the next page. */
  units: number;
}

/** Products whose variants one page may span. */
const MAX_PRODUCTS_PER_PAGE = 200;

// ---------------------------------------------------------------- drivers

/** Where a product-rooted walk takes its products from. */
type ProductSource =
  /** Listed product ids (sorted), narrowed by `where` on each id. */
  | { from: "list"; ids: string[]; where: (id: SQL) => SQL }
  /** Every live product, in id order. */
  | { from: "scan" }
  /** The products of the brand in progress (cursor.b), in id order. */
  | { from: "brand" };

/** How a selection is walked: by sorted id slices, or by scanning a table in id order. */
type Driver =
  | { type: "variant_ids"; ids: string[]; where: (id: SQL) => SQL }
  | { type: "variants_scan" }
  | { type: "products"; source: ProductSource }
  | { type: "brands"; ids: string[] | null }
  | { type: "item_ids"; ids: string[] }
  | { type: "items_scan" };

function driverFor(sel: Selection): Driver {
  const { level, ids, root, tags } = sel;
  const rootAbove = root && levelRank(root.level) > levelRank(level) ? root : null;
  const byRoot = (): Driver | undefined => {
    if (!rootAbove) return undefined;
    if (rootAbove.level === "product_variant") return { type: "variant_ids", ids: [rootAbove.id], where: () => sql`1` };
    if (rootAbove.level === "product") return { type: "products", source: { from: "list", ids: [rootAbove.id], where: () => sql`1` } };
    return { type: "brands", ids: [rootAbove.id] };
  };
  switch (level) {
    case "inventory_item":
      return ids ? { type: "item_ids", ids } : (byRoot() ?? { type: "items_scan" });
    case "product_variant":
      if (ids) {
        return { type: "variant_ids", ids, where: (id) => and([tagPredicate(level, id, tags), rootAbove ? variantUnder(id, rootAbove) : undefined]) };
      }
      return byRoot() ?? { type: "variants_scan" };
    case "product":
      if (ids) {
        const where = (id: SQL) => and([tagPredicate(level, id, tags), rootAbove ? productUnder(id, rootAbove.id) : undefined]);
        return { type: "products", source: { from: "list", ids, where } };
      }
      return byRoot() ?? { type: "products", source: { from: "scan" } };
    case "brand":
      return { type: "brands", ids };
  }
}

/** The first index whose id sorts after `after` (or at it, when `inclusive`), as SQLite's BINARY collation sorts. */
function startAfter(ids: readonly string[], after: string | undefined, inclusive = false): number {
  if (after === undefined) return 0;
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compareUtf8(ids[mid]!, after);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Reads a selection page by page. `n` is how many roots (ids, products or variants) a page covers,
 * `size` the items a page should hold about; callers adapt `n` from what pages hold.
 */
export class Pager {
  private readonly driver: Driver;
  /** Filled on first use; at most 10,000 ids (the schema's cap) or the brands of the mirror. */
  private brandList: string[] | undefined;
  private itemGroups: { variant: string; ids: string[] }[] | undefined;

  constructor(
    private readonly d1: D1Database,
    private readonly sel: Selection,
    private readonly probes: Probes,
  ) {
    this.driver = driverFor(sel);
  }

  /** Statements this pager ran (for the invocation's budget). */
  statements = 0;
  /** How many products the last variant window spanned, to size the next product batch. */
  private productsPerWindow: number | undefined;

  private async run(statements: D1PreparedStatement[]): Promise<Rows[]> {
    this.statements += statements.length;
    return batch(this.d1, statements);
  }

  /** Items of a page, read with the plan's state in one transaction. */
  private async items(query: SQL): Promise<{ items: ItemRow[]; plan: PlanState | undefined }> {
    const [planRes, itemsRes] = await this.run([
      prepare(this.d1, sql`SELECT write_token, status FROM plans WHERE id = ${this.probes.planId}`),
      prepare(this.d1, query),
    ]);
    const planRow = planRes!.results[0];
    return {
      plan: planRow === undefined ? undefined : PlanStateSchema.parse(planRow),
      items: z.array(ItemRowSchema).parse(itemsRes!.results),
    };
  }

  private async ids(query: SQL): Promise<string[]> {
    const [res] = await this.run([prepare(this.d1, query)]);
    return z.array(z.object({ id: z.string() })).parse(res!.results).map((r) => r.id);
  }

  private ofVariants(variantIds: string[], where: (id: SQL) => SQL = () => sql`1`): SQL {
    return sql`SELECT ${itemColumns(this.probes)} FROM inventory_items i
      WHERE i.variant_id IN (SELECT j.value FROM json_each(${jsonList(variantIds)}) j WHERE ${where(sql`j.value`)})
      AND ${itemPredicates(this.sel)} ${ITEM_ORDER}`;
  }

  async page(cursor: Cursor | null, n: number, size: number): Promise<Page> {
    const d = this.driver;
    const sel = this.sel;
    switch (d.type) {
      case "variant_ids": {
        const start = startAfter(d.ids, cursor?.v);
        const slice = d.ids.slice(start, start + n);
        const last = slice.at(-1);
        const next = start + n < d.ids.length && last !== undefined ? { v: last } : null;
        if (slice.length === 0) return { items: [], next: null, plan: undefined, units: 0 };
        return { ...(await this.items(this.ofVariants(slice, d.where))), next, units: slice.length };
      }
      case "variants_scan": {
        const window = await this.ids(sql`SELECT v.id AS id FROM product_variants v
          WHERE ${and([sql`v.deleted = 0`, sql`v.id > ${cursor?.v ?? ""}`, tagPredicate("product_variant", sql`v.id`, sel.tags)])}
          ORDER BY v.id LIMIT ${n}`);
        const next = window.length === n ? { v: window.at(-1)! } : null;
        if (window.length === 0) return { items: [], next: null, plan: undefined, units: 0 };
        return { ...(await this.items(this.ofVariants(window))), next, units: window.length };
      }
      case "products":
        return this.productPage(d.source, undefined, cursor, n, () => null);
      case "brands": {
        const brands = await this.brands(d.ids);
        // The brand in progress, or the first after it should it have left the selection meanwhile.
        const at = cursor?.b === undefined ? 0 : brands.findIndex((id) => compareUtf8(id, cursor.b!) >= 0);
        const brand = at < 0 ? undefined : brands[at];
        if (brand === undefined) return { items: [], next: null, plan: undefined, units: 0 };
        const within = brand === cursor?.b ? cursor : null;
        const following = brands[at + 1];
        return this.productPage({ from: "brand" }, brand, within, n, () => (following === undefined ? null : { b: following }));
      }
      case "item_ids": {
        const groups = await this.itemIdGroups(d.ids);
        const start = cursor?.v === undefined ? 0 : groups.findIndex((g) => compareUtf8(g.variant, cursor.v!) > 0);
        if (start < 0 || start >= groups.length) return { items: [], next: null, plan: undefined, units: 0 };
        const ids: string[] = [];
        let end = start;
        while (end < groups.length && (ids.length === 0 || ids.length + groups[end]!.ids.length <= size)) ids.push(...groups[end++]!.ids);
        const next = end < groups.length ? { v: groups[end - 1]!.variant } : null;
        const query = sql`SELECT ${itemColumns(this.probes)} FROM inventory_items i
          WHERE i.id IN (SELECT value FROM json_each(${jsonList(ids)})) AND ${itemPredicates(sel)} ${ITEM_ORDER}`;
        return { ...(await this.items(query)), next, units: end - start };
      }
      case "items_scan": {
        const query = (whereVariant: SQL, limit: number | undefined) =>
          sql`SELECT ${itemColumns(this.probes)} FROM inventory_items i WHERE ${whereVariant} AND ${itemPredicates(sel)} ${ITEM_ORDER}${
            limit === undefined ? sql`` : sql` LIMIT ${limit}`
          }`;
        const first = await this.items(query(sql`i.variant_id > ${cursor?.v ?? ""}`, size));
        if (first.items.length < size) return { ...first, next: null, units: first.items.length };
        const lastVariant = first.items.at(-1)!.variant_id;
        const kept = first.items.filter((i) => i.variant_id !== lastVariant);
        if (kept.length > 0) {
          // The last variant may go on past the limit: the next page reads it whole.
          return { items: kept, plan: first.plan, next: { v: kept.at(-1)!.variant_id }, units: kept.length };
        }
        // One variant fills the page: read all of its items at once.
        const whole = await this.items(query(sql`i.variant_id = ${lastVariant}`, undefined));
        return { ...whole, next: { v: lastVariant }, units: whole.items.length };
      }
    }
  }

  /**
   * A page of the variants of a run of products, in (product, variant) order: a product with many
   * variants spans pages (cursor `{p, v}` resumes inside it; `{p}` alone resumes after it).
   * `exhausted` says where to go once the source has no products left.
   */
  private async productPage(
    source: ProductSource,
    brand: string | undefined,
    cursor: Cursor | null,
    n: number,
    exhausted: () => Cursor | null,
  ): Promise<Page> {
    // Products to look into: as many as the last window spanned (plus slack), never more than n.
    const k = Math.max(1, Math.min(n, MAX_PRODUCTS_PER_PAGE, this.productsPerWindow ?? n));
    const inside = cursor?.p !== undefined && cursor.v !== undefined;
    const products = await this.products(source, brand, cursor?.p, inside, k);
    const tag = <T extends Cursor>(c: T): Cursor => (brand === undefined ? c : { b: brand, ...c });
    if (products.length === 0) return { items: [], next: exhausted(), plan: undefined, units: 0 };
    const where = source.from === "list" ? source.where : () => sql`1`;
    const variantTags = this.sel.level === "product_variant" ? tagPredicate("product_variant", sql`v.id`, this.sel.tags) : undefined;
    const [p, v] = inside ? [cursor.p!, cursor.v!] : ["", ""];
    // Price and cost come along (one more row per variant) when markdowns need them.
    const price = this.probes.prices
      ? sql`, coalesce(v.price, pp.price) AS price, coalesce(v.cost, pp.cost) AS cost FROM product_variants v LEFT JOIN products pp ON pp.id = v.product_id`
      : sql`, NULL AS price, NULL AS cost FROM product_variants v`;
    const [res] = await this.run([
      prepare(
        this.d1,
        sql`SELECT v.id AS id, v.product_id AS product_id ${price}
          WHERE v.product_id IN (SELECT j.value FROM json_each(${jsonList(products)}) j WHERE ${where(sql`j.value`)})
          AND ${and([sql`v.deleted = 0`, variantTags])} AND (v.product_id > ${p} OR (v.product_id = ${p} AND v.id > ${v}))
          ORDER BY v.product_id, v.id LIMIT ${n}`,
      ),
    ]);
    const window = z
      .array(z.object({ id: z.string(), product_id: z.string(), price: z.number().nullable(), cost: z.number().nullable() }))
      .parse(res!.results);
    if (window.length > 0) this.productsPerWindow = new Set(window.map((w) => w.product_id)).size + 2;
    const last = window.at(-1);
    const next =
      window.length === n && last
        ? tag({ p: last.product_id, v: last.id })
        : products.length === k
          ? tag({ p: products.at(-1)! })
          : exhausted();
    if (window.length === 0) return { items: [], next, plan: undefined, units: 0 };
    const prices = this.probes.prices ? new Map(window.map((w) => [w.id, { price: w.price, cost: w.cost }])) : undefined;
    return { ...(await this.items(this.ofVariants(window.map((w) => w.id)))), prices, next, units: window.length };
  }

  /** Up to `k` products of a source from `from` on (including it when resuming inside it). */
  private async products(source: ProductSource, brand: string | undefined, from: string | undefined, including: boolean, k: number): Promise<string[]> {
    if (source.from === "list") {
      const start = startAfter(source.ids, from, including);
      return source.ids.slice(start, start + k);
    }
    const after = from === undefined ? sql`1` : including ? sql`p.id >= ${from}` : sql`p.id > ${from}`;
    const productTags = this.sel.level === "product" ? tagPredicate("product", sql`p.id`, this.sel.tags) : undefined;
    return this.ids(sql`SELECT p.id AS id FROM products p
      WHERE ${and([brand === undefined ? undefined : sql`p.brand_id = ${brand}`, sql`p.deleted = 0`, after, productTags])}
      ORDER BY p.id LIMIT ${k}`);
  }

  /** The brands walked, in id order; the tag filter applies here only when it names brands. */
  private async brands(ids: string[] | null): Promise<string[]> {
    if (this.brandList) return this.brandList;
    const tags = this.sel.level === "brand" ? tagPredicate("brand", sql`b.id`, this.sel.tags) : undefined;
    if (ids && !tags) {
      this.brandList = ids;
    } else {
      this.brandList = await this.ids(sql`SELECT b.id AS id FROM brands b
        WHERE ${and([sql`b.deleted = 0`, ids ? sql`b.id IN (SELECT value FROM json_each(${jsonList(ids)}))` : undefined, tags])}
        ORDER BY b.id`);
    }
    return this.brandList;
  }

  /** The listed items grouped by variant (in variant order), read once per invocation. */
  private async itemIdGroups(ids: string[]): Promise<{ variant: string; ids: string[] }[]> {
    if (this.itemGroups) return this.itemGroups;
    const root = this.sel.root;
    const rows: { id: string; variant_id: string }[] = [];
    for (let i = 0; i < ids.length; i += 5000) {
      const [res] = await this.run([
        prepare(
          this.d1,
          sql`SELECT i.id AS id, i.variant_id AS variant_id FROM inventory_items i
            WHERE i.id IN (SELECT value FROM json_each(${jsonList(ids.slice(i, i + 5000))})) AND i.deleted = 0
            AND ${root && root.level !== "inventory_item" ? variantUnder(sql`i.variant_id`, root) : sql`1`}`,
        ),
      ]);
      rows.push(...z.array(z.object({ id: z.string(), variant_id: z.string() })).parse(res!.results));
    }
    const byVariant = new Map<string, string[]>();
    for (const r of rows) {
      const list = byVariant.get(r.variant_id);
      if (list) list.push(r.id);
      else byVariant.set(r.variant_id, [r.id]);
    }
    this.itemGroups = sortUtf8([...byVariant.keys()]).map((variant) => ({ variant, ids: byVariant.get(variant)! }));
    return this.itemGroups;
  }
}
