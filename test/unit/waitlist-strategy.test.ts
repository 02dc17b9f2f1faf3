/** The waitlist quantity strategy of add_items_to_plan (SPEC §12), pure. */
import { describe, expect, it } from "vitest";
import { quantityFor, waitlistQuantity, type Candidate } from "../../worker/planning/strategies";
import { parseWaitlist, waitingFor } from "../../worker/planning/selection-sql";

const item = (over: Partial<Candidate> = {}): Candidate => ({
  id: "ii_1",
  variant_id: "v_1",
  shop_id: "s_1",
  on_hand: 0,
  on_order: 0,
  target: 4,
  rec: null,
  ...over,
});

describe("waitlist quantity", () => {
  it("orders one unit per waiting customer by default", () => {
    expect(quantityFor({ strategy: "waitlist", factor: 1 }, item({ waiting: 7 }))).toBe(7);
  });

  it("multiplies by the factor and rounds up", () => {
    expect(waitlistQuantity(7, 0.5, 0)).toBe(4);
    expect(waitlistQuantity(3, 1.5, 0)).toBe(5);
  });

  it("subtracts what is already on order, after the factor", () => {
    expect(waitlistQuantity(10, 0.5, 2)).toBe(3);
    expect(quantityFor({ strategy: "waitlist", factor: 2 }, item({ waiting: 3, on_order: 4, on_hand: 9 }))).toBe(2);
  });

  it("never goes below 0: an item with enough on order, or no one waiting, is skipped", () => {
    expect(waitlistQuantity(2, 1, 5)).toBe(0);
    expect(quantityFor({ strategy: "waitlist", factor: 1 }, item())).toBe(0);
  });

  it("does not round binary noise up to a whole extra unit", () => {
    // 100 × 1.1 is 110.00000000000001 in floating point.
    expect(waitlistQuantity(100, 1.1, 0)).toBe(110);
    expect(waitlistQuantity(10, 0.7, 0)).toBe(7);
  });
});

describe("who waits for an item", () => {
  const waitlist = parseWaitlist([
    { variant_id: "v_1", shop_id: "s_1", n: 3 },
    { variant_id: "v_1", shop_id: null, n: 2 },
    { variant_id: "v_1", shop_id: "s_2", n: 1 },
    { variant_id: "v_2", shop_id: "s_1", n: 4 },
  ]);

  it("counts the shop's subscriptions and those for any shop", () => {
    expect(waitingFor(waitlist, "v_1", "s_1")).toBe(5);
    expect(waitingFor(waitlist, "v_1", "s_2")).toBe(3);
    expect(waitingFor(waitlist, "v_1", "s_3")).toBe(2);
  });

  it("counts no one for a variant nobody waits for, nor another variant's subscriptions", () => {
    expect(waitingFor(waitlist, "v_3", "s_1")).toBe(0);
    expect(waitingFor(waitlist, "v_2", "s_2")).toBe(0);
  });
});
