import { SUBSCRIPTION_STATUSES } from "./registry";

/**
 * The lifecycle of a back-in-stock subscription (SPEC §12), pure:
 *
 *   pending → delivered → engaged → converted → completed
 *                     └──────────────↗ (bought without clicking)
 *
 * Any status but `completed` may become `cancelled`; `completed` and `cancelled` are final.
 * Asking for the status a subscription already has is legal and changes nothing, so that a
 * repeated step (a retry, a second run of the same event) succeeds without a write.
 */

export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export { SUBSCRIPTION_STATUSES };

/** The statuses each status may move on to (itself aside). */
export const NEXT_STATUSES: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  pending: ["delivered", "cancelled"],
  delivered: ["engaged", "converted", "cancelled"],
  engaged: ["converted", "cancelled"],
  converted: ["completed", "cancelled"],
  completed: [],
  cancelled: [],
};

export const isFinal = (status: SubscriptionStatus) => NEXT_STATUSES[status].length === 0;

export type Transition = { legal: true; changes: boolean } | { legal: false; reason: string };

/** Whether `from` may become `to`; `changes` is false when it already is `to`. */
export function transition(from: SubscriptionStatus, to: SubscriptionStatus): Transition {
  if (from === to) return { legal: true, changes: false };
  if (NEXT_STATUSES[from].includes(to)) return { legal: true, changes: true };
  const next = NEXT_STATUSES[from];
  const reason = isFinal(from)
    ? `${from} is final: a ${from} subscription never changes status`
    : `a ${from} subscription can become ${next.join(" or ")}, not ${to}`;
  return { legal: false, reason };
}
