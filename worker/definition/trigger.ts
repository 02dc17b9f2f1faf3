import { z } from "zod";
import { EventKindSchema, TagFilterSchema, TriggerEntitySchema, type TagFilter } from "./common";
import { ConditionGroupSchema } from "./conditions";

/** What starts a run of a workflow (SPEC §7): an entity, event kinds, tags, conditions. */
export const TriggerSchema = z.strictObject({
  entity: TriggerEntitySchema,
  events: z.array(EventKindSchema).min(1, "Pick at least one event kind").default(["created", "updated"]),
  tags: TagFilterSchema.default({ include: [], exclude: [], match: "any" }),
  conditions: ConditionGroupSchema.optional(),
  /**
   * An event older than the entity snapshot the mirror already holds (it arrived out of order):
   * "skip" starts no run and lists it under GET /api/events/stale; "run" starts one that sees the
   * event's own data and no `previous`.
   */
  stale_events: z.enum(["skip", "run"]).default("skip").describe("What an event older than the snapshot already held does"),
});
export type Trigger = z.infer<typeof TriggerSchema>;

/** The tag rows an active trigger is indexed under: its include tags, or ANY_TAG when it has none. */
export const ANY_TAG = "*";
export function indexTags(trigger: { tags: Pick<TagFilter, "include"> }): string[] {
  return trigger.tags.include.length > 0 ? [...new Set(trigger.tags.include)] : [ANY_TAG];
}

export function tagsMatch(filter: TagFilter, tags: readonly string[]): boolean {
  const have = new Set(tags);
  if (filter.exclude.some((t) => have.has(t))) return false;
  if (filter.include.length === 0) return true;
  return filter.match === "all" ? filter.include.every((t) => have.has(t)) : filter.include.some((t) => have.has(t));
}
