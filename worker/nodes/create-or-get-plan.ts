import { z } from "zod";
import { DateSpecSchema } from "../definition/common";
import { resolveDateSpec } from "../definition/date-spec";
import { interpolateString, toText } from "../definition/interpolate";
import { defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { PLAN_STATUSES, PlanKindSchema, StoredShopsSchema } from "../planning/plan";
import { interpolateIds, parseInput, ShopScopeSchema, triggerShop } from "./plan-common";

export const CreateOrGetPlanConfigSchema = z.strictObject({
  kind: PlanKindSchema,
  name: z.string().min(1, "Name the plan").max(200),
  shops: ShopScopeSchema.default({ mode: "all", ids: [] }),
  deadline: DateSpecSchema.optional(),
});
export type CreateOrGetPlanConfig = z.infer<typeof CreateOrGetPlanConfigSchema>;

/**
 * The step's input as recorded: name interpolated, deadline a UTC date, and the trigger's shop
 * written out (`from_trigger` stays only when the trigger has no shop, which execute reports).
 */
export const CreateOrGetPlanInputSchema = z.strictObject({
  kind: PlanKindSchema,
  name: z.string().trim().min(1, "The plan name is empty after interpolation").max(200, "The plan name is over 200 characters after interpolation"),
  shops: z.strictObject({ mode: z.enum(["all", "specific", "from_trigger"]), ids: z.array(z.string().min(1)) }),
  deadline: z.iso.date().nullable(),
});
export type CreateOrGetPlanInput = z.infer<typeof CreateOrGetPlanInputSchema>;

export const CreateOrGetPlanOutputSchema = z.object({
  plan_id: z.string(),
  created: z.boolean(),
  kind: PlanKindSchema,
  name: z.string(),
  deadline: z.string().nullable(),
  status: z.enum(PLAN_STATUSES),
  shops: StoredShopsSchema,
  /** A test plan: made (or reused) by a test run, apart from the real plans of its name. Absent in outputs recorded before test plans. */
  test: z.boolean().default(false),
});
export type CreateOrGetPlanOutput = z.infer<typeof CreateOrGetPlanOutputSchema>;

export const createOrGetPlan = defineAction({
  type: "create_or_get_plan",
  label: "Create or get plan",
  configSchema: CreateOrGetPlanConfigSchema,
  resolve(config, scope, now): CreateOrGetPlanInput {
    const ids = interpolateIds(config.shops.ids, scope);
    const shop = config.shops.mode === "from_trigger" ? triggerShop(scope.trigger) : undefined;
    return parseInput(CreateOrGetPlanInputSchema, {
      kind: config.kind,
      name: toText(interpolateString(config.name, scope)),
      shops: shop ? { mode: "specific", ids: [shop] } : { mode: config.shops.mode, ids },
      deadline: config.deadline ? resolveDateSpec(config.deadline, scope, now) : null,
    });
  },
  async execute(raw, ctx, deps) {
    const parsed = CreateOrGetPlanInputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `Invalid input: ${issuesText(parsed.error)}`, retryable: false };
    const input = parsed.data;
    let shops = input.shops;
    if (shops.mode === "from_trigger") {
      const shop = triggerShop(ctx.trigger);
      if (!shop) {
        return {
          ok: false,
          error: `shops.mode from_trigger needs an inventory_item trigger (it has the shop); this run's trigger is a ${ctx.trigger.entity}`,
          retryable: false,
        };
      }
      shops = { mode: "specific", ids: [shop] };
    }
    if (shops.mode === "specific" && shops.ids.length === 0) {
      return { ok: false, error: "shops.ids is empty after interpolation; list at least one shop", retryable: false };
    }
    const stored = shops.mode === "all" ? { mode: "all" as const, ids: [] } : { mode: "specific" as const, ids: shops.ids };
    try {
      const { plan, created } = await deps.planning.createOrGetPlan(
        // A test run gets a test plan of its own: it never adds to a real plan by name, and no real run reuses it.
        { kind: input.kind, name: input.name, shops: stored, deadline: input.deadline, test: ctx.test },
        { runId: ctx.runId, stepKey: ctx.idempotencyKey },
        ctx.now,
      );
      const which = plan.test ? "test plan" : "plan";
      ctx.log(created ? `created ${which} ${plan.id}` : `reusing open ${which} ${plan.id}`);
      const output: CreateOrGetPlanOutput = {
        plan_id: plan.id,
        created,
        kind: plan.kind,
        name: plan.name,
        deadline: plan.deadline,
        status: plan.status,
        shops: plan.shops,
        test: plan.test,
      };
      return { ok: true, output };
    } catch (err) {
      return { ok: false, error: `D1: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
    }
  },
  summary: {
    counters: ["plans_created"],
    summarize: (output) => ({ plans_created: CreateOrGetPlanOutputSchema.safeParse(output).data?.created ? 1 : 0 }),
  },
  /**
   * Which plan the step would use in a real run, read only: the open real plan of this kind and name (`reuse`), or a
   * new one (`create`) under the id `PREVIEW-plan:<kind>:<name>`, which add_items_to_plan's
   * preview recognizes. Nothing is written.
   */
  async preview(raw, ctx): Promise<Preview> {
    const fails = (error: string): Preview => ({ previewable: true, output: null, error });
    const parsed = CreateOrGetPlanInputSchema.safeParse(raw);
    if (!parsed.success) return fails(`Invalid input: ${issuesText(parsed.error)}`);
    const input = parsed.data;
    let shops = input.shops;
    if (shops.mode === "from_trigger") {
      const shop = triggerShop(ctx.trigger);
      if (!shop) return fails(`shops.mode from_trigger needs an inventory_item trigger (it has the shop); this run's trigger is a ${ctx.trigger.entity}`);
      shops = { mode: "specific", ids: [shop] };
    }
    if (shops.mode === "specific" && shops.ids.length === 0) return fails("shops.ids is empty after interpolation; list at least one shop");
    if (!ctx.planning) return { previewable: false, reason: "This preview reads no plans" };
    const open = await ctx.planning.openPlan(input.kind, input.name);
    const stored = shops.mode === "all" ? { mode: "all" as const, ids: [] } : { mode: "specific" as const, ids: [...shops.ids].sort() };
    const output: CreateOrGetPlanOutput = open
      ? { plan_id: open.id, created: false, kind: open.kind, name: open.name, deadline: open.deadline, status: open.status, shops: open.shops, test: false }
      : { plan_id: `${PREVIEW_PLAN}${input.kind}:${input.name}`, created: true, kind: input.kind, name: input.name, deadline: input.deadline, status: "open", shops: stored, test: false };
    return { previewable: true, output: { plan: open ? "reuse" : "create", ...output }, stepOutput: output };
  },
});

/** The id a previewed plan that does not exist yet goes by (followed by `<kind>:<name>`). */
export const PREVIEW_PLAN = "PREVIEW-plan:";
