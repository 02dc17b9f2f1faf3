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
