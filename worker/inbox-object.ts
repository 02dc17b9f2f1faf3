import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { EntityEventSchema, type EntityEvent, type QueueMessage } from "./events/envelope";
import { count } from "./lib/metrics";
import { log, logError } from "./log";

/*
 * The inbox: every accepted event is written here before `POST /api/events` answers 202, and
 * stays until the queue consumer acknowledges it. Queue messages can be lost (locally they live in
 * memory); the inbox sends again whatever was not acknowledged in time, so an accepted event is
 * never lost. Several inboxes share the load; an event's shard travels in its queue message.
 */

export const INBOX_SHARDS = 4;
/**
 * Beyond this many unacknowledged events a shard asks senders to slow down (429 with Retry-After):
 * a backlog the engine cannot work off soon is better pushed back than left to grow.
 */
export const MAX_PENDING = 5_000;
/** A send to the queue that failed is tried again after this long (doubling, capped). */
const REDRIVE_AFTER_MS = 30_000;
/**
 * A message the queue accepted is the queue's to deliver: it is sent again only when it may have
 * been lost with the runtime that sent it (another boot id), or, as a last resort, after an hour.
 */
const SENT_RECHECK_MS = 60 * 60_000;
/** How often a shard with pending events looks for ones to send again. */
const SWEEP_MS = 5_000;

/**
 * Identifies this isolate. A row sent by another one may have had its queue message lost with that
 * runtime (locally, queues live in memory), so a sweep sends it again at once. A slow consumer is
 * not a reason to send again: that only multiplies the work of an engine already behind. Random
 * values are not allowed at module scope: made on first use.
 */
let boot: string | undefined;
export const bootId = () => (boot ??= crypto.randomUUID());
/** Queue messages carry the event inline up to this size; larger ones are read from the inbox. */
const INLINE_LIMIT = 100 * 1024;
const SEND_BATCH = 100;
const SEND_BYTES = 240 * 1024;

const AcceptSchema = z.array(EntityEventSchema).min(1).max(500);
/** SQLite in a Durable Object binds at most 100 parameters per statement. */
const PARAMS = 90;
function* chunks<T>(list: readonly T[], size = PARAMS): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}
const SeqsSchema = z.array(z.int().min(0)).max(1000);

export type AcceptResult = { accepted: number } | { busy: true; pending: number };

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  event_id: string;
  body: string;
  sends: number;
}

