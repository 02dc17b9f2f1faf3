import { z } from "zod";

/*
 * The plan vocabulary (SPEC §9), binding-free: kinds, statuses, shops, levels. A plan and a plan
 * line as they are stored and shown are wire shapes: worker/contract/plan.ts.
 */

export const PLAN_KINDS = ["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"] as const;
export const PlanKindSchema = z.enum(PLAN_KINDS);
export type PlanKind = z.infer<typeof PlanKindSchema>;

export const PLAN_STATUSES = ["draft", "open", "closed"] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** A plan's shops, stored resolved: a trigger's shop becomes the specific shop it was. */
export const StoredShopsSchema = z.object({ mode: z.enum(["all", "specific"]), ids: z.array(z.string()) });
export type StoredShops = z.infer<typeof StoredShopsSchema>;

/** The levels of the product hierarchy an item selection starts from, lowest first. */
export const LEVELS = ["inventory_item", "product_variant", "product", "brand"] as const;
export type Level = (typeof LEVELS)[number];
