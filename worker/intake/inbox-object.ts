import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { EntityEventSchema, MAX_EVENT_BYTES, MAX_EVENTS_PER_REQUEST, type EntityEvent, type QueueMessage } from "./envelope";
import { utf8Bytes } from "../lib/json";
import { count } from "../lib/metrics";
import { log, logError } from "../log";

/*
 * The inbox: every accepted event is written here before `POST /api/events` answers 202, and
 * stays until the queue consumer acknowledges it. Queue messages can be lost (locally they live in
 * memory); the inbox sends again whatever was not acknowledged in time, so an accepted event is
 * never lost. Several inboxes share the load (shards.ts); an event's shard travels in its queue
 * message.
 *
 * A queue message, an ack and a by-reference read name an event only by (shard, seq), and a
 * message may arrive long after its event was finished: a seq is never handed out twice.
 */

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
/** A sweep sends at most this many events; the next sweep takes the rest. */
const SWEEP_EVENTS = 1_000;

/**
 * Identifies this isolate. A row sent by another one may have had its queue message lost with that
 * runtime (locally, queues live in memory), so a sweep sends it again at once. A slow consumer is
 * not a reason to send again: that only multiplies the work of an engine already behind. Random
 * values are not allowed at module scope: made on first use.
 */
let boot: string | undefined;
export const bootId = () => (boot ??= crypto.randomUUID());

/*
 * Queue limits, in UTF-8 bytes of the JSON a message carries: 128 KB per message, and per
 * sendBatch 100 messages and 256 KB in all (Cloudflare Queues; Miniflare checks 128,000 and
 * 288,000 bytes). Every batch is built inside them with room to spare; should the queue still
 * refuse one, its events go again by reference (see `sendBatch`).
 */
/** An event up to this size travels inside its message; a larger one is read from the inbox. */
export const INLINE_BYTES = 100_000;
/** `{"v":1,"shard":…,"seq":…,"event":}` around the event, with room for any shard and seq. */
const MESSAGE_OVERHEAD = 80;
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 200_000;

const AcceptSchema = z.array(EntityEventSchema).min(1).max(MAX_EVENTS_PER_REQUEST);
/** SQLite in a Durable Object binds at most 100 parameters per statement. */
const PARAMS = 90;
function* chunks<T>(list: readonly T[], size = PARAMS): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}
const placeholders = (list: readonly unknown[]) => list.map(() => "?").join(",");
const SeqsSchema = z.array(z.int().min(0)).max(1000);

/*
 * Rows of the inbox's own SQLite are parsed like any other input, never cast: a shape that drifted
 * from the table fails loudly here instead of travelling on as a wrong type.
 */
type Cursor = SqlStorageCursor<Record<string, SqlStorageValue>>;
const rowsOf = <T>(schema: z.ZodType<T>, cursor: Cursor): T[] => cursor.toArray().map((row) => schema.parse(row));
const oneOf = <T>(schema: z.ZodType<T>, cursor: Cursor): T => schema.parse(cursor.one());
const TableRowSchema = z.object({ sql: z.string() });
const MaxSeqRowSchema = z.object({ m: z.int().nullable() });
const CountRowSchema = z.object({ n: z.int() });
const OldestRowSchema = z.object({ t: z.int().nullable() });
const SeqRowSchema = z.object({ seq: z.int() });
const DueRowSchema = z.object({ seq: z.int(), bytes: z.int() });
const BodyRowSchema = z.object({ seq: z.int(), body: z.string() });
/** The shard this inbox serves, kept in its storage once known. */
const StoredShardSchema = z.int().min(0).optional();

export type AcceptResult = { accepted: number } | { busy: true; pending: number };

/**
 * AUTOINCREMENT: a seq is never reused, not even after the table was empty (plain INTEGER PRIMARY
 * KEY starts again at max + 1). The body is the last column, so reading the small ones (a sweep
 * scanning for due rows) does not walk a large body's overflow pages.
 */
const INBOX_TABLE = `CREATE TABLE inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  sends INTEGER NOT NULL DEFAULT 0,
  next_send_at INTEGER NOT NULL,
  sent_boot TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL
)`;

/**
 * Brings the inbox table to its current shape. The first shape (seq without AUTOINCREMENT, no
 * byte size) handed out seqs from 1 again whenever it was empty, so a message still in flight may
 * name any seq it ever gave: its rows keep their seqs, and new seqs start above all of those.
 */
