import { addItems } from "./add-items";
import { createOrGetPlan } from "./plan-store";
import type { PlanningPort } from "./port";

/** The planning port on a D1 database: what the plan nodes get as `deps.planning`. */
export function planningPort(d1: D1Database): PlanningPort {
  return {
    createOrGetPlan: (plan, origin, now) => createOrGetPlan(d1, plan, origin, now),
    addItems: (input, job) => addItems(input, job, { db: d1 }),
  };
}

export { planningReadPort } from "./preview";
