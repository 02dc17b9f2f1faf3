import { z } from "zod";
import { DateSpecSchema } from "../definition/common";
import { PlanKindSchema, ShopScopeSchema } from "./plan-common";
import { defineAction } from "./types";

export const CreateOrGetPlanConfigSchema = z.strictObject({
  kind: PlanKindSchema,
  name: z.string().min(1, "Name the plan").max(200),
  shops: ShopScopeSchema.default({ mode: "all", ids: [] }),
  deadline: DateSpecSchema.optional(),
});
export type CreateOrGetPlanConfig = z.infer<typeof CreateOrGetPlanConfigSchema>;

export const createOrGetPlan = defineAction({
  type: "create_or_get_plan",
  label: "Create or get plan",
  configSchema: CreateOrGetPlanConfigSchema,
  async execute() {
    return { ok: false, error: "create_or_get_plan is not built yet", retryable: false };
  },
  summarize: (output) => ({ plans_created: (output as { created?: boolean }).created ? 1 : 0 }),
});
