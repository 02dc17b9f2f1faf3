import { z } from "zod";
import { QueueMessageSchema, type EntityEvent } from "../events/envelope";
import { log, logError } from "../log";
import { inboxStub, keepableEvent } from "./consumer";

export const DEAD_EVENTS_QUEUE = "workflow-events-dead";

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