export function migrateInbox(storage: DurableObjectStorage, now = Date.now()): void {
  const sql = storage.sql;
  const table = rowsOf(TableRowSchema, sql.exec("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'inbox'"))[0];
  if (table && /AUTOINCREMENT/i.test(table.sql)) return;
  storage.transactionSync(() => {
    if (table) {
      sql.exec("DROP INDEX IF EXISTS inbox_next_send");
      sql.exec("ALTER TABLE inbox RENAME TO inbox_v1");
    }
    sql.exec(INBOX_TABLE);
    sql.exec("CREATE INDEX inbox_next_send ON inbox (next_send_at)");
    if (!table) return;
    sql.exec(`INSERT INTO inbox (seq, event_id, bytes, received_at, sends, next_send_at, sent_boot, body)
      SELECT seq, event_id, length(CAST(body AS BLOB)), received_at, sends, next_send_at, sent_boot, body FROM inbox_v1`);
    sql.exec("DROP TABLE inbox_v1");
    // Old seqs only ever counted the events of one shard up from 1: far below a microsecond clock.
    const floor = Math.max(now * 1000, oneOf(MaxSeqRowSchema, sql.exec("SELECT max(seq) AS m FROM inbox")).m ?? 0);
    // AUTOINCREMENT remembers the largest seq ever used, even once its row is gone.
    sql.exec("INSERT INTO inbox (seq, event_id, bytes, received_at, next_send_at, body) VALUES (?, '', 0, 0, 0, '')", floor);
    sql.exec("DELETE FROM inbox WHERE seq = ?", floor);
  });
}

/** An event on its way to the queue; `event` is read from the inbox when it travels inline. */
interface Outgoing {
  seq: number;
  bytes: number;
  event?: EntityEvent;
}

