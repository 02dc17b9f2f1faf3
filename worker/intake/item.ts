import { z } from "zod";
import type { Controls } from "../definition/controls";
import type { PreparedRow } from "../entities/store";
import type { TriggerInfo } from "../engine/run-state";
import { QueueMessageSchema, type EntityEvent } from "./envelope";

/*
 * What the consumer's stages share: one `Item` per queue message, carried from read to settle.
 * A stage works only on the items still without an outcome and sets one when their fate is known,
 * so one bad event never fails the events delivered with it.
 */

/**
 * A message on the EVENTS queue: the inbox's `{v, shard, seq, event?}`, or the consumer's own
 * continuation of one whose starts did not fit in an invocation, which adds `after`: the runs of
 * every matching workflow whose id sorts at or before it are started.
 */
export const EventMessageSchema = QueueMessageSchema.extend({ after: z.string().optional() });
export type EventMessage = z.infer<typeof EventMessageSchema>;

export type Outcome =
  /** Every matching run is started (or none matched): acknowledge. */
  | { kind: "done" }
  /** No longer in the inbox: an earlier delivery finished it. */
  | { kind: "gone" }
  | { kind: "retry"; reason: string }
  /** Nothing will ever make it work: to the dead-letter queue now. */
  | { kind: "dead"; reason: string }
  /** Its starts did not all fit in this invocation: go on in a new message. */
  | { kind: "defer"; after: string | undefined };

export interface Start {
  workflowId: string;
  version: number;
  /** The version's flow control (SPEC §14), if it has any. */
  controls: Controls | undefined;
}

/** One message on its way through the stages; `outcome` is set once its fate is known. */
export interface Item {
  msg: Message<unknown>;
  body: EventMessage | null;
  event: EntityEvent | null;
  row: PreparedRow | null;
  /** What `{{trigger.*}}` sees, once the entity is mirrored. */
  trigger: TriggerInfo | null;
  tags: string[];
  /** Set when the mirror already held a newer snapshot: the event is stale. */
  held: { event_id: string; occurred_at: string } | null;
  starts: Start[];
  /** Workflows that matched a stale event and do not run stale events. */
  skipped: string[];
  outcome: Outcome | null;
}

/** Read and valid, no outcome yet. */
export type Ready = Item & { body: EventMessage; event: EntityEvent; row: PreparedRow };
/** Its entity is mirrored: the trigger is known. */
export type Mirrored = Ready & { trigger: TriggerInfo };
export type Stale = Mirrored & { held: NonNullable<Item["held"]> };
export const ready = (items: Item[]) => items.filter((i): i is Ready => i.outcome === null && i.body !== null && i.event !== null && i.row !== null);
export const mirrored = (items: Item[]) => ready(items).filter((i): i is Mirrored => i.trigger !== null);

export const retry = (reason: string): Outcome => ({ kind: "retry", reason });
export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** Sequence numbers per inbox call (the inbox takes at most 1,000). */
export const INBOX_SEQS_PER_CALL = 100;

export function* chunks<T>(list: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

export { pool } from "../lib/pool";
