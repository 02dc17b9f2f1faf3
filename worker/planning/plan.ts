import { z } from "zod";

/*
 * The plan vocabulary (SPEC §9), binding-free: kinds, statuses, a plan and a plan line as they are
 * stored and shown. The plan nodes, the planning store, the routes and the UI all read it here.
 */

export const PLAN_KINDS = ["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"] as const;
export const PlanKindSchema = z.enum(PLAN_KINDS);
export type PlanKind = z.infer<typeof PlanKindSchema>;

export const PLAN_STATUSES = ["draft", "open", "closed"] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** A plan's shops, stored resolved: a trigger's shop becomes the specific shop it was. */
export const StoredShopsSchema = z.object({ mode: z.enum(["all", "specific"]), ids: z.array(z.string()) });
export type StoredShops = z.infer<typeof StoredShopsSchema>;

export const PlanSchema = z.object({
  id: z.string(),
  kind: PlanKindSchema,
  name: z.string(),
  status: z.enum(PLAN_STATUSES),
  deadline: z.string().nullable(),
  shops: StoredShopsSchema,
  item_count: z.int(),
  total_quantity: z.int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Plan = z.infer<typeof PlanSchema>;

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

/** The levels of the product hierarchy an item selection starts from, lowest first. */
export const LEVELS = ["inventory_item", "product_variant", "product", "brand"] as const;
export type Level = (typeof LEVELS)[number];
