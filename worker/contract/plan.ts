import { z } from "zod";
import { PLAN_STATUSES, PlanKindSchema, StoredShopsSchema } from "../planning/plan";
import { PageQuerySchema } from "./page";

/** Plans and their lines as they are stored and shown (SPEC §9). Kinds and statuses are planning's vocabulary. */

export { PLAN_KINDS, PLAN_STATUSES, PlanKindSchema, type PlanKind, type PlanStatus, type StoredShops } from "../planning/plan";
export const PlanStatusSchema = z.enum(PLAN_STATUSES);

/** A plan with its line count and total quantity, as lists show it. */
export const PlanSchema = z.object({
  id: z.string(),
  kind: PlanKindSchema,
  name: z.string(),
  status: PlanStatusSchema,
  deadline: z.string().nullable(),
  shops: StoredShopsSchema,
  item_count: z.int(),
  total_quantity: z.int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Plan = z.infer<typeof PlanSchema>;

/** One line: an item line (inventory_item_id, shop_id) or a transfer (variant_id, from and to shop). */
export const PlanItemSchema = z.object({
  inventory_item_id: z.string().nullable(),
  variant_id: z.string().nullable(),
  shop_id: z.string().nullable(),
  quantity: z.int(),
  from_shop_id: z.string().nullable(),
  to_shop_id: z.string().nullable(),
  discount_percent: z.number().nullable(),
  markdown_date: z.string().nullable(),
  strategy: z.string().nullable(),
  score: z.number().nullable(),
  run_id: z.string().nullable(),
});
export type PlanItem = z.infer<typeof PlanItemSchema>;

/** A plan with a page of its lines; a plan may hold 100,000, so they page with items_cursor. */
export const PlanDetailSchema = PlanSchema.extend({
  items: z.array(PlanItemSchema),
  /** Pass as items_cursor for the next lines; null when these were the last. */
  items_next_cursor: z.string().nullable(),
});
export type PlanDetail = z.infer<typeof PlanDetailSchema>;

export const PlanListQuerySchema = PageQuerySchema.extend({ kind: PlanKindSchema.optional(), status: PlanStatusSchema.optional() });

export const PlanStatusChangeSchema = z.object({ status: PlanStatusSchema });
