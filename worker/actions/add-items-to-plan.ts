import { z } from "zod";
import { DateSpecSchema, TagFilterSchema } from "../definition/common";
import { ShopScopeSchema } from "./plan-common";
import { defineAction } from "./types";

const Id = z.string().min(1).max(200);

export const ItemFilterSchema = z.strictObject({
  entity: z.enum(["brand", "product", "product_variant", "inventory_item"]),
  from_trigger: z.boolean().default(false),
  ids: z.array(Id).max(10_000).default([]),
  tags: TagFilterSchema.default({ include: [], exclude: [], match: "any" }),
});

export const SizeScopeSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("all") }),
  z.strictObject({ mode: z.literal("below_threshold"), threshold: z.int().min(1) }),
]);

export const QuantityStrategySchema = z.discriminatedUnion("strategy", [
  z.strictObject({ strategy: z.literal("fixed"), quantity: z.int().min(1) }),
  z.strictObject({ strategy: z.literal("fill_to_target"), target: z.int().min(0).optional() }),
  z.strictObject({ strategy: z.literal("score"), min_score: z.number().min(0).max(1).default(0) }),
]);

export const MatchingStrategySchema = z.discriminatedUnion("strategy", [
  z.strictObject({ strategy: z.literal("fixed"), from_shop: Id, to_shop: Id }),
  z.strictObject({ strategy: z.literal("score") }),
]);

const Percent = z.number().min(0).max(100);
export const DiscountStrategySchema = z.discriminatedUnion("strategy", [
  z.strictObject({ strategy: z.literal("fixed"), percent: Percent }),
  z.strictObject({ strategy: z.literal("score"), max_percent: Percent }),
  z
    .strictObject({
      strategy: z.literal("recommended"),
      margin_floor: z.number().min(0).max(10).default(0),
      min_percent: Percent.default(0),
      max_percent: Percent.default(100),
    })
    .refine((d) => d.min_percent <= d.max_percent, {
      message: "min_percent must not exceed max_percent",
      path: ["max_percent"],
    }),
]);

export const AddItemsToPlanConfigSchema = z.strictObject({
  plan: z.string().min(1, "Say which plan, e.g. {{steps.plan.output.plan_id}}"),
  filter: ItemFilterSchema,
  shops: ShopScopeSchema.default({ mode: "all", ids: [] }),
  sizes: SizeScopeSchema.default({ mode: "all" }),
  quantity: QuantityStrategySchema.default({ strategy: "fixed", quantity: 1 }),
  matching: MatchingStrategySchema.optional(),
  discount: DiscountStrategySchema.optional(),
  markdown_date: DateSpecSchema.optional(),
});
export type AddItemsToPlanConfig = z.infer<typeof AddItemsToPlanConfigSchema>;

export const addItemsToPlan = defineAction({
  type: "add_items_to_plan",
  label: "Add items to plan",
  configSchema: AddItemsToPlanConfigSchema,
  async execute() {
    return { ok: false, error: "add_items_to_plan is not built yet", retryable: false };
  },
  summarize: (output) => {
    const o = output as { added?: number; skipped?: number };
    return { items_added: o.added ?? 0, items_skipped: o.skipped ?? 0 };
  },
});
