import { z } from "zod";
import { DiscountCodeSchema, DiscountCodeStatusSchema } from "../discounts/discount";
import { PageQuerySchema } from "./page";

/** Discount codes as the API shows them (SPEC §12). A code as stored is discounts'. */

export {
  DISCOUNT_CODE_STATUSES,
  DISCOUNT_TYPES,
  DiscountCodeSchema,
  DiscountCodeStatusSchema,
  DiscountTypeSchema,
  type DiscountCode,
  type DiscountCodeStatus,
  type DiscountType,
} from "../discounts/discount";

export const DiscountCodeListQuerySchema = PageQuerySchema.extend({
  customer_id: z.string().min(1).max(200).optional(),
  status: DiscountCodeStatusSchema.optional(),
  test: z.enum(["true", "false"]).optional(),
});

export const RedeemRequestSchema = z.strictObject({
  order_id: z.string().trim().min(1, "Give the order's id").max(200),
});
export type RedeemRequest = z.infer<typeof RedeemRequestSchema>;

/** The code after a redemption, with the order's redemption (made now or by an earlier request). */
export const RedemptionSchema = DiscountCodeSchema.extend({
  redemption: z.object({ order_id: z.string(), redeemed_at: z.string() }),
});
export type Redemption = z.infer<typeof RedemptionSchema>;
