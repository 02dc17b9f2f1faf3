import { describe, expect, it } from "vitest";
import {
  deficitOf,
  discountFor,
  matchByScore,
  meetsMarginFloor,
  quantityFor,
  roundHalfUp,
  surplusOf,
  type Candidate,
  type DiscountStrategy,
  type Recommendation,
} from "../../worker/planning/strategies";

/** Expected numbers below are worked out by hand from SPEC §9, not by running the code. */

const rec = (score: number, quantity: number | null = null, discount_percent: number | null = null): Recommendation => ({ score, quantity, discount_percent });
const item = (shop: string, on_hand: number, target: number, on_order = 0, r: Recommendation | null = null): Candidate => ({
  id: `inv_${shop}`,
  variant_id: "var_1",
  shop_id: shop,
  on_hand,
  on_order,
  target,
  rec: r,
});

describe("quantity strategies", () => {
  it("fixed: the configured quantity for every item", () => {
    expect(quantityFor({ strategy: "fixed", quantity: 5 }, item("a", 40, 10))).toBe(5);
  });

  it("fill_to_target: max(0, target − on_hand − on_order)", () => {
    const s = { strategy: "fill_to_target" as const };
    expect(quantityFor(s, item("a", 3, 10, 2))).toBe(5); // 10 − 3 − 2
    expect(quantityFor(s, item("a", 12, 10))).toBe(0); // −2 → 0
    expect(quantityFor(s, item("a", 4, 10, 6))).toBe(0); // 10 − 4 − 6
    expect(quantityFor(s, item("a", -2, 10))).toBe(12); // oversold: 10 − (−2) − 0
  });

  it("fill_to_target: a target in the config overrides the item's", () => {
    expect(quantityFor({ strategy: "fill_to_target", target: 20 }, item("a", 3, 10, 2))).toBe(15); // 20 − 3 − 2
    expect(quantityFor({ strategy: "fill_to_target", target: 4 }, item("a", 3, 10, 2))).toBe(0); // 4 − 3 − 2 = −1
    expect(quantityFor({ strategy: "fill_to_target", target: 0 }, item("a", 0, 10))).toBe(0);
  });

  it("score: the recommendation's quantity when score ≥ min_score, else 0", () => {
    const s = { strategy: "score" as const, min_score: 0.5 };
    expect(quantityFor(s, item("a", 0, 0, 0, rec(0.7, 4)))).toBe(4);
    expect(quantityFor(s, item("a", 0, 0, 0, rec(0.5, 6)))).toBe(6); // equal to min_score counts
    expect(quantityFor(s, item("a", 0, 0, 0, rec(0.49, 6)))).toBe(0);
    expect(quantityFor(s, item("a", 0, 0, 0, rec(0.9, null)))).toBe(0); // no quantity recommended
    expect(quantityFor(s, item("a", 0, 0))).toBe(0); // no recommendation
  });
});

describe("surplus and deficit", () => {
  it("surplus is on_hand − target (on order not counted); deficit counts what is on order", () => {
    expect(surplusOf(item("a", 8, 5, 10))).toBe(3);
    expect(deficitOf(item("a", 8, 5, 10))).toBe(0);
    expect(deficitOf(item("a", 1, 6, 1))).toBe(4);
    expect(surplusOf(item("a", 1, 6, 1))).toBe(0);
  });
});

describe("score matching (one variant)", () => {
  // A: surplus 12 − 5 = 7; B: surplus 9 − 6 = 3; F: balanced.
  // C: deficit 6 − 1 − 1 = 4, score 0.9; D: deficit 5 − 0 − 0 = 5, score 0.5; E: deficit 4 − 2 = 2, no score.
  const A = item("A", 12, 5);
  const B = item("B", 9, 6);
  const C = item("C", 1, 6, 1, rec(0.9));
  const D = item("D", 0, 5, 0, rec(0.5));
  const E = item("E", 2, 4);
  const F = item("F", 5, 5);
  const moves = (ts: ReturnType<typeof matchByScore>) => ts.map((t) => `${t.from.shop_id}→${t.to.shop_id} ${t.quantity}`);

  it("serves the highest-scored deficit first, each move min(surplus left, deficit left)", () => {
    // C takes 4 of A (A has 3 left); D takes A's 3 and 2 of B (B has 1 left); E takes B's last 1 and stays 1 short.
    expect(moves(matchByScore([A, B, C, D, E, F]))).toEqual(["A→C 4", "A→D 3", "B→D 2", "B→E 1"]);
  });

  it("does not depend on the order items arrive in", () => {
    expect(moves(matchByScore([F, E, D, C, B, A]))).toEqual(["A→C 4", "A→D 3", "B→D 2", "B→E 1"]);
  });

  it("stops when the surplus runs out and moves nothing without one", () => {
    expect(moves(matchByScore([B, C, D]))).toEqual(["B→C 3"]);
    expect(matchByScore([C, D, E, F])).toEqual([]);
    expect(matchByScore([A, B, F])).toEqual([]);
  });

  it("breaks equal scores by shop id", () => {
    const X = item("X", 0, 2, 0, rec(0.6));
    const W = item("W", 0, 2, 0, rec(0.6));
    expect(moves(matchByScore([X, W, item("S", 3, 0)]))).toEqual(["S→W 2", "S→X 1"]);
  });

  it("lets only the shops that pass the size scope receive", () => {
    // on_hand < 1: only D (on_hand 0) may receive; it takes its whole deficit 5 from A.
    expect(moves(matchByScore([A, B, C, D, E, F], (i) => i.on_hand < 1))).toEqual(["A→D 5"]);
  });
});

