import { z } from "zod";
import { MAX_JSON_DEPTH, parseJson, utf8Bytes, valueDepth } from "../lib/json";
import { log, logError } from "../log";
import { QueueMessageSchema, type EntityEvent, type QueueMessage } from "./envelope";
import { inboxStub } from "./shards";

/*
 * Dead letters: the consumer sends a message it gives up on to the DEAD_EVENTS queue (wrapped with
 * its reason), the dead-letter consumer keeps it in D1, and GET /api/events/dead reads it back.
 * The shapes each side writes and reads live here together.
 */

export const DEAD_EVENTS_QUEUE = "workflow-events-dead";

/** A dead letter carries its event up to this size: a queue message holds at most 128 KB. */
const DEAD_INLINE_BYTES = 100 * 1024;
/**
 * A dead event is kept (and can be replayed) up to this size as JSON: a D1 row holds at most 2 MB,
 * and no event the consumer can process comes near it (an entity is at most 256 KiB).
 */
const MAX_KEPT_EVENT_BYTES = 512 * 1024;

/**
 * What the consumer sends for a message it gives up on; retries exhausted arrive bare. `event_id`
 * names the event when it was too large or too deep to travel with the message.
 */
const WrappedSchema = z.object({ original: z.unknown(), error: z.string(), attempts: z.int(), event_id: z.string().nullish() });
type Wrapped = z.infer<typeof WrappedSchema>;

/** What a dead_events row keeps in `body`. */
const DeadBodySchema = z.object({ event: z.unknown().nullish(), error: z.string() });

/** Whether an event can be kept for replay: as deep and as large as the intake would accept. */
export function keepableEvent(event: EntityEvent, maxBytes: number): boolean {
  return valueDepth(event.data) <= MAX_JSON_DEPTH && utf8Bytes(JSON.stringify(event)) <= maxBytes;
}

/**
 * What goes to the dead-letter queue: the reason, the attempts, and the message — with its event
 * only when it fits in a queue message and could be replayed; otherwise the event is named by id
 * and the dead-letter consumer reads it from its inbox. `body` is the parsed message, null when the
 * message was not an event message at all.
 */
export function deadLetter(msg: { body: unknown; attempts: number }, body: QueueMessage | null, event: EntityEvent | null, reason: string): Wrapped {
  let original: unknown;
  if (body === null) {
    let small = false;
    try {
      small = valueDepth(msg.body) <= MAX_JSON_DEPTH && utf8Bytes(JSON.stringify(msg.body) ?? "") <= DEAD_INLINE_BYTES;
    } catch {
      // not JSON at all
    }
    original = small ? msg.body : "(not kept: too large, too deep or not JSON)";
  } else {
    original = { v: body.v, shard: body.shard, seq: body.seq, ...(event && keepableEvent(event, DEAD_INLINE_BYTES) ? { event } : {}) };
  }
  return { original, error: reason, attempts: msg.attempts, event_id: event?.id ?? null };
}

/**
 * Keeps every dead message in D1 (GET /api/events/dead) and releases its event from the inbox,
 * which would otherwise send it again forever. One row per event id: dying twice updates it.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    try {
      const wrapped = WrappedSchema.safeParse(msg.body);
      const original = wrapped.success ? wrapped.data.original : msg.body;
      const error = wrapped.success ? wrapped.data.error : "The consumer failed on every retry";
      const attempts = wrapped.success ? wrapped.data.attempts : msg.attempts;
      const parsed = QueueMessageSchema.safeParse(original);
      let event: EntityEvent | undefined = parsed.success ? parsed.data.event : undefined;
      if (parsed.success && !event) event = (await inboxStub(env, parsed.data.shard).bodies([parsed.data.seq]))[parsed.data.seq];
      const eventId = event?.id ?? (wrapped.success ? wrapped.data.event_id : null) ?? null;
      // An event too deep or too large to process again is named, not kept: a replay could only fail.
      const kept = event && keepableEvent(event, MAX_KEPT_EVENT_BYTES) ? event : null;
      // The message is kept beside the event without a second copy of it.
      const message = parsed.success ? { v: parsed.data.v, shard: parsed.data.shard, seq: parsed.data.seq } : original;
      const id = eventId ?? `msg_${msg.id}`;
      await env.DB.prepare(
        `INSERT INTO dead_events (id, event_id, body, attempts, dead_at, replayed_at) VALUES (?, ?, ?, ?, ?, NULL)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, attempts = dead_events.attempts + excluded.attempts,
           dead_at = excluded.dead_at, replayed_at = NULL`,
      )
        .bind(id, eventId, JSON.stringify({ event: kept, message, error }), attempts, new Date().toISOString())
        .run();
      if (parsed.success) await inboxStub(env, parsed.data.shard).ack([parsed.data.seq]);
      log("event_dead", { id, event_id: eventId, error, attempts });
      msg.ack();
    } catch (err) {
      logError("dead_letter", err, { message_id: msg.id });
      msg.retry({ delaySeconds: 30 });
    }
  }
}

/** The event and reason a dead_events row keeps; a body that cannot be read shows no event, never a 500. */
export function readDeadBody(text: string): { event: unknown; error: string } {
  const json = parseJson(text);
  const body = DeadBodySchema.safeParse(json.ok ? json.value : null);
  return body.success ? { event: body.data.event ?? null, error: body.data.error } : { event: null, error: "This dead letter could not be read" };
}
