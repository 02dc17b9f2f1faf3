/**
 * The strategy math of add_items_to_plan (SPEC §9), pure: no D1, no clock. Each function takes
 * the facts of one item (or of one variant's items) and the strategy config, and says what goes
 * into the plan.
 */

/** The recommendation of an item (the decision vector): the highest-scored one when an item has several. */
export interface Recommendation {
  score: number;
  quantity: number | null;
  discount_percent: number | null;
}

export interface Candidate {
  id: string;
  variant_id: string;
  shop_id: string;
  on_hand: number;
  on_order: number;
  target: number;
  rec: Recommendation | null;
  /**
   * Pending back-in-stock subscriptions waiting for this item: those of its variant in its shop
   * plus those of its variant in no shop (SPEC §12). Read only for the `waitlist` strategy.
   */
  waiting?: number | undefined;
}

export type QuantityStrategy =
  | { strategy: "fixed"; quantity: number }
  | { strategy: "fill_to_target"; target?: number | undefined }
  | { strategy: "score"; min_score: number }
  | { strategy: "waitlist"; factor: number };

export type DiscountStrategy =
  | { strategy: "fixed"; percent: number }
  | { strategy: "score"; max_percent: number }
  | { strategy: "recommended"; margin_floor: number; min_percent: number; max_percent: number };

/** How many units a line asks for; 0 means the item is skipped. */
export function quantityFor(strategy: QuantityStrategy, item: Candidate): number {
  switch (strategy.strategy) {
    case "fixed":
      return strategy.quantity;
    case "fill_to_target":
      return Math.max(0, (strategy.target ?? item.target) - item.on_hand - item.on_order);
    case "score":
      return item.rec && item.rec.score >= strategy.min_score ? (item.rec.quantity ?? 0) : 0;
    case "waitlist":
      return waitlistQuantity(item.waiting ?? 0, strategy.factor, item.on_order);
  }
}

/**
 * The `waitlist` strategy (SPEC §12): `waiting × factor − on_order`, rounded up, never below 0 —
 * what is already on order serves the first of those waiting. Binary noise is removed before
 * rounding up (100 × 1.1 is 110.00000000000001 in floating point, and means 110 units, not 111).
 */
export function waitlistQuantity(waiting: number, factor: number, onOrder: number): number {
  const wanted = Number((waiting * factor - onOrder).toFixed(9));
  return Math.max(0, Math.ceil(wanted));
}

/** Units above target that a shop can give away (`on_hand − target`, on order not counted). */
export const surplusOf = (item: Candidate) => Math.max(0, item.on_hand - item.target);
/** Units a shop lacks to reach its target, counting what is already on order. */
export const deficitOf = (item: Candidate) => Math.max(0, item.target - item.on_hand - item.on_order);

export interface Transfer {
  from: Candidate;
  to: Candidate;
  quantity: number;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Score matching for one variant: shops with surplus are matched to shops with deficit, the
 * highest-scored deficit first, each transfer moving min(surplus left, deficit left).
 *
 * Order, where SPEC §9 leaves it open: deficits by score (an item without a recommendation comes
 * after every scored one), then shop id, then item id; surpluses by the largest surplus first,
 * then shop id, then item id. A surplus is drawn down before the next one is touched.
 * `canReceive` narrows the deficit side (the size scope applies to the receiving shops only).
 */
export function matchByScore(items: readonly Candidate[], canReceive: (item: Candidate) => boolean = () => true): Transfer[] {
  const deficits = items
    .filter((i) => deficitOf(i) > 0 && canReceive(i))
    .sort((a, b) => (b.rec?.score ?? -1) - (a.rec?.score ?? -1) || byText(a.shop_id, b.shop_id) || byText(a.id, b.id));
  const surpluses = items
    .filter((i) => surplusOf(i) > 0)
    .sort((a, b) => surplusOf(b) - surplusOf(a) || byText(a.shop_id, b.shop_id) || byText(a.id, b.id))
    .map((item) => ({ item, left: surplusOf(item) }));
  const out: Transfer[] = [];
  let s = 0;
  for (const to of deficits) {
    let need = deficitOf(to);
    while (need > 0 && s < surpluses.length) {
      const source = surpluses[s]!;
      const moved = Math.min(source.left, need);
      out.push({ from: source.item, to, quantity: moved });
      source.left -= moved;
      need -= moved;
      if (source.left === 0) s += 1;
    }
    if (s >= surpluses.length) break;
  }
  return out;
}

/** Half up, after removing binary noise (0.35 × 50 is 17.499999999999996 in floating point, and means 17.5). */
export function roundHalfUp(x: number): number {
  return Math.round(Number(x.toFixed(9)));
}

export type DiscountResult =
  | { ok: true; percent: number }
  | { ok: false; reason: "no_recommendation" | "no_price" | "zero" | "margin_floor" };

export interface PriceFacts {
  rec: Recommendation | null;
  /** The variant's price, else its product's; null when neither is known. */
  price: number | null;
  cost: number | null;
}

/** Whether selling at `percent` off still earns `margin_floor` over cost. */
export function meetsMarginFloor(price: number, cost: number, percent: number, marginFloor: number): boolean {
  return price * (1 - percent / 100) >= cost * (1 + marginFloor) - 1e-9;
}

/**
 * The markdown of one item. `fixed`: the percent. `score`: round(score × max_percent).
 * `recommended`: the recommendation's discount clamped to [min_percent, max_percent], and when
 * that breaks the margin floor, lowered to the highest whole percent that keeps it; an item that
 * cannot keep the floor at min_percent or more is skipped (reason "margin_floor"). A discount of
 * 0 marks nothing down, so it is skipped too.
 */
export function discountFor(strategy: DiscountStrategy, facts: PriceFacts): DiscountResult {
  switch (strategy.strategy) {
    case "fixed":
      return strategy.percent > 0 ? { ok: true, percent: strategy.percent } : { ok: false, reason: "zero" };
    case "score": {
      if (!facts.rec) return { ok: false, reason: "no_recommendation" };
      const percent = roundHalfUp(facts.rec.score * strategy.max_percent);
      return percent > 0 ? { ok: true, percent } : { ok: false, reason: "zero" };
    }
    case "recommended": {
      const wanted = facts.rec?.discount_percent;
      if (wanted === null || wanted === undefined) return { ok: false, reason: "no_recommendation" };
      if (facts.price === null || facts.cost === null || facts.price <= 0) return { ok: false, reason: "no_price" };
      const clamped = Math.min(strategy.max_percent, Math.max(strategy.min_percent, wanted));
      let percent = clamped;
      if (!meetsMarginFloor(facts.price, facts.cost, clamped, strategy.margin_floor)) {
        const highest = 100 * (1 - (facts.cost * (1 + strategy.margin_floor)) / facts.price);
        percent = Math.min(clamped, Math.floor(highest + 1e-9));
        if (percent < strategy.min_percent || percent <= 0) return { ok: false, reason: "margin_floor" };
      }
      return percent > 0 ? { ok: true, percent } : { ok: false, reason: "zero" };
    }
  }
}
