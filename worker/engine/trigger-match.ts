import { evaluateGroup } from "../definition/conditions";
import { interpolate, type Scope } from "../definition/interpolate";
import type { Trigger } from "../definition/schema";
import type { TagFilter } from "../definition/common";

/** The tag rows a trigger is indexed under: its include tags, or "*" when it has none. */
export const ANY_TAG = "*";
export function indexTags(trigger: Pick<Trigger, "tags">): string[] {
  return trigger.tags.include.length > 0 ? [...new Set(trigger.tags.include)] : [ANY_TAG];
}

export function tagsMatch(filter: TagFilter, tags: readonly string[]): boolean {
  const have = new Set(tags);
  if (filter.exclude.some((t) => have.has(t))) return false;
  if (filter.include.length === 0) return true;
  return filter.match === "all" ? filter.include.every((t) => have.has(t)) : filter.include.some((t) => have.has(t));
}

export interface TriggerCandidate {
  entity: string;
  kind: string;
  tags: readonly string[];
  scope: Scope;
}

/**
 * Whether an event starts a run of a workflow: entity, event kind, tags, then conditions under
 * the missing-value rule of conditions.ts: a comparison with a missing operand (say
 * `trigger.previous.status ne "x"` on a created event, which has no previous) does not hold,
 * whatever the operator. A condition that cannot be evaluated at all does not match either.
 */
export function matchesTrigger(trigger: Trigger, event: TriggerCandidate): boolean {
  if (trigger.entity !== event.entity) return false;
  if (!(trigger.events as string[]).includes(event.kind)) return false;
  if (!tagsMatch(trigger.tags, event.tags)) return false;
  if (!trigger.conditions) return true;
  try {
    return evaluateGroup(trigger.conditions, (operand, missingOk) => interpolate(operand, event.scope, { missingOk })).result;
  } catch {
    return false;
  }
}
