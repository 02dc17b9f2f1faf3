import { describe, expect, it } from "vitest";
import { SUBSCRIPTION_STATUSES, transition, type SubscriptionStatus } from "../../worker/entities/subscription-lifecycle";

/*
 * SPEC §12: pending → delivered → engaged → converted → completed; delivered → converted; any
 * status but completed may become cancelled; completed and cancelled are final. The same status
 * again is legal and changes nothing.
 */

/** Every legal change, written out from the SPEC rather than from the module's table. */
const LEGAL = new Set([
  "pending>delivered",
  "delivered>engaged",
  "engaged>converted",
  "converted>completed",
  "delivered>converted",
  "pending>cancelled",
  "delivered>cancelled",
  "engaged>cancelled",
  "converted>cancelled",
]);

const pairs = SUBSCRIPTION_STATUSES.flatMap((from) => SUBSCRIPTION_STATUSES.map((to) => [from, to] as [SubscriptionStatus, SubscriptionStatus]));

describe("the subscription lifecycle", () => {
  it("covers the six statuses, 36 pairs", () => {
    expect(SUBSCRIPTION_STATUSES).toEqual(["pending", "delivered", "engaged", "converted", "completed", "cancelled"]);
    expect(pairs).toHaveLength(36);
  });

  it.each(pairs)("%s → %s is legal exactly when the SPEC says so", (from, to) => {
    const t = transition(from, to);
    if (from === to) expect(t).toEqual({ legal: true, changes: false });
    else if (LEGAL.has(`${from}>${to}`)) expect(t).toEqual({ legal: true, changes: true });
    else expect(t).toMatchObject({ legal: false, reason: expect.any(String) });
  });

  it("never leaves completed or cancelled, and says they are final", () => {
    for (const from of ["completed", "cancelled"] as const) {
      for (const to of SUBSCRIPTION_STATUSES.filter((s) => s !== from)) {
        expect(transition(from, to)).toEqual({ legal: false, reason: `${from} is final: a ${from} subscription never changes status` });
      }
    }
  });

  it("names the statuses a subscription may move on to when it refuses", () => {
    expect(transition("pending", "engaged")).toEqual({ legal: false, reason: "a pending subscription can become delivered or cancelled, not engaged" });
    expect(transition("converted", "delivered")).toEqual({ legal: false, reason: "a converted subscription can become completed or cancelled, not delivered" });
  });
});
