import {
  discountFor,
  matchByScore,
  quantityFor,
  type Candidate,
  type DiscountStrategy,
  type QuantityStrategy,
} from "./strategies";

/**
 * Plan lines from candidate items (pure): which lines a page of items produces under a plan's
 * rules, and how they differ from the lines the plan already holds.
 */

/** One line of a plan, as add_items_to_plan writes it. */
export interface Line {
  key: string;
  inventory_item_id: string;
  variant_id: string;
  shop_id: string;
  quantity: number;
  from_shop_id: string | null;
  to_shop_id: string | null;
  discount_percent: number | null;
  markdown_date: string | null;
  strategy: string;
  score: number | null;
}

/** The fields of a held line that a re-run may change. */
export type HeldLine = Pick<Line, "key" | "quantity" | "from_shop_id" | "to_shop_id" | "discount_percent" | "markdown_date" | "strategy" | "score">;

// Ids never hold control characters (worker/entities/registry.ts), so U+0001 separates them
// unambiguously and sorts below any character of an id: the transfers of one variant are the
// key range [t␁variant␁, t␁variant␂).
const SEP = "\u0001";
export const itemKey = (itemId: string) => `i${SEP}${itemId}`;
export const transferKey = (variantId: string, from: string, to: string) => `t${SEP}${variantId}${SEP}${from}${SEP}${to}`;

/** What a plan kind does with the selected items (decided from the plan's kind and the step's config). */
export type Rules =
  | { kind: "quantity"; quantity: QuantityStrategy }
  | { kind: "markdown"; quantity: QuantityStrategy; discount: DiscountStrategy; markdown_date: string | null }
  | { kind: "transfer_fixed"; quantity: QuantityStrategy; from_shop: string }
  | { kind: "transfer_score"; /** The size scope, applied to the receiving shops only. */ below: number | null };

export const SCORE_MATCHING = "matching:score";

export interface Built {
  lines: Line[];
  /** Candidates that produced no line. */
  skipped: number;
  /** Of those, markdown items whose discount could not keep the margin floor. */
  skipped_margin_floor: number;
}

export interface VariantPrice {
  price: number | null;
  cost: number | null;
}

type LineExtras = Partial<Pick<Line, "key" | "from_shop_id" | "to_shop_id" | "discount_percent" | "markdown_date">>;

/** The line of `item`: keyed by the item, with no shops, discount or date unless `rest` gives them. */
const lineOf = (item: Candidate, quantity: number, strategy: string, rest: LineExtras = {}): Line => ({
  key: itemKey(item.id),
  inventory_item_id: item.id,
  variant_id: item.variant_id,
  shop_id: item.shop_id,
  score: item.rec?.score ?? null,
  quantity,
  from_shop_id: null,
  to_shop_id: null,
  discount_percent: null,
  markdown_date: null,
  strategy,
  ...rest,
});

/** The line that moves `quantity` units of `to`'s variant from shop `from` to `to`'s shop. */
const transferOf = (to: Candidate, from: string, quantity: number, strategy: string): Line =>
  lineOf(to, quantity, strategy, { key: transferKey(to.variant_id, from, to.shop_id), from_shop_id: from, to_shop_id: to.shop_id });

/**
 * The lines a page of candidates produces. For score matching, `items` must hold every shop of
 * each of its variants (pages end on a variant boundary).
 */
