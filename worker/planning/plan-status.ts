import type { PlanStatus } from "./plan";

/*
 * What a plan's status allows (SPEC §9, issue 14), pure. Runs fill draft and open plans; a planner
 * approves an open plan, which freezes it against runs (create_or_get_plan then starts a new open
 * plan of that kind and name), and may still edit its quantities until it is closed (done) or
 * cancelled (dropped). Closed and cancelled are final.
 */

/** The statuses each status may move to. */
export const PLAN_TRANSITIONS: Readonly<Record<PlanStatus, readonly PlanStatus[]>> = {
  draft: ["open", "closed", "cancelled"],
  open: ["approved", "closed", "cancelled"],
  // Reopening hands the plan back to runs: refused (409) while another open plan has its kind and name.
  approved: ["open", "closed", "cancelled"],
  closed: [],
  cancelled: [],
};

/** Statuses whose plans runs may add lines to (add_items_to_plan). */
export const RUN_WRITABLE: readonly PlanStatus[] = ["draft", "open"];

/** Statuses whose plans a planner may edit (a line's quantity). */
export const EDITABLE: readonly PlanStatus[] = ["draft", "open", "approved"];

/** Takes any text: the status as a page of add_items_to_plan reads it from D1. */
export const acceptsRunLines = (s: string) => (RUN_WRITABLE as readonly string[]).includes(s);
export const acceptsEdits = (s: PlanStatus) => EDITABLE.includes(s);
export const isFinal = (s: PlanStatus) => PLAN_TRANSITIONS[s].length === 0;

export type Transition = { ok: true; change: boolean } | { ok: false; reason: string };

/** Whether a plan in `from` may become `to`; asking for the current status is allowed and changes nothing. */
export function transition(from: PlanStatus, to: PlanStatus): Transition {
  if (from === to) return { ok: true, change: false };
  const allowed = PLAN_TRANSITIONS[from];
  if (allowed.includes(to)) return { ok: true, change: true };
  return {
    ok: false,
    reason: `A ${from} plan cannot become ${to}` + (allowed.length ? `; it can become ${allowed.join(" or ")}` : `; ${from} is final`),
  };
}

/** Why runs may not add lines to a plan in this status, or undefined when they may. */
export function refusesRunLines(plan: { id: string; name: string; status: PlanStatus }): string | undefined {
  if (acceptsRunLines(plan.status)) return undefined;
  return `Plan ${plan.id} (${plan.name}) is ${plan.status}; items can only be added to a draft or open plan`;
}

/** Why a planner may not edit this plan's lines, or undefined when they may. */
export function refusesEdits(status: PlanStatus): string | undefined {
  if (acceptsEdits(status)) return undefined;
  return `A ${status} plan cannot be edited; only draft, open and approved plans can`;
}
