import type { Controls, WaitingFor } from "../definition/controls";

/*
 * The decisions of a flow-control gate (SPEC §14), pure: what happens to an event that arrives,
 * and which held runs may start now. The gate object (gate-object.ts) keeps the state in its
 * storage and carries the decisions out.
 */

const MINUTE = 60_000;

/** What the gate holds of one key, as the rules need it. */
export interface GateView {
  now: number;
  /** When the gate last accepted an event for a run (the cooldown counts from it); 0 never. */
  lastAccept: number;
  /** The run waiting for a quiet window, if any: the debounce entry a new event folds into. */
  debouncing: boolean;
}

export type Arrival =
  /** Inside the cooldown: no run; counted as suppressed. */
  | { kind: "suppress" }
  /** A run waits for a quiet window already: the event replaces its trigger and restarts the window. */
  | { kind: "fold"; until: number }
  /** A new run waits for a quiet window. */
  | { kind: "debounce"; until: number }
  /** A new run joins the queue for a start. */
  | { kind: "queue" };

export function arrive(c: Controls, g: GateView): Arrival {
  if (c.cooldown_minutes !== undefined && g.lastAccept > 0 && g.now < g.lastAccept + c.cooldown_minutes * MINUTE) return { kind: "suppress" };
  if (c.debounce_minutes !== undefined) {
    const until = g.now + c.debounce_minutes * MINUTE;
    return g.debouncing ? { kind: "fold", until } : { kind: "debounce", until };
  }
  return { kind: "queue" };
}

/** The throttle's fixed window a time falls in, and when the next one begins. */
export function throttleWindow(c: Controls, now: number): { window: number; next: number } | null {
  if (!c.throttle) return null;
  const period = c.throttle.period_minutes * MINUTE;
  const window = Math.floor(now / period);
  return { window, next: (window + 1) * period };
}

export interface Admission {
  /** How many queued runs start now, from the head of the queue. */
  start: number;
  /** Why the rest wait (when some do). */
  reason: WaitingFor | null;
  /** When a throttled head may start (epoch ms), if the throttle holds it. */
  notBefore: number | null;
}

/**
 * How many of `queued` runs start now, given the runs running and the starts made in the current
 * throttle window (`windowStarts`, already reset by the caller when the window changed).
 */
export function admit(c: Controls, now: number, queued: number, running: number, windowStarts: number): Admission {
  const slots = c.concurrency === undefined ? Infinity : Math.max(0, c.concurrency - running);
  const left = c.throttle ? Math.max(0, c.throttle.limit - windowStarts) : Infinity;
  const start = Math.min(queued, slots, left);
  if (start === queued) return { start, reason: null, notBefore: null };
  // Throttled when the window's starts ran out before the slots did.
  if (left <= slots) return { start, reason: "throttle", notBefore: throttleWindow(c, now)!.next };
  return { start, reason: "concurrency", notBefore: null };
}
