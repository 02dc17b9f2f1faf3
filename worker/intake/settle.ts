import { count, track } from "../lib/metrics";
import { utf8Bytes } from "../lib/json";
import { log, logError } from "../log";
import { deadLetter } from "./dead-letters";
import { chunks, errorText, INBOX_SEQS_PER_CALL, retry, type Item, type Mirrored, type Ready, type Stale } from "./item";
import { inboxStub } from "./shards";

/**
 * Deliveries after which a failing message is dead-lettered by the consumer itself, with the
 * reason of its last failure. The queue's own max_retries (wrangler.toml: 5, so six deliveries)
 * stays above it, as the safety net for a consumer that dies on the message every time.
 */
export const MAX_ATTEMPTS = 5;
/** Workflows a stale event's record lists by id; `skipped_count` counts them all. */
const STALE_LISTED = 100;
/** A queue send takes at most 100 messages and 256 KB: stay under both. */
const SEND_MESSAGES = 100;
const SEND_BYTES = 200 * 1024;

/** Back-off for a message that must be tried again: 2 s doubling, at most 5 minutes. */
export function retryDelay(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 9));
}

/** What one invocation did, for its log line (and for tests). */
export interface BatchSummary {
  messages: number;
  /** Start calls made, and how many of them created a run (the others found it already there). */
  start_calls: number;
  created: number;
  stale: number;
  retried: number;
  dead: number;
  /** Events that go on in a new message, with how far their starts got. */
  deferred: { event_id: string; after: string | undefined }[];
}

/**
 * Stage 5: gives every message its end: stale events recorded, dead letters and continuations
 * sent, the inbox told which events are done, then each message acknowledged or retried —
 * acknowledged only once nothing of it can be lost.
 */
export async function settle(env: Env, items: Item[], starts: { calls: number; created: number }): Promise<BatchSummary> {
  // A message nothing settled would be a bug: it is retried rather than lost.
  for (const item of items) item.outcome ??= retry("The consumer did not finish this message");
  const stale = items.filter((i): i is Stale => (i.outcome?.kind === "done" || i.outcome?.kind === "defer") && i.held !== null);
  if (stale.length > 0) {
    try {
      await recordStale(env.DB, stale);
      count("consumer_stale_events", stale.length);
    } catch (err) {
      logError("stale_record", err, { events: stale.length });
      for (const item of stale) item.outcome = retry(`Recording the stale event failed: ${errorText(err)}`);
    }
  }
  for (const item of items) {
    if (item.outcome?.kind === "retry" && item.msg.attempts >= MAX_ATTEMPTS) item.outcome = { kind: "dead", reason: item.outcome.reason };
  }
  const dead = items.flatMap((item) => (item.outcome?.kind === "dead" ? [{ item, reason: item.outcome.reason }] : []));
  const deferred = items.filter((i): i is Mirrored => i.outcome?.kind === "defer");
  // Dead letters keep anything (the v8 format); continuations are JSON, as the inbox sends them.
  await sendAll(env.DEAD_EVENTS, dead.map(({ item, reason }) => ({ item, body: deadLetter(item.msg, item.body, item.event, reason), contentType: "v8" as const })));
  await sendAll(
    env.EVENTS,
    deferred.map((item) => ({ item, body: { ...item.body, after: item.outcome?.kind === "defer" ? item.outcome.after : undefined }, contentType: "json" as const })),
  );

  // Not fatal if it fails: the inbox sends the event again and that delivery starts nothing new.
  const done = items.filter((i): i is Ready => i.outcome?.kind === "done");
  const byShard = new Map<number, number[]>();
  for (const item of done) byShard.set(item.body.shard, [...(byShard.get(item.body.shard) ?? []), item.body.seq]);
  await Promise.all(
    [...byShard].map(async ([shard, seqs]) => {
      for (const part of chunks(seqs, INBOX_SEQS_PER_CALL)) {
        await inboxStub(env, shard)
          .ack(part)
          .catch((err: unknown) => logError("inbox_ack", err, { shard, events: part.length }));
      }
    }),
  );

  let retried = 0;
  for (const item of items) {
    if (item.outcome?.kind === "retry") {
      retried++;
      log("event_retry", { event_id: item.event?.id ?? null, attempts: item.msg.attempts, reason: item.outcome.reason });
      item.msg.retry({ delaySeconds: retryDelay(item.msg.attempts) });
    } else {
      item.msg.ack(); // done, gone, dead-lettered or continued
    }
  }
  return {
    messages: items.length,
    start_calls: starts.calls,
    created: starts.created,
    stale: stale.length,
    retried,
    dead: items.filter((i) => i.outcome?.kind === "dead").length,
    deferred: items.flatMap((i) => (i.outcome?.kind === "defer" && i.event ? [{ event_id: i.event.id, after: i.outcome.after }] : [])),
  };
}

/** One statement for all: the rows travel as one JSON array. Recording an event twice keeps the first. */
async function recordStale(d1: D1Database, items: Stale[]) {
  const rows = items.map((i) => ({
    event_id: i.event.id,
    type: i.event.type,
    entity: i.event.entity,
    entity_id: i.event.entity_id,
    occurred_at: i.event.occurred_at,
    held_event_id: i.held.event_id,
    held_occurred_at: i.held.occurred_at,
    skipped_workflows: JSON.stringify(i.skipped.slice(0, STALE_LISTED)),
    skipped_count: i.skipped.length,
  }));
  track(
    await d1
      .prepare(
        `INSERT INTO stale_events (event_id, type, entity, entity_id, occurred_at, held_event_id, held_occurred_at, skipped_workflows, skipped_count, recorded_at)
         SELECT value->>'event_id', value->>'type', value->>'entity', value->>'entity_id', value->>'occurred_at', value->>'held_event_id',
           value->>'held_occurred_at', value->>'skipped_workflows', value->>'skipped_count', ?2
         FROM json_each(?1) WHERE true
         ON CONFLICT (event_id) DO NOTHING`,
      )
      .bind(JSON.stringify(rows), new Date().toISOString())
      .run(),
  );
  for (const i of items) log("event_stale", { event_id: i.event.id, held_event_id: i.held.event_id, skipped: i.skipped.length, started: i.starts.length });
}

/** Sends in batches within the queue's limits; the messages of a send that fails are retried. */
async function sendAll(queue: Queue, list: { item: Item; body: unknown; contentType: QueueContentType }[]) {
  let batch: typeof list = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    bytes = 0;
    try {
      await queue.sendBatch(sending.map(({ body, contentType }) => ({ body, contentType })));
    } catch (err) {
      logError("queue_send", err, { messages: sending.length });
      for (const { item } of sending) item.outcome = retry(`Sending to the queue failed: ${errorText(err)}`);
    }
  };
  for (const entry of list) {
    const size = utf8Bytes(JSON.stringify(entry.body)) + 64;
    if (batch.length === SEND_MESSAGES || bytes + size > SEND_BYTES) await flush();
    batch.push(entry);
    bytes += size;
  }
  await flush();
}