export function buildLines(rules: Rules, items: readonly Candidate[], prices: ReadonlyMap<string, VariantPrice> = new Map()): Built {
  const lines: Line[] = [];
  let skipped = 0;
  let marginFloor = 0;
  switch (rules.kind) {
    case "quantity":
      for (const item of items) {
        const quantity = quantityFor(rules.quantity, item);
        if (quantity <= 0) {
          skipped += 1;
          continue;
        }
        lines.push(lineOf(item, quantity, `quantity:${rules.quantity.strategy}`));
      }
      break;
    case "markdown":
      for (const item of items) {
        const quantity = quantityFor(rules.quantity, item);
        const price = prices.get(item.variant_id) ?? { price: null, cost: null };
        const discount = quantity > 0 ? discountFor(rules.discount, { rec: item.rec, ...price }) : undefined;
        if (!discount?.ok) {
          skipped += 1;
          if (discount?.reason === "margin_floor") marginFloor += 1;
          continue;
        }
        lines.push(lineOf(item, quantity, `discount:${rules.discount.strategy}`, { discount_percent: discount.percent, markdown_date: rules.markdown_date }));
      }
      break;
    case "transfer_fixed":
      // The selection holds only items of the receiving shop: each asks the sending shop for units.
      for (const item of items) {
        const quantity = quantityFor(rules.quantity, item);
        if (quantity <= 0) {
          skipped += 1;
          continue;
        }
        lines.push(transferOf(item, rules.from_shop, quantity, "matching:fixed"));
      }
      break;
    case "transfer_score": {
      const below = rules.below;
      const canReceive = below === null ? undefined : (i: Candidate) => i.on_hand < below;
      const involved = new Set<string>();
      for (const group of byVariant(items)) {
        for (const t of matchByScore(group, canReceive)) {
          involved.add(t.from.id).add(t.to.id);
          lines.push(transferOf(t.to, t.from.shop_id, t.quantity, SCORE_MATCHING));
        }
      }
      skipped = items.filter((i) => !involved.has(i.id)).length;
      break;
    }
  }
  return { lines, skipped, skipped_margin_floor: marginFloor };
}

/** Consecutive runs of items of the same variant. */
export function byVariant(items: readonly Candidate[]): Candidate[][] {
  const out: Candidate[][] = [];
  for (const item of items) {
    const last = out.at(-1);
    if (last && last[0]!.variant_id === item.variant_id) last.push(item);
    else out.push([item]);
  }
  return out;
}

export interface Diff {
  /** Lines to insert or update: new ones and held ones whose values change. */
  writes: Line[];
  /** Keys of held lines to delete (score-matched transfers the new matching no longer makes). */
  removes: string[];
  added: number;
  /** Lines the plan already held (changed or not). */
  updated: number;
  /** Of those, lines whose values were already right: not written. */
  unchanged: number;
  /** Change of the plan's line count and quantity sum. */
  itemDelta: number;
  quantityDelta: number;
  /** Sum of the quantities of the lines this page produced. */
  total_quantity: number;
}

const same = (a: HeldLine, b: HeldLine) =>
  a.quantity === b.quantity &&
  a.from_shop_id === b.from_shop_id &&
  a.to_shop_id === b.to_shop_id &&
  a.discount_percent === b.discount_percent &&
  a.markdown_date === b.markdown_date &&
  a.strategy === b.strategy &&
  a.score === b.score;

/**
 * Compares produced lines with held ones. `replaceable` are held lines this page owns and may
 * delete when not produced again: the score-matched transfers of the variants it matched.
 */
export function diffLines(lines: readonly Line[], held: ReadonlyMap<string, HeldLine>, replaceable: readonly HeldLine[] = []): Diff {
  const d: Diff = { writes: [], removes: [], added: 0, updated: 0, unchanged: 0, itemDelta: 0, quantityDelta: 0, total_quantity: 0 };
  const produced = new Set<string>();
  for (const line of lines) {
    produced.add(line.key);
    d.total_quantity += line.quantity;
    const old = held.get(line.key);
    if (!old) {
      d.added += 1;
      d.itemDelta += 1;
      d.quantityDelta += line.quantity;
      d.writes.push(line);
      continue;
    }
    d.updated += 1;
    d.quantityDelta += line.quantity - old.quantity;
    if (same(line, old)) d.unchanged += 1;
    else d.writes.push(line);
  }
  for (const old of replaceable) {
    if (produced.has(old.key)) continue;
    d.removes.push(old.key);
    d.itemDelta -= 1;
    d.quantityDelta -= old.quantity;
  }
  return d;
}
