import { z } from "zod";
import { QueueMessageSchema, type EntityEvent } from "../events/envelope";
import { log, logError } from "../log";
import { inboxStub } from "./consumer";

export const DEAD_EVENTS_QUEUE = "workflow-events-dead";

/** What the consumer sends by hand for a permanent failure; retries exhausted arrive bare. */
const WrappedSchema = z.object({ original: z.unknown(), error: z.string(), attempts: z.int() });

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
      const id = event?.id ?? `msg_${msg.id}`;
      await env.DB.prepare(
        `INSERT INTO dead_events (id, event_id, body, attempts, dead_at, replayed_at) VALUES (?, ?, ?, ?, ?, NULL)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, attempts = dead_events.attempts + excluded.attempts,
           dead_at = excluded.dead_at, replayed_at = NULL`,
      )
        .bind(id, event?.id ?? null, JSON.stringify({ event: event ?? null, message: original, error }), attempts, new Date().toISOString())
        .run();
      if (parsed.success) await inboxStub(env, parsed.data.shard).ack([parsed.data.seq]);
      log("event_dead", { id, event_id: event?.id ?? null, error, attempts });
      msg.ack();
    } catch (err) {
      logError("dead_letter", err, { message_id: msg.id });
      msg.retry({ delaySeconds: 30 });
    }
  }
}
