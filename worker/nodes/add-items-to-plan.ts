import { z } from "zod";
import { DateSpecSchema, TagFilterSchema } from "../definition/common";
import { resolveDateSpec } from "../definition/date-spec";
import { interpolateString, toText } from "../definition/interpolate";
import { capExceeded, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { CountsSchema, type PreviewPlan } from "../planning/port";
import { CreateOrGetPlanOutputSchema, PREVIEW_PLAN } from "./create-or-get-plan";
import { interpolateIds, parseInput, ShopScopeSchema, triggerShop } from "./plan-common";

const Id = z.string().min(1).max(200);
const isTemplate = (s: string) => s.includes("{{");

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
  // Units per waiting customer (SPEC §12): the variant's pending subscriptions × factor − on order.
  z.strictObject({ strategy: z.literal("waitlist"), factor: z.number().positive().max(100).default(1) }),
]);

export const MatchingStrategySchema = z.discriminatedUnion("strategy", [
  z
    .strictObject({ strategy: z.literal("fixed"), from_shop: Id, to_shop: Id })
    .refine((m) => isTemplate(m.from_shop) || m.from_shop !== m.to_shop, {
      message: "from_shop and to_shop must be different shops",
      path: ["to_shop"],
    }),
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

/** The step's input as recorded: templates interpolated, the markdown date a UTC date. */
export const AddItemsToPlanInputSchema = AddItemsToPlanConfigSchema.extend({
  markdown_date: z.iso.date().nullable().optional(),
});
export type AddItemsToPlanInput = z.infer<typeof AddItemsToPlanInputSchema>;

export const AddItemsToPlanOutputSchema = CountsSchema.extend({
  plan_id: z.string(),
  /** Invocations the step took (more than one when it continued from a checkpoint). */
  invocations: z.int(),
});
export type AddItemsToPlanOutput = z.infer<typeof AddItemsToPlanOutputSchema>;

export const addItemsToPlan = defineAction({
  type: "add_items_to_plan",
  label: "Add items to plan",
  configSchema: AddItemsToPlanConfigSchema,
  resolve(config, scope, now): AddItemsToPlanInput {
    const text = (s: string) => toText(interpolateString(s, scope));
    const shopIds = interpolateIds(config.shops.ids, scope);
    const shop = config.shops.mode === "from_trigger" ? triggerShop(scope.trigger) : undefined;
    return parseInput(AddItemsToPlanInputSchema, {
      ...config,
      plan: text(config.plan),
      filter: {
        ...config.filter,
        ids: interpolateIds(config.filter.ids, scope),
        tags: { ...config.filter.tags, include: interpolateIds(config.filter.tags.include, scope), exclude: interpolateIds(config.filter.tags.exclude, scope) },
      },
      // The trigger's shop is written out so the recorded input shows it.
      shops: { mode: config.shops.mode, ids: shop ? [shop] : shopIds },
      matching: config.matching?.strategy === "fixed" ? { ...config.matching, from_shop: text(config.matching.from_shop), to_shop: text(config.matching.to_shop) } : config.matching,
      markdown_date: config.markdown_date ? resolveDateSpec(config.markdown_date, scope, now) : undefined,
    });
  },
  async execute(raw, ctx, deps) {
    const parsed = AddItemsToPlanInputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `Invalid input: ${issuesText(parsed.error)}`, retryable: false };
    // Each page asks the daily units cap (SPEC §14) for what it adds, before writing it; a page
    // done again (a retry, a continued invocation) has the same place and counts once.
    let refused: { error: string } | undefined;
    const admit = async (units: number, page: string) => {
      const cap = await deps.caps.reserve("units", units, page);
      if (!cap.ok) refused = cap;
      return cap.ok ? undefined : cap.error;
    };
    const outcome = await deps.planning.addItems(parsed.data, { ...ctx, admit });
    return refused ? capExceeded(refused) : outcome;
  },
  summary: {
    counters: ["items_added", "items_skipped"],
    summarize: (output) => {
      const o = AddItemsToPlanOutputSchema.safeParse(output);
      return o.success ? { items_added: o.data.added, items_skipped: o.data.skipped } : {};
    },
  },
  /**
   * The lines the step would add, read only (worker/planning/preview.ts): `{plan: "create" |
   * "reuse", plan_id, lines (the first 50), totals, shops}` with units, cost and retail value and
   * margin per shop. A plan create_or_get_plan would create is the one its preview described.
   */
  async preview(raw, ctx): Promise<Preview> {
    const fails = (error: string): Preview => ({ previewable: true, output: null, error });
    const parsed = AddItemsToPlanInputSchema.safeParse(raw);
    if (!parsed.success) return fails(`Invalid input: ${issuesText(parsed.error)}`);
    const input = parsed.data;
    if (!ctx.planning) return { previewable: false, reason: "This preview reads no plans" };
    let plan: PreviewPlan | undefined;
    if (input.plan.startsWith(PREVIEW_PLAN)) {
      const made = Object.values(ctx.steps ?? {})
        .map((s) => CreateOrGetPlanOutputSchema.safeParse(s.output).data)
        .find((o) => o?.plan_id === input.plan);
      if (made) plan = { id: made.plan_id, kind: made.kind, name: made.name, status: made.status, deadline: made.deadline ?? null, shops: made.shops };
    } else {
      plan = await ctx.planning.plan(input.plan);
    }
    if (!plan) return fails(`No plan has the id ${input.plan}; run create_or_get_plan first and pass {{steps.<its id>.output.plan_id}}`);
    const r = await ctx.planning.previewItems(input, plan, ctx.trigger);
    if ("error" in r) return fails(r.error);
    const created = input.plan.startsWith(PREVIEW_PLAN);
    const stepOutput: AddItemsToPlanOutput = {
      plan_id: plan.id,
      candidates: r.candidates,
      added: r.totals.lines,
      updated: 0,
      unchanged: 0,
      removed: 0,
      skipped: r.skipped,
      skipped_margin_floor: 0,
      total_quantity: r.totals.units,
      invocations: 1,
    };
    return {
      previewable: true,
      output: { plan: created ? "create" : "reuse", plan_id: plan.id, ...r },
      stepOutput,
      impact: { plan_lines: r.totals.lines, units: r.totals.units, cost_value: r.totals.cost_value, retail_value: r.totals.retail_value },
    };
  },
});
