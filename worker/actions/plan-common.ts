import { z } from "zod";

export const PLAN_KINDS = ["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"] as const;
export const PlanKindSchema = z.enum(PLAN_KINDS);
export type PlanKind = z.infer<typeof PlanKindSchema>;

const Id = z.string().min(1).max(200);

/** Which shops a plan or a selection covers. */
export const ShopScopeSchema = z
  .strictObject({
    mode: z.enum(["all", "specific", "from_trigger"]).default("all"),
    ids: z.array(Id).max(1000).default([]),
  })
  .refine((s) => s.mode !== "specific" || s.ids.length > 0, {
    message: "List at least one shop for specific shops",
    path: ["ids"],
  });
export type ShopScope = z.infer<typeof ShopScopeSchema>;
