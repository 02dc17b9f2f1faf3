import { evaluateGroup } from "../definition/conditions";
import { interpolate, type Scope } from "../definition/interpolate";
import { tagsMatch, type Trigger } from "../definition/trigger";

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

/** What a re-check reads of the trigger: its tags and conditions (the entity and event kind are settled). */
export type TriggerFilter = Pick<Trigger, "tags" | "conditions">;

/**
 * Whether the trigger's tags and conditions still hold on the entity as the mirror holds it now
 * (SPEC §15 `recheck_trigger`): `scope` is the run's, whose `trigger.data` is replaced by the
 * current snapshot (`previous` and `related` stay as the run started with them). Same rules as
 * matchesTrigger; an entity that is gone no longer matches.
 */
export function stillMatches(trigger: TriggerFilter, current: { tags?: unknown } | null, scope: Scope): boolean {
  if (current === null) return false;
  const tags = Array.isArray(current.tags) ? current.tags.filter((t): t is string => typeof t === "string") : [];
  if (!tagsMatch(trigger.tags, tags)) return false;
  if (!trigger.conditions) return true;
  const now: Scope = { ...scope, trigger: { ...scope.trigger, data: current } };
  try {
    return evaluateGroup(trigger.conditions, (operand, missingOk) => interpolate(operand, now, { missingOk })).result;
  } catch {
    return false;
  }
}
