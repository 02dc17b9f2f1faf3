import { z } from "zod";
import { PlanItemSchema } from "./plan";

/*
 * A plan as a planner reads it (issue 14), binding-free: each line with the names, stock and
 * values from the entity mirror, and the plan's totals per shop. plan-store.ts reads them from D1
 * with one join per line; the contract shows them on the wire.
 */

/** Money is rounded to cents per line; totals add the rounded line values, so a sheet of the lines adds up to them. */
export const PlanLineSchema = PlanItemSchema.extend({
  /** The line's id in `PATCH /api/plans/{id}/lines/{line_id}`: opaque, URL-safe, stable. */
  line_id: z.string(),
  /** The step that last wrote the line (with run_id). */
  node_id: z.string().nullable(),
  /** When a planner last set the quantity by hand; null once a run writes the line again. */
  edited_at: z.string().nullable(),
  product_id: z.string().nullable(),
  product_name: z.string().nullable(),
  brand_id: z.string().nullable(),
  brand_name: z.string().nullable(),
  /** The variant's size and SKU. */
  size: z.string().nullable(),
  sku: z.string().nullable(),
  /** The line's shop: the receiving one of a transfer. */
  shop_name: z.string().nullable(),
  from_shop_name: z.string().nullable(),
  /** Stock of the line's item (the receiving shop's, for a transfer); null when the mirror lacks it. */
  on_hand: z.int().nullable(),
  on_order: z.int().nullable(),
  target: z.int().nullable(),
  /** On hand in the sending shop of a transfer; null otherwise. */
  from_on_hand: z.int().nullable(),
  /** The variant's cost and price, the product's when the variant has none; null when unknown. */
  unit_cost: z.number().nullable(),
  unit_price: z.number().nullable(),
  /** quantity × unit cost; quantity × unit price less the line's discount. Null when the price is unknown. */
  cost_value: z.number().nullable(),
  retail_value: z.number().nullable(),
});
export type PlanLine = z.infer<typeof PlanLineSchema>;

export const PlanAmountsSchema = z.object({
  lines: z.int(),
  units: z.int(),
  /** Sums of the lines' values; a line without a known cost or price adds 0 (counted in `unpriced_lines`). */
  cost_value: z.number(),
  retail_value: z.number(),
  unpriced_lines: z.int(),
  /** Lines written last by a test run. */
  test_lines: z.int(),
});
export type PlanAmounts = z.infer<typeof PlanAmountsSchema>;

export const PlanShopTotalsSchema = PlanAmountsSchema.extend({ shop_id: z.string().nullable(), shop_name: z.string().nullable() });

/** A plan's totals, and per shop (the receiving shop of a transfer), most units first. */
export const PlanTotalsSchema = z.object({
  plan_id: z.string(),
  totals: PlanAmountsSchema,
  shops: z.array(PlanShopTotalsSchema),
});
export type PlanTotals = z.infer<typeof PlanTotalsSchema>;

/** Line keys hold U+0001 (lines.ts); the line id is their UTF-8 bytes in base64url. */
export function lineIdOf(key: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(key)) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/** The line key a line id stands for; undefined when it is not the id of any possible line. */
export function lineKeyOf(id: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(id)) return undefined;
  try {
    const bin = atob(id.replaceAll("-", "+").replaceAll("_", "/"));
    const key = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    // An item line `i␁item`, or a transfer `t␁variant␁from␁to` (lines.ts itemKey, transferKey).
    return /^(i\u0001[^\u0001]+|t\u0001[^\u0001]+\u0001[^\u0001]+\u0001[^\u0001]+)$/.test(key) ? key : undefined;
  } catch {
    return undefined;
  }
}
