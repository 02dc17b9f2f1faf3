import { z } from "zod";
import { TagFilterSchema, TriggerEntitySchema, TriggerEventKindSchema, type TagFilter } from "./common";
import { ConditionGroupSchema } from "./conditions";
import { cronProblem } from "../lib/cron";

/**
 * How a back-in-stock trigger notifies (SPEC §12): when a variant's available stock rises from
 * below `min_stock` to at least it, its pending subscriptions are notified in waves of at most
 * ceil(available × per_unit), oldest first, `wave_minutes` apart while stock stays ≥ min_stock;
 * without `per_unit`, all at once.
 */
export const RestockSchema = z.strictObject({
  min_stock: z.int().min(1).max(1_000_000).default(1).describe("Available units at which a restock starts"),
  per_unit: z.number().positive().max(1000).optional().describe("Subscriptions notified per available unit and wave; all at once when absent"),
  wave_minutes: z.int().min(1).max(10_080).default(60).describe("Minutes between waves; stock is counted again before each"),
});
export type Restock = z.infer<typeof RestockSchema>;

/**
 * A schedule (SPEC §15): the trigger fires at the minutes of a five-field UTC cron expression
 * instead of on events. `each: "entity"` starts one run per mirrored entity of the trigger's kind
 * that matches its tags and conditions at the tick; `each: "tick"` one run per tick, with no
 * entity. The trigger's `entity` stays required either way, so every definition written before
 * schedules existed, and every part of the product that reads a trigger's entity, is unchanged;
 * with `each: "tick"` it names no data (the run's trigger is the tick), and tags and conditions,
 * which filter entities, are refused. A schedule listens to no events: `events` is not used.
 */
export const ScheduleSchema = z.strictObject({
  cron: z
    .string()
    .trim()
    .min(1, 'Give a cron expression such as "0 6 * * 1" (Mondays at 06:00 UTC)')
    .max(200)
    .superRefine((cron, ctx) => {
      const problem = cronProblem(cron);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("Five fields, UTC: minute hour day-of-month month day-of-week"),
  each: z.enum(["entity", "tick"]).default("entity").describe("One run per matching entity at each tick, or one run per tick"),
});
export type Schedule = z.infer<typeof ScheduleSchema>;

/** What starts a run of a workflow (SPEC §7): an entity, event kinds, tags, conditions; or a schedule (SPEC §15). */
export const TriggerSchema = z.strictObject({
  entity: TriggerEntitySchema,
  events: z.array(TriggerEventKindSchema).min(1, "Pick at least one event kind").default(["created", "updated"]),
  tags: TagFilterSchema.default({ include: [], exclude: [], match: "any" }),
  conditions: ConditionGroupSchema.optional(),
  /**
   * An event older than the entity snapshot the mirror already holds (it arrived out of order):
   * "skip" starts no run and lists it under GET /api/events/stale; "run" starts one that sees the
   * event's own data and no `previous`.
   */
  stale_events: z.enum(["skip", "run"]).default("skip").describe("What an event older than the snapshot already held does"),
  /** Only with `events: ["back_in_stock"]` on subscriptions; `{}` takes every default. */
  restock: RestockSchema.optional(),
  /** Runs at the minutes of a cron expression instead of on events (SPEC §15). */
  schedule: ScheduleSchema.optional(),
}).superRefine((t, ctx) => {
  // A back-in-stock trigger is indexed apart from the entity's platform events (indexEntity), so
  // it listens to nothing else.
  const bis = t.events.includes("back_in_stock");
  if (bis && t.entity !== "subscription") ctx.addIssue({ code: "custom", path: ["events"], message: "back_in_stock is an event of subscription triggers only" });
  else if (bis && t.events.length > 1) ctx.addIssue({ code: "custom", path: ["events"], message: "back_in_stock cannot be combined with other event kinds: make a second workflow" });
  else if (bis && t.restock === undefined) ctx.addIssue({ code: "custom", path: ["restock"], message: 'A back_in_stock trigger needs "restock": {"min_stock": 1} at least' });
  if (!bis && t.restock !== undefined) ctx.addIssue({ code: "custom", path: ["restock"], message: 'restock applies only to events ["back_in_stock"]' });
  if (t.schedule !== undefined && (bis || t.restock !== undefined)) {
    ctx.addIssue({ code: "custom", path: ["schedule"], message: "A back-in-stock trigger starts from restocks: it cannot also run on a schedule" });
  }
  if (t.schedule?.each === "tick") {
    const message = 'Tags and conditions filter entities: a schedule with "each": "tick" has none (use "each": "entity")';
    if (t.tags.include.length > 0 || t.tags.exclude.length > 0) ctx.addIssue({ code: "custom", path: ["tags"], message });
    if (t.conditions !== undefined) ctx.addIssue({ code: "custom", path: ["conditions"], message });
  }
});
export type Trigger = z.infer<typeof TriggerSchema>;

/**
 * The trigger_index entity of back-in-stock triggers: no platform entity has a dot in its name, so
 * no platform event reads them as candidates; the consumer reads them when stock changes.
 */
export const RESTOCK_INDEX_ENTITY = "subscription.back_in_stock";

/** Whether the trigger is a back-in-stock one, with its restock settings. */
export const isRestockTrigger = (t: Pick<Trigger, "events" | "restock">): t is Trigger & { restock: Restock } =>
  t.restock !== undefined && t.events.includes("back_in_stock");

/**
 * The trigger_index entity of scheduled triggers: no platform event reads them (no entity has a
 * dot), and the minute tick finds every active schedule with one read of the index (SPEC §15).
 */
export const SCHEDULE_INDEX_ENTITY = "schedule.cron";

/** The entity an active trigger is indexed under (see RESTOCK_INDEX_ENTITY, SCHEDULE_INDEX_ENTITY). */
export function indexEntity(t: Pick<Trigger, "entity" | "events" | "restock"> & { schedule?: Schedule | undefined }): string {
  if (t.schedule !== undefined) return SCHEDULE_INDEX_ENTITY;
  return isRestockTrigger(t) ? RESTOCK_INDEX_ENTITY : t.entity;
}

/** The tag rows an active trigger is indexed under: its include tags, or ANY_TAG when it has none. */
export const ANY_TAG = "*";
export function indexTags(trigger: { tags: Pick<TagFilter, "include">; events?: readonly string[]; restock?: Restock | undefined; schedule?: Schedule | undefined }): string[] {
  // The tick reads every schedule: one row each, under no tag.
  if (trigger.schedule !== undefined) return [ANY_TAG];
  // Restocks are found by variant, not by tag: every back-in-stock trigger is a candidate, and its
  // tags are matched on each subscription when its wave starts.
  if (trigger.events && isRestockTrigger({ events: trigger.events as Trigger["events"], restock: trigger.restock })) return [ANY_TAG];
  return trigger.tags.include.length > 0 ? [...new Set(trigger.tags.include)] : [ANY_TAG];
}

export function tagsMatch(filter: TagFilter, tags: readonly string[]): boolean {
  const have = new Set(tags);
  if (filter.exclude.some((t) => have.has(t))) return false;
  if (filter.include.length === 0) return true;
  return filter.match === "all" ? filter.include.every((t) => have.has(t)) : filter.include.some((t) => have.has(t));
}
