import { z } from "zod";
import { interpolateString, toText, type Scope } from "../definition/interpolate";
import type { ChangeResult, ChangeSource } from "../entities/port";
import { EntityIdSchema, type EntityKind, type EntitySnapshot } from "../entities/registry";
import type { ActionContext, ActionResult, PreviewContext } from "../engine/step";

/* What the nodes that change a mirrored entity share (update_subscription_status, add/remove_customer_tags). */

/** An entity a config names: an id or a template giving one; absent, the trigger's. */
export const EntityRefConfig = z.string().min(1).max(1000);

const WithCustomer = z.looseObject({ customer_id: EntityIdSchema });

/** The trigger's customer: a customer trigger's entity, a subscription's or an order's `customer_id`. */
export function triggerCustomer(trigger: Scope["trigger"]): string | undefined {
  if (trigger.entity === "customer") return trigger.entity_id;
  if (trigger.entity === "subscription" || trigger.entity === "order") return WithCustomer.safeParse(trigger.data).data?.customer_id;
  return undefined;
}

/** The trigger's subscription: a subscription trigger's entity. */
export const triggerSubscription = (trigger: Scope["trigger"]): string | undefined => (trigger.entity === "subscription" ? trigger.entity_id : undefined);

/**
 * The id of the entity a step changes, written out in its input: the config's (interpolated) or
 * the trigger's. Throws (the step fails, not retried) when there is none or it is no id.
 */
export function resolveTarget(kind: EntityKind, configured: string | undefined, scope: Scope, ofTrigger: (t: Scope["trigger"]) => string | undefined): string {
  if (configured === undefined) {
    const id = ofTrigger(scope.trigger);
    if (id === undefined) throw new Error(`Name the ${kind}: this run's trigger is ${scope.trigger.entity} ${scope.trigger.entity_id}, which gives no ${kind}`);
    return id;
  }
  const id = toText(interpolateString(configured, scope)).trim();
  const parsed = EntityIdSchema.safeParse(id);
  if (!parsed.success) throw new Error(`The ${kind} "${configured}" gives ${id === "" ? "nothing" : `"${id}"`}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** The run's step as the source of a change to the mirror. */
export const changeSource = (ctx: ActionContext): ChangeSource => ({ runId: ctx.runId, workflowId: ctx.workflowId, nodeId: ctx.nodeId, test: ctx.test, at: ctx.now });

/**
 * A change's result as the step's: the entity as it is now goes to `output`; a missing entity or a
 * refused change fails the step at once (the data will not change by retrying).
 */
export function changeOutcome(kind: EntityKind, id: string, result: ChangeResult, output: (now: EntitySnapshot, before: EntitySnapshot) => unknown, ctx: ActionContext): ActionResult {
  switch (result.status) {
    case "missing":
      return { ok: false, error: `The mirror holds no ${kind} ${id} (never sent, or deleted)`, retryable: false };
    case "refused":
      return { ok: false, error: result.reason, retryable: false };
    case "unchanged":
      ctx.log(`${kind} ${id} already is as asked: nothing written`);
      return { ok: true, output: output(result.current, result.current) };
    case "written":
      ctx.log(`${kind} ${id} changed in the mirror${ctx.test ? " (test data)" : ""}`);
      return { ok: true, output: output(result.after, result.before) };
  }
}

/** Runs a change, a failing database being a transient failure. */
export async function attempt(run: () => Promise<ActionResult>): Promise<ActionResult> {
  try {
    return await run();
  } catch (err) {
    return { ok: false, error: `The entity mirror failed: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
  }
}

const Tags = z.array(z.string()).catch([]);

/**
 * The entity a preview judges a change on: the mirror's snapshot now (as execute would), else the
 * trigger's own copy when it is that entity (a preview of an event the mirror never saw). A
 * string says why there is none (the step would fail).
 */
export async function previewRead(ctx: PreviewContext, kind: EntityKind, id: string): Promise<EntitySnapshot | string> {
  const held = await ctx.mirror?.read(kind, id);
  if (held) return held;
  if (ctx.trigger.entity === kind && ctx.trigger.entity_id === id) {
    const data = z.record(z.string(), z.unknown()).safeParse(ctx.trigger.data);
    if (data.success) return { ...data.data, id, tags: Tags.parse(data.data.tags) };
  }
  return `The mirror holds no ${kind} ${id} (never sent, or deleted)`;
}