export class InboxObject extends DurableObject<Env> {
  private pending: number;
  /** Events this instance recorded; in memory only (tests and diagnostics). */
  private acceptedTotal = 0;
  private readonly shard: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS inbox (
      seq INTEGER PRIMARY KEY,
      event_id TEXT NOT NULL UNIQUE,
      body TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      sends INTEGER NOT NULL DEFAULT 0,
      next_send_at INTEGER NOT NULL,
      sent_boot TEXT NOT NULL DEFAULT ''
    )`);
    this.ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS inbox_next_send ON inbox (next_send_at)");
    this.pending = this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM inbox").one().n;
    this.shard = this.ctx.storage.kv.get<number>("shard") ?? -1;
  }

  /** Records events durably, then hands them to the queue. Same event id twice: recorded once. */
  async accept(shard: number, raw: EntityEvent[]): Promise<AcceptResult> {
    const events = AcceptSchema.parse(raw);
    if (this.pending + events.length > MAX_PENDING) return { busy: true, pending: this.pending };
    if (this.shard !== shard) this.ctx.storage.kv.put("shard", shard);
    const now = Date.now();
    const fresh: { seq: number; body: string; event: EntityEvent }[] = [];
    for (const event of events) {
      const body = JSON.stringify(event);
      const row = this.ctx.storage.sql
        .exec<{ seq: number }>(
          "INSERT INTO inbox (event_id, body, received_at, next_send_at, sent_boot) VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
          event.id,
          body,
          now,
          now + SENT_RECHECK_MS,
          bootId(),
        )
        .toArray()[0];
      if (row) fresh.push({ seq: row.seq, body, event });
    }
    this.pending += fresh.length;
    this.acceptedTotal += fresh.length;
    count("inbox_rpc");
    count("inbox_rows_written", fresh.length);
    await this.ensureSweep(now);
    // The rows above commit before this send leaves the object (output gate): durable first.
    await this.send(shard, fresh);
    return { accepted: events.length };
  }

  /** The consumer is done with these events (runs started, or dead-lettered). */
  async ack(raw: number[]): Promise<void> {
    const seqs = SeqsSchema.parse(raw);
    let deleted = 0;
    for (const part of chunks(seqs)) {
      deleted += this.ctx.storage.sql.exec(`DELETE FROM inbox WHERE seq IN (${part.map(() => "?").join(",")})`, ...part).rowsWritten;
    }
    this.pending = Math.max(0, this.pending - deleted);
    count("inbox_rpc");
    count("inbox_rows_written", deleted);
  }

  /** Bodies of events too large to travel inline. */
  async bodies(raw: number[]): Promise<Record<number, EntityEvent>> {
    const seqs = SeqsSchema.parse(raw);
    const out: Record<number, EntityEvent> = {};
    for (const part of chunks(seqs)) {
      for (const row of this.ctx.storage.sql.exec<Row>(`SELECT seq, body FROM inbox WHERE seq IN (${part.map(() => "?").join(",")})`, ...part)) {
        out[row.seq] = EntityEventSchema.parse(JSON.parse(row.body));
      }
    }
    return out;
  }

  async stats(): Promise<{ pending: number; oldest_ms: number | null; accepted_total: number }> {
    const oldest = this.ctx.storage.sql.exec<{ t: number | null }>("SELECT min(received_at) AS t FROM inbox").one().t;
    return {
      pending: this.pending,
      oldest_ms: oldest === null ? null : Date.now() - oldest,
      accepted_total: this.acceptedTotal,
    };
  }

  override async alarm(): Promise<void> {
    try {
      const now = Date.now();
      const shard = this.ctx.storage.kv.get<number>("shard") ?? 0;
      const due = this.ctx.storage.sql
        .exec<Row>("SELECT seq, event_id, body, sends FROM inbox WHERE next_send_at <= ? OR sent_boot != ? ORDER BY seq LIMIT 2000", now, bootId())
        .toArray();
      for (const row of due) {
        this.ctx.storage.sql.exec("UPDATE inbox SET sends = sends + 1, next_send_at = ?, sent_boot = ? WHERE seq = ?", now + SENT_RECHECK_MS, bootId(), row.seq);
      }
      if (due.length > 0) {
        log("inbox_redrive", { shard, events: due.length, pending: this.pending });
        await this.send(
          shard,
          due.map((r) => ({ seq: r.seq, body: r.body, event: EntityEventSchema.parse(JSON.parse(r.body)) })),
        );
      }
    } catch (err) {
      logError("inbox_alarm", err);
    } finally {
      this.alarmAt = null;
      await this.ensureSweep(Date.now()).catch(() => undefined);
    }
  }

  private alarmAt: number | null | undefined;

  private async ensureSweep(now: number) {
    if (this.pending === 0) return;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt > now) return;
    this.alarmAt = now + SWEEP_MS;
    await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private async send(shard: number, items: { seq: number; body: string; event: EntityEvent }[]) {
    let batch: MessageSendRequest<QueueMessage>[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      try {
        count("queue_messages_sent", batch.length);
        await this.env.EVENTS.sendBatch(batch);
      } catch (err) {
        // Still durable here: due again soon, with back-off on repeated failures.
        logError("inbox_send", err, { shard, events: batch.length });
        for (const part of chunks(batch.map((m) => m.body.seq))) {
          this.ctx.storage.sql.exec(
            `UPDATE inbox SET next_send_at = ? + ? * (1 << min(sends, 5)) WHERE seq IN (${part.map(() => "?").join(",")})`,
            Date.now(),
            REDRIVE_AFTER_MS,
            ...part,
          );
        }
      }
      batch = [];
      bytes = 0;
    };
    for (const item of items) {
      const inline = item.body.length <= INLINE_LIMIT;
      const size = inline ? item.body.length + 64 : 64;
      if (batch.length === SEND_BATCH || bytes + size > SEND_BYTES) await flush();
      batch.push({ body: { v: 1, shard, seq: item.seq, ...(inline ? { event: item.event } : {}) }, contentType: "json" });
      bytes += size;
    }
    await flush();
  }
}