describe("discount strategies", () => {
  const recommended = (over: Partial<Extract<DiscountStrategy, { strategy: "recommended" }>> = {}): DiscountStrategy => ({
    strategy: "recommended",
    margin_floor: 0.2,
    min_percent: 5,
    max_percent: 50,
    ...over,
  });
  const facts = (discount: number | null, price: number | null, cost: number | null, score = 0.5) => ({ rec: rec(score, null, discount), price, cost });

  it("fixed: the percent", () => {
    expect(discountFor({ strategy: "fixed", percent: 20 }, { rec: null, price: null, cost: null })).toEqual({ ok: true, percent: 20 });
    expect(discountFor({ strategy: "fixed", percent: 0 }, { rec: null, price: null, cost: null })).toEqual({ ok: false, reason: "zero" });
  });

  it("score: round(score × max_percent), half up", () => {
    const s: DiscountStrategy = { strategy: "score", max_percent: 50 };
    expect(discountFor(s, facts(null, null, null, 0.35))).toEqual({ ok: true, percent: 18 }); // 17.5 → 18
    expect(discountFor(s, facts(null, null, null, 0.29))).toEqual({ ok: true, percent: 15 }); // 14.5 → 15
    expect(discountFor(s, facts(null, null, null, 0.57))).toEqual({ ok: true, percent: 29 }); // 28.5 → 29
    expect(discountFor({ strategy: "score", max_percent: 30 }, facts(null, null, null, 0.5))).toEqual({ ok: true, percent: 15 });
    expect(discountFor({ strategy: "score", max_percent: 40 }, facts(null, null, null, 0.01))).toEqual({ ok: false, reason: "zero" }); // 0.4 → 0
    expect(discountFor(s, { rec: null, price: 10, cost: 5 })).toEqual({ ok: false, reason: "no_recommendation" });
  });

  it("recommended: keeps a clamped discount that holds the margin floor", () => {
    // 100 × (1 − 0.30) = 70 ≥ 50 × 1.2 = 60
    expect(discountFor(recommended(), facts(30, 100, 50))).toEqual({ ok: true, percent: 30 });
    // clamped down to 50: 200 × 0.5 = 100 ≥ 60
    expect(discountFor(recommended(), facts(60, 200, 50))).toEqual({ ok: true, percent: 50 });
    // clamped up to 5: 100 × 0.95 = 95 ≥ 12
    expect(discountFor(recommended(), facts(2, 100, 10))).toEqual({ ok: true, percent: 5 });
    // a fractional recommendation that holds the floor is kept: 72.5 ≥ 60
    expect(discountFor(recommended(), facts(27.5, 100, 50))).toEqual({ ok: true, percent: 27.5 });
  });

  it("recommended: lowers the discount to the highest whole percent that holds the floor", () => {
    // 100 × 0.65 = 65 < 60 × 1.2 = 72; highest d with 100 × (1 − d/100) ≥ 72 is 28.
    expect(discountFor(recommended(), facts(35, 100, 60))).toEqual({ ok: true, percent: 28 });
    expect(discountFor(recommended(), facts(30, 100, 60))).toEqual({ ok: true, percent: 28 });
    // 99.99 × (1 − d/100) ≥ 60 × 1.25 = 75 → d ≤ 24.99; 24 → 75.99 ≥ 75.
    expect(discountFor(recommended({ margin_floor: 0.25 }), facts(40, 99.99, 60))).toEqual({ ok: true, percent: 24 });
  });

  it("recommended: skips an item that cannot hold the floor at min_percent", () => {
    // 80 × 1.2 = 96 → d ≤ 4 < min 5
    expect(discountFor(recommended(), facts(30, 100, 80))).toEqual({ ok: false, reason: "margin_floor" });
    // Sold at cost with no floor: only 0 % holds it, which marks nothing down.
    expect(discountFor(recommended({ margin_floor: 0, min_percent: 0 }), facts(10, 100, 100))).toEqual({ ok: false, reason: "margin_floor" });
    // Priced below cost.
    expect(discountFor(recommended({ margin_floor: 0, min_percent: 0 }), facts(10, 90, 100))).toEqual({ ok: false, reason: "margin_floor" });
  });

  it("recommended: skips items without a recommended discount or a price", () => {
    expect(discountFor(recommended(), { rec: null, price: 100, cost: 50 })).toEqual({ ok: false, reason: "no_recommendation" });
    expect(discountFor(recommended(), facts(null, 100, 50))).toEqual({ ok: false, reason: "no_recommendation" });
    expect(discountFor(recommended(), facts(20, null, 50))).toEqual({ ok: false, reason: "no_price" });
    expect(discountFor(recommended(), facts(20, 0, 0))).toEqual({ ok: false, reason: "no_price" });
  });

  it("checks the margin floor exactly at the boundary", () => {
    expect(meetsMarginFloor(100, 60, 28, 0.2)).toBe(true); // 72 ≥ 72
    expect(meetsMarginFloor(100, 60, 29, 0.2)).toBe(false); // 71 < 72
    expect(roundHalfUp(2.5)).toBe(3);
    expect(roundHalfUp(0.285 * 10)).toBe(3); // 2.85 → 3
  });
});