export class InboxObject extends DurableObject<Env> {
  private pending: number;
  /** Events this instance recorded; in memory only (tests and diagnostics). */
  private acceptedTotal = 0;
  private readonly shard: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateInbox(this.ctx.storage);
    this.pending = oneOf(CountRowSchema, this.ctx.storage.sql.exec("SELECT count(*) AS n FROM inbox")).n;
    this.shard = StoredShardSchema.parse(this.ctx.storage.kv.get("shard")) ?? -1;
  }

  /**
   * Records events durably, then hands them to the queue. Same event id twice: recorded once.
   * At most 500 events, each at most 1 MiB of JSON: what one request of events can hold.
   */
  async accept(shard: number, raw: EntityEvent[]): Promise<AcceptResult> {
    const events = AcceptSchema.parse(raw);
    const bodies = events.map((event) => JSON.stringify(event));
    const sizes = bodies.map(utf8Bytes);
    const tooLarge = sizes.findIndex((bytes) => bytes > MAX_EVENT_BYTES);
    if (tooLarge >= 0) throw new RangeError(`Event ${tooLarge} is ${sizes[tooLarge]} bytes; an event is at most ${MAX_EVENT_BYTES}`);
    if (this.pending + events.length > MAX_PENDING) return { busy: true, pending: this.pending };
    if (this.shard !== shard) this.ctx.storage.kv.put("shard", shard);
    const now = Date.now();
    const fresh: Outgoing[] = [];
    events.forEach((event, i) => {
      const [row] = rowsOf(
        SeqRowSchema,
        this.ctx.storage.sql.exec(
          "INSERT INTO inbox (event_id, bytes, received_at, next_send_at, sent_boot, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
          event.id,
          sizes[i]!,
          now,
          now + SENT_RECHECK_MS,
          bootId(),
          bodies[i]!,
        ),
      );
      if (row) fresh.push({ seq: row.seq, bytes: sizes[i]!, event });
    });
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
      deleted += this.ctx.storage.sql.exec(`DELETE FROM inbox WHERE seq IN (${placeholders(part)})`, ...part).rowsWritten;
    }
    this.pending = Math.max(0, this.pending - deleted);
    count("inbox_rpc");
    count("inbox_rows_written", deleted);
  }

  /** Bodies of events too large to travel inline. */
  async bodies(raw: number[]): Promise<Record<number, EntityEvent>> {
    const seqs = SeqsSchema.parse(raw);
    return this.read(seqs);
  }

  async stats(): Promise<{ pending: number; oldest_ms: number | null; accepted_total: number }> {
    const oldest = oneOf(OldestRowSchema, this.ctx.storage.sql.exec("SELECT min(received_at) AS t FROM inbox")).t;
    return {
      pending: this.pending,
      oldest_ms: oldest === null ? null : Date.now() - oldest,
      accepted_total: this.acceptedTotal,
    };
  }

  /**
   * Sends again what is due. Only seqs and sizes are read here; bodies are read one queue batch
   * at a time, so a sweep holds at most one batch of events in memory however large the backlog.
   */
  override async alarm(): Promise<void> {
    try {
      const now = Date.now();
      const shard = StoredShardSchema.parse(this.ctx.storage.kv.get("shard"));
      // accept() records the shard before any row: messages must name the inbox that holds the
      // rows, or the consumer would find no body and take the event for done.
      if (shard === undefined) throw new Error("This inbox does not know its shard; nothing was sent");
      const due = rowsOf(
        DueRowSchema,
        this.ctx.storage.sql.exec("SELECT seq, bytes FROM inbox WHERE next_send_at <= ? OR sent_boot != ? ORDER BY seq LIMIT ?", now, bootId(), SWEEP_EVENTS),
      );
      for (const part of chunks(due.map((r) => r.seq))) {
        this.ctx.storage.sql.exec(
          `UPDATE inbox SET sends = sends + 1, next_send_at = ?, sent_boot = ? WHERE seq IN (${placeholders(part)})`,
          now + SENT_RECHECK_MS,
          bootId(),
          ...part,
        );
      }
      if (due.length > 0) {
        log("inbox_redrive", { shard, events: due.length, pending: this.pending });
        await this.send(shard, due);
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

  /** The stored events of these seqs; a seq already acknowledged is absent. */
  private read(seqs: readonly number[]): Record<number, EntityEvent> {
    const out: Record<number, EntityEvent> = {};
    for (const part of chunks(seqs)) {
      const rows = rowsOf(BodyRowSchema, this.ctx.storage.sql.exec(`SELECT seq, body FROM inbox WHERE seq IN (${placeholders(part)})`, ...part));
      for (const row of rows) out[row.seq] = EntityEventSchema.parse(JSON.parse(row.body));
    }
    return out;
  }

  /** Hands events to the queue in batches that stay inside its limits by construction. */
  private async send(shard: number, items: readonly Outgoing[]) {
    let batch: Outgoing[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = MESSAGE_OVERHEAD + (item.bytes <= INLINE_BYTES ? item.bytes : 0);
      if (batch.length === BATCH_MESSAGES || bytes + size > BATCH_BYTES) {
        await this.sendBatch(shard, batch);
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length > 0) await this.sendBatch(shard, batch);
  }

  /**
   * One batch: small events inline, large ones by reference. Should the queue refuse it anyway,
   * every event of it goes again by reference (under 100 bytes a message), so no event can hold
   * back another; if that is refused too, the queue itself is failing and the rows back off.
   */
  private async sendBatch(shard: number, batch: readonly Outgoing[]) {
    const reference = (seq: number): MessageSendRequest<QueueMessage> => ({ body: { v: 1, shard, seq }, contentType: "json" });
    try {
      const missing = batch.filter((i) => i.bytes <= INLINE_BYTES && !i.event).map((i) => i.seq);
      const stored = missing.length > 0 ? this.read(missing) : {};
      const messages: MessageSendRequest<QueueMessage>[] = [];
      for (const item of batch) {
        const event = item.bytes <= INLINE_BYTES ? (item.event ?? stored[item.seq]) : undefined;
        // Read for sending but gone meanwhile: acknowledged, nothing left to send.
        if (item.bytes <= INLINE_BYTES && !event) continue;
        messages.push(event ? { body: { v: 1, shard, seq: item.seq, event }, contentType: "json" } : reference(item.seq));
      }
      if (messages.length === 0) return;
      count("queue_messages_sent", messages.length);
      await this.env.EVENTS.sendBatch(messages);
      return;
    } catch (err) {
      logError("inbox_send", err, { shard, events: batch.length, inline: true });
    }
    try {
      count("queue_messages_sent", batch.length);
      await this.env.EVENTS.sendBatch(batch.map((item) => reference(item.seq)));
    } catch (err) {
      // Still durable here: due again soon, with back-off on repeated failures.
      logError("inbox_send", err, { shard, events: batch.length, inline: false });
      for (const part of chunks(batch.map((item) => item.seq))) {
        this.ctx.storage.sql.exec(
          `UPDATE inbox SET next_send_at = ? + ? * (1 << min(sends, 5)) WHERE seq IN (${placeholders(part)})`,
          Date.now(),
          REDRIVE_AFTER_MS,
          ...part,
        );
      }
    }
  }
}
