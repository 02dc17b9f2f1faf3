import { z } from "zod";
import { interpolateString, toText, type Scope } from "../definition/interpolate";
import { EntityIdSchema, MAX_TAGS, TagSchema } from "../entities/registry";
import { type ActionResult, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { attempt, changeOutcome, changeSource, EntityRefConfig, previewRead, resolveTarget, triggerCustomer } from "./entity-common";

/* add_customer_tags and remove_customer_tags: one shape, the change apart. */

/** A tag as written in a config: a tag, or a template that gives tags at run time. */
const TagEntry = z
  .string()
  .min(1, "A tag is at least 1 character")
  .max(1000)
  .refine((t) => t.includes("{{") || TagSchema.safeParse(t).success, { message: "A tag is at most 100 characters" });

export const CustomerTagsConfigSchema = z.strictObject({
  tags: z.array(TagEntry).min(1, "Give at least one tag").max(MAX_TAGS, `At most ${MAX_TAGS} tags`),
  /** Absent: the trigger's customer. */
  customer: EntityRefConfig.optional(),
});
export type CustomerTagsConfig = z.infer<typeof CustomerTagsConfigSchema>;

/** The step's input: the customer written out, tags interpolated and checked like an entity's. */
export const CustomerTagsInputSchema = z.strictObject({
  customer: EntityIdSchema,
  tags: z.array(TagSchema).min(1, "No tag is left after interpolation").max(MAX_TAGS, `At most ${MAX_TAGS} tags`),
});
export type CustomerTagsInput = z.infer<typeof CustomerTagsInputSchema>;

export interface CustomerTagsOutput {
  customer_id: string;
  /** The customer's tags after the step. */
  tags: string[];
}

/**
 * The tags a config gives: each entry interpolated; one that is exactly a reference to a list
 * (`{{trigger.data.segments}}`) gives every item. Empty ones are dropped, each tag kept once.
 */
function resolveTags(entries: readonly string[], scope: Scope): string[] {
  const tags = entries.flatMap((entry) => {
    const value = interpolateString(entry, scope);
    return (Array.isArray(value) ? value : [value]).map(toText).filter((t) => t !== "");
  });
  return [...new Set(tags)];
}

/**
 * A node that changes a customer's tags in the mirror (SPEC §12) with the run as the source:
 * `apply` gives the tags after the change, computed from the ones the mirror holds now. Tags the
 * customer already has (or lacks, for a removal) change nothing and write nothing, so the step
 * is idempotent; the tag index moves with the snapshot.
 */
export function customerTagsAction<T extends string>(m: { type: T; label: string; apply(held: readonly string[], tags: readonly string[]): string[] }) {
  return defineAction({
    type: m.type,
    label: m.label,
    configSchema: CustomerTagsConfigSchema,
    resolve(config, scope): CustomerTagsInput {
      const customer = resolveTarget("customer", config.customer, scope, triggerCustomer);
      const parsed = CustomerTagsInputSchema.safeParse({ customer, tags: resolveTags(config.tags, scope) });
      if (!parsed.success) throw new Error(issuesText(parsed.error));
      return parsed.data;
    },
    execute(raw, ctx, deps): Promise<ActionResult> {
      const parsed = CustomerTagsInputSchema.safeParse(raw);
      if (!parsed.success) return Promise.resolve({ ok: false, error: `Invalid input: ${issuesText(parsed.error)}`, retryable: false });
      const { customer: id, tags } = parsed.data;
      return attempt(async () => {
        const result = await deps.mirror.change(
          "customer",
          id,
          (current) => {
            const next = m.apply(current.tags, tags);
            if (next.length === current.tags.length && next.every((t, i) => t === current.tags[i])) return { next: null };
            if (next.length > MAX_TAGS) return { refused: `Customer ${id} would carry ${next.length} tags; at most ${MAX_TAGS}` };
            return { next: { ...current, tags: next } };
          },
          changeSource(ctx),
        );
        return changeOutcome("customer", id, result, (now): CustomerTagsOutput => ({ customer_id: id, tags: now.tags }), ctx);
      });
    },
    /** The customer's tags before and after, from the mirror's snapshot now; nothing written. */
    async preview(raw, ctx): Promise<Preview> {
      const parsed = CustomerTagsInputSchema.safeParse(raw);
      if (!parsed.success) return { previewable: true, output: null, error: `Invalid input: ${issuesText(parsed.error)}` };
      const { customer: id, tags } = parsed.data;
      const current = await previewRead(ctx, "customer", id);
      if (typeof current === "string") return { previewable: true, output: null, error: current };
      const after = m.apply(current.tags, tags);
      const output = { customer_id: id, before: current.tags, after };
      if (after.length > MAX_TAGS) return { previewable: true, output, error: `Customer ${id} would carry ${after.length} tags; at most ${MAX_TAGS}` };
      const stepOutput: CustomerTagsOutput = { customer_id: id, tags: after };
      return { previewable: true, output, stepOutput };
    },
  });
}

export const addTags = (held: readonly string[], tags: readonly string[]) => [...held, ...tags.filter((t) => !held.includes(t))];
export const removeTags = (held: readonly string[], tags: readonly string[]) => held.filter((t) => !tags.includes(t));
