import { z } from "zod";

/*
 * The discount code vocabulary (SPEC §12), binding-free: types, statuses, and a code as it is
 * stored and shown. The contract (worker/contract/discount-code.ts) shows them on the wire;
 * discounts never imports the contract, which sits above it.
 */

export const DISCOUNT_TYPES = ["percent", "amount"] as const;
export const DiscountTypeSchema = z.enum(DISCOUNT_TYPES);
export type DiscountType = z.infer<typeof DiscountTypeSchema>;

/** `used_up` wins over `expired`: a code whose every use was redeemed is used up, expired or not. */
export const DISCOUNT_CODE_STATUSES = ["active", "expired", "used_up"] as const;
export const DiscountCodeStatusSchema = z.enum(DISCOUNT_CODE_STATUSES);
export type DiscountCodeStatus = z.infer<typeof DiscountCodeStatusSchema>;

export const DiscountCodeSchema = z.object({
  /** Upper case; looked up case-insensitively. */
  code: z.string(),
  type: DiscountTypeSchema,
  /** Percent off (1–100) or an amount off in `currency`. */
  value: z.number(),
  currency: z.string().nullable(),
  /** The last instant the code works (the end of a UTC day). */
  expires_at: z.string(),
  usage_limit: z.int(),
  /** Orders that redeemed it. */
  used: z.int(),
  /** Its status when it was read. */
  status: DiscountCodeStatusSchema,
  customer_id: z.string().nullable(),
  /** The variants it applies to; null for any. */
  variant_ids: z.array(z.string()).nullable(),
  /** The run and step that made it. */
  run_id: z.string(),
  node_id: z.string(),
  /** Made by a test run. */
  test: z.boolean(),
  created_at: z.string(),
});
export type DiscountCode = z.infer<typeof DiscountCodeSchema>;
