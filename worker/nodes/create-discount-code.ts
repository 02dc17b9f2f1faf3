import { z } from "zod";
import { DiscountTypeSchema } from "../discounts/discount";
import { DateSpecSchema } from "../definition/common";
import { resolveDateSpec } from "../definition/date-spec";
import { interpolateString, toText, type Scope } from "../definition/interpolate";
import { endOfDay, PREFIX_PATTERN } from "../discounts/code";
import { type ActionResult, capExceeded, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { interpolateIds, parseInput } from "./plan-common";

/** ISO 4217 codes the runtime's ICU knows (every current currency); any three capitals if it lists none. */
const CURRENCIES: ReadonlySet<string> | undefined = (() => {
  try {
    return new Set(Intl.supportedValuesOf("currency"));
  } catch {
    return undefined;
  }
})();
const isCurrency = (c: string) => /^[A-Z]{3}$/.test(c) && (CURRENCIES === undefined || CURRENCIES.has(c));

const Currency = z
  .string()
  .trim()
  .toUpperCase()
  .refine(isCurrency, { message: "Use an ISO 4217 currency code such as EUR or USD" });

const Prefix = z.string().regex(PREFIX_PATTERN, "A prefix is up to 10 capital letters A-Z and digits, e.g. BACK");

/** A percent code takes 1 to 100 and no currency; an amount code a positive amount in a currency. */
function checkValue(c: { type: "percent" | "amount"; value: number; currency?: string | null | undefined }, ctx: z.RefinementCtx) {
  if (c.type === "percent") {
    if (c.value < 1 || c.value > 100) ctx.addIssue({ code: "custom", path: ["value"], message: "A percent discount is between 1 and 100" });
    if (c.currency) ctx.addIssue({ code: "custom", path: ["currency"], message: "A percent discount takes no currency; remove it or use type amount" });
  } else {
    if (!(c.value > 0)) ctx.addIssue({ code: "custom", path: ["value"], message: "An amount off is more than 0" });
    if (!c.currency) ctx.addIssue({ code: "custom", path: ["currency"], message: "Give the currency of the amount, e.g. EUR" });
  }
}

const Value = z.number().max(1_000_000_000, "At most 1,000,000,000");
const Template = z.string().min(1).max(200);

export const CreateDiscountCodeConfigSchema = z
  .strictObject({
    type: DiscountTypeSchema,
    value: Value,
    currency: Currency.optional(),
    /** The code works through the end of this UTC day. */
    expires: DateSpecSchema,
    usage_limit: z.int().min(1, "A code can be used at least once").max(1_000_000).default(1),
    prefix: Prefix.optional(),
    /** The customer the code is for (a template); default: the trigger's customer, if it has one. */
    customer: Template.optional(),
    /** The variants it applies to (templates; a reference to a list adds each); none: any variant. */
    variant_ids: z.array(Template).max(100).optional(),
  })
  .superRefine(checkValue);
export type CreateDiscountCodeConfig = z.infer<typeof CreateDiscountCodeConfigSchema>;

/** The step's input as recorded: templates filled in, the expiry a UTC date. */
export const CreateDiscountCodeInputSchema = z
  .strictObject({
    type: DiscountTypeSchema,
    value: Value,
    currency: Currency.nullable(),
    expires_on: z.iso.date(),
    usage_limit: z.int().min(1).max(1_000_000),
    prefix: Prefix,
    customer_id: z.string().trim().min(1, "The customer is empty after interpolation").max(200).nullable(),
    variant_ids: z.array(z.string().min(1).max(200)).min(1, "variant_ids is empty after interpolation").max(1000).nullable(),
  })
  .superRefine(checkValue);
export type CreateDiscountCodeInput = z.infer<typeof CreateDiscountCodeInputSchema>;

export const CreateDiscountCodeOutputSchema = z.object({
  code: z.string(),
  type: DiscountTypeSchema,
  value: z.number(),
  currency: z.string().nullable(),
  /** The last instant the code works. */
  expires_at: z.string(),
  /** The same day as a date, for messages: "valid through 2026-12-04". */
  expires_on: z.string(),
  usage_limit: z.int(),
});
export type CreateDiscountCodeOutput = z.infer<typeof CreateDiscountCodeOutputSchema>;

const CustomerOfTrigger = z.union([
  z.object({ entity: z.literal("customer"), entity_id: z.string().min(1) }).transform((t) => t.entity_id),
  z.object({ data: z.looseObject({ customer_id: z.string().min(1) }) }).transform((t) => t.data.customer_id),
]);

/** The customer a trigger is about: a customer's id, or the `customer_id` of a subscription or order. */
export function triggerCustomer(trigger: Scope["trigger"]): string | null {
  const parsed = CustomerOfTrigger.safeParse(trigger);
  return parsed.success ? parsed.data : null;
}

/**
 * Makes a discount code (SPEC §12) that is unique in D1 and the same on every retry of the step:
 * the code is derived from the run id and node id (worker/discounts/code.ts), never drawn at
 * random, and the step that stored it owns it. A test run's code is marked as test data.
 */
export const createDiscountCode = defineAction({
  type: "create_discount_code",
  label: "Create discount code",
  configSchema: CreateDiscountCodeConfigSchema,
  resolve(config, scope, now): CreateDiscountCodeInput {
    const variants = config.variant_ids?.length ? interpolateIds(config.variant_ids, scope) : null;
    return parseInput(CreateDiscountCodeInputSchema, {
      type: config.type,
      value: config.value,
      currency: config.currency ?? null,
      expires_on: resolveDateSpec(config.expires, scope, now),
      usage_limit: config.usage_limit,
      prefix: config.prefix ?? "",
      customer_id: config.customer === undefined ? triggerCustomer(scope.trigger) : toText(interpolateString(config.customer, scope)),
      variant_ids: variants,
    });
  },
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = CreateDiscountCodeInputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `The discount code's input is invalid: ${issuesText(parsed.error)}`, retryable: false };
    const input = parsed.data;
    const expiresAt = endOfDay(input.expires_on);
    if (expiresAt < ctx.now.toISOString()) {
      return { ok: false, error: `The code would expire on ${input.expires_on}, before it is made: set expires to today or later`, retryable: false };
    }
    // A retry of the step gets the code it made, and the cap's answer it got: counted once.
    const cap = await deps.caps.reserve("discount_codes", 1);
    if (!cap.ok) return capExceeded(cap);
    try {
      const code = await deps.discounts.createCode(
        {
          type: input.type,
          value: input.value,
          currency: input.currency,
          expires_at: expiresAt,
          usage_limit: input.usage_limit,
          customer_id: input.customer_id,
          variant_ids: input.variant_ids,
          prefix: input.prefix,
        },
        { runId: ctx.runId, nodeId: ctx.nodeId, stepKey: ctx.idempotencyKey, test: ctx.test },
        ctx.now,
      );
      ctx.log(`code ${code.code}${code.test ? " (test)" : ""}, ${code.usage_limit} use(s), through ${code.expires_at.slice(0, 10)}`);
      const output: CreateDiscountCodeOutput = {
        code: code.code,
        type: code.type,
        value: code.value,
        currency: code.currency,
        expires_at: code.expires_at,
        expires_on: code.expires_at.slice(0, 10),
        usage_limit: code.usage_limit,
      };
      return { ok: true, output };
    } catch (err) {
      return { ok: false, error: `D1: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
    }
  },
  summary: { counters: ["discount_codes_created"], summarize: () => ({ discount_codes_created: 1 }) },
  /**
   * The code execute would make, with `PREVIEW-` in place of the derived part (a real code exists
   * only once a run's step stored it); nothing is written. The same refusal of a past expiry.
   */
  preview(raw, ctx): Promise<Preview> {
    const parsed = CreateDiscountCodeInputSchema.safeParse(raw);
    if (!parsed.success) return Promise.resolve({ previewable: true, output: null, error: `The discount code's input is invalid: ${issuesText(parsed.error)}` });
    const input = parsed.data;
    const expiresAt = endOfDay(input.expires_on);
    if (expiresAt < ctx.now.toISOString()) {
      return Promise.resolve({ previewable: true, output: null, error: `The code would expire on ${input.expires_on}, before it is made: set expires to today or later` });
    }
    const code: CreateDiscountCodeOutput = {
      code: `PREVIEW-${input.prefix}XXXXXXXX`,
      type: input.type,
      value: input.value,
      currency: input.currency,
      expires_at: expiresAt,
      expires_on: input.expires_on,
      usage_limit: input.usage_limit,
    };
    return Promise.resolve({ previewable: true, output: { ...code, customer_id: input.customer_id, variant_ids: input.variant_ids }, stepOutput: code, impact: { discount_codes: 1 } });
  },
});
