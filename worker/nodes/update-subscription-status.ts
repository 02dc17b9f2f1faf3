import { z } from "zod";
import { EntityIdSchema } from "../entities/registry";
import { SUBSCRIPTION_STATUSES, transition, type SubscriptionStatus } from "../entities/subscription-lifecycle";
import { type ActionResult, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { attempt, changeOutcome, changeSource, EntityRefConfig, previewRead, resolveTarget, triggerSubscription } from "./entity-common";

const StatusSchema = z.enum(SUBSCRIPTION_STATUSES);

export const UpdateSubscriptionStatusConfigSchema = z.strictObject({
  status: StatusSchema,
  /** Absent: the trigger's subscription. */
  subscription: EntityRefConfig.optional(),
});
export type UpdateSubscriptionStatusConfig = z.infer<typeof UpdateSubscriptionStatusConfigSchema>;

/** The step's input: the subscription written out. */
export const UpdateSubscriptionStatusInputSchema = z.strictObject({ status: StatusSchema, subscription: EntityIdSchema });
export type UpdateSubscriptionStatusInput = z.infer<typeof UpdateSubscriptionStatusInputSchema>;

export interface UpdateSubscriptionStatusOutput {
  subscription_id: string;
  from: SubscriptionStatus;
  to: SubscriptionStatus;
}

/**
 * Moves a subscription along its lifecycle (SPEC §12, entities/subscription-lifecycle.ts) in the
 * mirror, with the run as the change's source; moving to `delivered` stamps `notified_at`. The
 * status the subscription already has is a success that writes nothing (`from` = `to`), so a
 * repeated step is harmless; an illegal change fails the step, not retried. The legality is
 * judged on the snapshot the write replaces, never on the trigger's older copy.
 */
export const updateSubscriptionStatus = defineAction({
  type: "update_subscription_status",
  label: "Update subscription status",
  configSchema: UpdateSubscriptionStatusConfigSchema,
  resolve(config, scope): UpdateSubscriptionStatusInput {
    return { status: config.status, subscription: resolveTarget("subscription", config.subscription, scope, triggerSubscription) };
  },
  execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = UpdateSubscriptionStatusInputSchema.safeParse(raw);
    if (!parsed.success) return Promise.resolve({ ok: false, error: `Invalid input: ${issuesText(parsed.error)}`, retryable: false });
    const { status: to, subscription: id } = parsed.data;
    return attempt(async () => {
      const result = await deps.mirror.change(
        "subscription",
        id,
        (current) => {
          const from = StatusSchema.safeParse(current.status);
          if (!from.success) return { refused: `Subscription ${id} has the status ${JSON.stringify(current.status)}, which is not one of ${SUBSCRIPTION_STATUSES.join(", ")}` };
          const t = transition(from.data, to);
          if (!t.legal) return { refused: `Subscription ${id} cannot become ${to}: ${t.reason}` };
          if (!t.changes) return { next: null };
          return { next: { ...current, status: to, ...(to === "delivered" ? { notified_at: ctx.now.toISOString() } : {}) } };
        },
        changeSource(ctx),
      );
      return changeOutcome(
        "subscription",
        id,
        result,
        // The change read both statuses already: `before` held a lifecycle status, `now` holds `to`.
        (_now, before): UpdateSubscriptionStatusOutput => ({ subscription_id: id, from: StatusSchema.catch(to).parse(before.status), to }),
        ctx,
      );
    });
  },
  /** The change as it would be judged on the mirror's snapshot now: `{subscription_id, from, to, legal}`; illegal would fail. */
  async preview(raw, ctx): Promise<Preview> {
    const parsed = UpdateSubscriptionStatusInputSchema.safeParse(raw);
    if (!parsed.success) return { previewable: true, output: null, error: `Invalid input: ${issuesText(parsed.error)}` };
    const { status: to, subscription: id } = parsed.data;
    const current = await previewRead(ctx, "subscription", id);
    if (typeof current === "string") return { previewable: true, output: null, error: current };
    const from = StatusSchema.safeParse(current.status);
    if (!from.success) return { previewable: true, output: { subscription_id: id, from: current.status ?? null, to, legal: false }, error: `Subscription ${id} has the status ${JSON.stringify(current.status)}, which is not one of ${SUBSCRIPTION_STATUSES.join(", ")}` };
    const t = transition(from.data, to);
    const output = { subscription_id: id, from: from.data, to, legal: t.legal };
    if (!t.legal) return { previewable: true, output, error: `Subscription ${id} cannot become ${to}: ${t.reason}` };
    const stepOutput: UpdateSubscriptionStatusOutput = { subscription_id: id, from: from.data, to };
    return { previewable: true, output, stepOutput };
  },
});
