import { z } from "zod";

/*
 * The plan vocabulary (SPEC §9), binding-free: kinds, statuses, shops, levels, and a plan and a
 * plan line as they are stored. The contract (worker/contract/plan.ts) shows them on the wire;
 * planning never imports the contract, which sits above it.
 */

export const PLAN_KINDS = ["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"] as const;
export const PlanKindSchema = z.enum(PLAN_KINDS);
export type PlanKind = z.infer<typeof PlanKindSchema>;

/** Moves between them are worker/planning/plan-status.ts's. */
export const PLAN_STATUSES = ["draft", "open", "approved", "closed", "cancelled"] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** A plan's shops, stored resolved: a trigger's shop becomes the specific shop it was. */
export const StoredShopsSchema = z.object({ mode: z.enum(["all", "specific"]), ids: z.array(z.string()) });
export type StoredShops = z.infer<typeof StoredShopsSchema>;

/** The levels of the product hierarchy an item selection starts from, lowest first. */
export const LEVELS = ["inventory_item", "product_variant", "product", "brand"] as const;
export type Level = (typeof LEVELS)[number];

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
  /** Created by a test run (`POST /api/workflows/{id}/test`): test data, which real runs never reuse. */
  test: z.boolean(),
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
  /** Written by a test run (`POST /api/workflows/{id}/test`): test data, not a line to act on. */
  test: z.boolean(),
});
export type PlanItem = z.infer<typeof PlanItemSchema>;
