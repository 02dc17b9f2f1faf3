import { z } from "zod";

/*
 * Runs waiting for events (SPEC §15, `wait_for_event`), as the node reaches them: a port, so that
 * the node and the engine stay binding-free. worker/waits/store.ts implements it on D1, where the
 * queue consumer finds the waits an event answers (worker/intake/awaited.ts).
 *
 * How no awaited event is missed, even one consumed while the wait is being registered: every
 * event of a type some run ever waited for is logged (for an hour) in the transaction that reads
 * which key paths its waits use, and a run registers its wait and reads that log in one
 * transaction. D1 runs transactions one after another, so either the consumer's read comes after
 * the registration (it finds the wait and delivers the event) or the registration comes after the
 * log write (its look-back finds the event); often both, and the run counts an event once: the
 * first event that matches ends the step, later deliveries find it ended.
 */

/** An event as a waiting run gets it: what `steps.<id>.output.event` holds. */
export const AwaitedEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  entity: z.string(),
  entity_id: z.string(),
  occurred_at: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type AwaitedEvent = z.infer<typeof AwaitedEventSchema>;

/** One step's wait for events of one type. */
export interface EventWait {
  event_type: string;
  /**
   * A path in the event (`data.customer_id`) the step's match pins with `eq`, and that value as
   * `matchKey` writes it: the consumer delivers only events whose value there has the same key.
   * Both "" when the match pins none: every event of the type is delivered.
   */
  key_path: string;
  key_value: string;
  run_id: string;
  node_id: string;
  /** ISO: events that occurred from then on count (the start of the second the wait began). */
  since: string;
  /** ISO: the step's timeout; events that occurred later do not count. */
  until: string;
}

export interface EventWaitsPort {
  /**
   * Registers the wait and answers the events of its type that occurred since `since` and were
   * consumed already (the look-back), oldest first. Registering again (a retried attempt)
   * changes nothing. Throws when D1 fails.
   */
  subscribe(wait: EventWait): Promise<AwaitedEvent[]>;
  /** Removes the wait; nothing happens when it is gone already. */
  unsubscribe(wait: EventWait): Promise<void>;
}

/** The look-back keeps the events of the last hour: a wait registered later than that after it began would miss older ones. */
export const EVENT_LOG_MS = 60 * 60_000;

/**
 * A value as a key of waits, or null when values like it are not keyed. Two values that `eq`
 * holds for (definition/conditions.ts) always get the same key — numbers and numeric strings by
 * their number, other strings as they are — so keying never loses an event; a few more may be
 * delivered (`"5"` and `"5.0"`), and the run checks its whole match anyway.
 */
export function matchKey(value: unknown): string | null {
  if (typeof value === "number") return Number.isFinite(value) ? `n:${value}` : null;
  if (typeof value === "string") {
    const n = Number(value);
    return value.trim() !== "" && Number.isFinite(n) ? `n:${n}` : `s:${value}`;
  }
  if (typeof value === "boolean") return `b:${value}`;
  if (value === null) return "null";
  return null;
}

/** The value at `path` (dot-separated, list indexes as numbers) inside an event; undefined when absent. */
export function valueAt(event: AwaitedEvent, path: string): unknown {
  let cur: unknown = event;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else cur = Object.hasOwn(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
  }
  return cur;
}
