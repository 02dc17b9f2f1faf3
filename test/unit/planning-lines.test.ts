import { describe, expect, it } from "vitest";
import { nextUnits } from "../../worker/planning/add-items";
import { compareUtf8, sortUtf8 } from "../../worker/db/sql";
import { buildLines, byVariant, diffLines, itemKey, SCORE_MATCHING, transferKey, type HeldLine, type Line } from "../../worker/planning/lines";
import type { Candidate, Recommendation } from "../../worker/planning/strategies";

const rec = (score: number, quantity: number | null = null, discount_percent: number | null = null): Recommendation => ({ score, quantity, discount_percent });
const item = (id: string, variant: string, shop: string, on_hand: number, target: number, on_order = 0, r: Recommendation | null = null): Candidate => ({
  id,
  variant_id: variant,
  shop_id: shop,
  on_hand,
  on_order,
  target,
  rec: r,
});
const held = (line: Line): HeldLine => ({ ...line });

describe("buildLines", () => {
  const items = [item("i1", "v1", "s1", 2, 10, 3), item("i2", "v1", "s2", 12, 10), item("i3", "v2", "s1", 0, 4, 0, rec(0.8, 6))];

  it("restock with fill_to_target: one line per item, zero quantities skipped", () => {
    const built = buildLines({ kind: "quantity", quantity: { strategy: "fill_to_target" } }, items);
    // i1: 10 − 2 − 3 = 5; i2: 10 − 12 < 0 → skipped; i3: 4 − 0 − 0 = 4
    expect(built.lines.map((l) => [l.inventory_item_id, l.quantity, l.strategy])).toEqual([
      ["i1", 5, "quantity:fill_to_target"],
      ["i3", 4, "quantity:fill_to_target"],
    ]);
    expect(built.skipped).toBe(1);
    expect(built.lines[0]).toMatchObject({ key: itemKey("i1"), variant_id: "v1", shop_id: "s1", from_shop_id: null, to_shop_id: null, discount_percent: null });
  });

  it("markdown: quantity and discount per item, floor failures counted", () => {
    const prices = new Map([
      ["v1", { price: 100, cost: 80 }],
      ["v2", { price: 100, cost: 50 }],
    ]);
    const mk = [item("m1", "v1", "s1", 5, 0, 0, rec(0.5, null, 30)), item("m2", "v2", "s1", 5, 0, 0, rec(0.5, null, 30)), item("m3", "v2", "s2", 5, 0)];
    const built = buildLines(
      { kind: "markdown", quantity: { strategy: "fixed", quantity: 2 }, discount: { strategy: "recommended", margin_floor: 0.2, min_percent: 5, max_percent: 50 }, markdown_date: "2026-12-01" },
      mk,
      prices,
    );
    // m1: 100 × 0.7 = 70 < 96, highest 4 % < 5 → margin floor; m2: 70 ≥ 60 → 30 %; m3: no recommendation.
    expect(built.lines).toEqual([
      expect.objectContaining({ inventory_item_id: "m2", quantity: 2, discount_percent: 30, markdown_date: "2026-12-01", strategy: "discount:recommended", score: 0.5 }),
    ]);
    expect(built.skipped).toBe(2);
    expect(built.skipped_margin_floor).toBe(1);
  });

  it("fixed matching: a transfer from the sending shop to each receiving item", () => {
    const built = buildLines({ kind: "transfer_fixed", quantity: { strategy: "fixed", quantity: 3 }, from_shop: "wh" }, [item("t1", "v1", "s1", 0, 5), item("t2", "v2", "s1", 0, 5)]);
    expect(built.lines.map((l) => [l.key, l.from_shop_id, l.to_shop_id, l.quantity, l.strategy])).toEqual([
      [transferKey("v1", "wh", "s1"), "wh", "s1", 3, "matching:fixed"],
      [transferKey("v2", "wh", "s1"), "wh", "s1", 3, "matching:fixed"],
    ]);
  });

  it("score matching: per variant, items in no transfer are skipped", () => {
    const page = [
      item("a", "v1", "A", 10, 4), // surplus 6
      item("b", "v1", "B", 1, 5, 0, rec(0.2)), // deficit 4
      item("c", "v1", "C", 0, 3, 0, rec(0.7)), // deficit 3
      item("d", "v2", "A", 2, 2), // balanced
      item("e", "v2", "B", 0, 2, 0, rec(0.9)), // deficit 2, nothing to give
    ];
    const built = buildLines({ kind: "transfer_score", below: null }, page);
    // v1: C (0.7) takes 3 of A's 6, then B (0.2) takes the other 3 and stays 1 short.
    expect(built.lines.map((l) => [l.from_shop_id, l.to_shop_id, l.quantity, l.score, l.inventory_item_id])).toEqual([
      ["A", "C", 3, 0.7, "c"],
      ["A", "B", 3, 0.2, "b"],
    ]);
    expect(built.skipped).toBe(2); // d and e
  });

  it("groups a page by variant", () => {
    expect(byVariant(items).map((g) => g.map((i) => i.id))).toEqual([["i1", "i2"], ["i3"]]);
  });
});

describe("diffLines", () => {
  const line = (key: string, quantity: number, over: Partial<Line> = {}): Line => ({
    key,
    inventory_item_id: key,
    variant_id: "v",
    shop_id: "s",
    quantity,
    from_shop_id: null,
    to_shop_id: null,
    discount_percent: null,
    markdown_date: null,
    strategy: "quantity:fixed",
    score: null,
    ...over,
  });

  it("adds new lines, updates changed ones, leaves equal ones unwritten, and moves the plan's counters", () => {
    const before = new Map([
      ["k2", held(line("k2", 4))],
      ["k3", held(line("k3", 7))],
    ]);
    const d = diffLines([line("k1", 5), line("k2", 6), line("k3", 7)], before);
    expect(d.writes.map((l) => l.key)).toEqual(["k1", "k2"]);
    expect(d).toMatchObject({ added: 1, updated: 2, unchanged: 1, itemDelta: 1, quantityDelta: 5 + (6 - 4), total_quantity: 18 });
  });

  it("counts a change of any value as an update", () => {
    const before = new Map([["k", held(line("k", 5, { discount_percent: 20 }))]]);
    expect(diffLines([line("k", 5, { discount_percent: 25 })], before).writes).toHaveLength(1);
    expect(diffLines([line("k", 5, { discount_percent: 20 })], before).writes).toHaveLength(0);
  });

  it("removes score-matched transfers the new matching no longer makes", () => {
    const kept = line("t1", 3, { strategy: SCORE_MATCHING });
    const stale = line("t2", 4, { strategy: SCORE_MATCHING });
    const before = new Map([
      ["t1", held(kept)],
      ["t2", held(stale)],
    ]);
    const d = diffLines([line("t1", 5, { strategy: SCORE_MATCHING })], before, [held(kept), held(stale)]);
    expect(d.removes).toEqual(["t2"]);
    expect(d).toMatchObject({ added: 0, updated: 1, itemDelta: -1, quantityDelta: 5 - 3 - 4 });
  });
});

describe("nextUnits", () => {
  const limits = { pageSize: 2000, maxUnits: 500 };
  it("sizes the next page from what the last one held", () => {
    expect(nextUnits(20, 20, 400, limits)).toBe(100); // 20 items per unit → 2000 / 20
    expect(nextUnits(100, 100, 100, limits)).toBe(500); // 1 per unit, capped at 500
    expect(nextUnits(10, 10, 50_000, limits)).toBe(1); // huge units: one at a time
    expect(nextUnits(40, 0, 0, limits)).toBe(80); // nothing read: widen
  });
});

describe("id order", () => {
  it("sorts ids as SQLite does (UTF-8 bytes), not as JavaScript does (UTF-16 units)", () => {
    // U+FF5E is EF BD 9E in UTF-8, U+1F600 is F0 9F 98 80: SQLite puts U+FF5E first; "<" on strings does not.
    expect("\u{1F600}" < "\uFF5E").toBe(true);
    expect(sortUtf8(["\u{1F600}", "\uFF5E", "a", "a"])).toEqual(["a", "\uFF5E", "\u{1F600}"]);
    expect(compareUtf8("ab", "abc")).toBeLessThan(0);
    expect(compareUtf8("b", "abc")).toBeGreaterThan(0);
  });
});
