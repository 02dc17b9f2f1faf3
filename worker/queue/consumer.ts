import { z } from "zod";
import { snapshotStatement, SnapshotRowSchema } from "../entities";
import { prepareRows, upsertPreparedChunks, type PreparedRow } from "../entities/store";
import { getDefinitions } from "../db/workflow-store";
import { utcDate } from "../definition/date-spec";
import { QueueMessageSchema, type EntityEvent } from "../events/envelope";
import { ANY_TAG, matchesTrigger } from "../engine/trigger-match";
import type { TriggerInfo } from "../engine/run-state";
import { INBOX_SHARDS } from "../inbox-object";
import { MAX_JSON_DEPTH, utf8Bytes, valueDepth } from "../lib/json";
import { count, track } from "../lib/metrics";
import { log, logError } from "../log";

/*
 * The EVENTS queue consumer, in five steps: read each message's event, mirror the entities (and
 * find candidate workflows) in one D1 round trip, match triggers, start one run per matching
 * workflow, then settle every message: acknowledge, retry, dead-letter or continue it.
 *
 * Every message ends with its own outcome: one bad event never fails the events delivered with
 * it. Starting is idempotent (the run object is named from workflow and event id), so a message
 * delivered again never starts a second run.
 */

/**
 * Durable Object start calls one invocation makes at most. Workers (paid plan) allow 1,000
 * subrequests per invocation, and every Durable Object call, D1 round trip and queue send counts.
 * Besides the starts, a batch of at most 100 messages (the Queues maximum) makes about 200 at most:
 * a D1 round trip per event when the batch falls back to one event at a time, a few for triggers,
 * definitions and stale events, an inbox call per shard for bodies and for acks, and a queue send
 * per ~200 KiB of dead letters and of continuations. Starts beyond the bound continue in a new
 * message (see `after`).
 */
export const MAX_STARTS_PER_INVOCATION = 500;
/** Start calls in flight at once; more only queue up inside workerd. */
const START_CONCURRENCY = 32;
/** D1 round trips in flight at once when a batch falls back to one event at a time. */
const FALLBACK_CONCURRENCY = 8;
/** Sequence numbers per inbox call (the inbox takes at most 1,000). */
const INBOX_SEQS_PER_CALL = 100;
/** A queue send takes at most 100 messages and 256 KB: stay under both. */
const SEND_MESSAGES = 100;
const SEND_BYTES = 200 * 1024;
/** A dead letter carries its event up to this size: a queue message holds at most 128 KB. */
const DEAD_INLINE_BYTES = 100 * 1024;
/**
 * Deliveries after which a failing message is dead-lettered by the consumer itself, with the
 * reason of its last failure. The queue's own max_retries (wrangler.toml: 5, so six deliveries)
 * stays above it, as the safety net for a consumer that dies on the message every time.
 */
export const MAX_ATTEMPTS = 5;
/** Workflows a stale event's record lists by id; `skipped_count` counts them all. */
const STALE_LISTED = 100;

export const runName = (workflowId: string, eventId: string) => `${workflowId}:${eventId}`;
export const inboxStub = (env: Env, shard: number) => env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`));
export const pickShard = (key: string) => {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % INBOX_SHARDS;
};

/** Back-off for a message that must be tried again: 2 s doubling, at most 5 minutes. */
export function retryDelay(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 9));
}

/**
 * A message on the EVENTS queue: the inbox's `{v, shard, seq, event?}`, or the consumer's own
 * continuation of one whose starts did not fit in an invocation, which adds `after`: the runs of
 * every matching workflow whose id sorts at or before it are started.
 */
const EventMessageSchema = QueueMessageSchema.extend({ after: z.string().optional() });
type EventMessage = z.infer<typeof EventMessageSchema>;

type Outcome =
  /** Every matching run is started (or none matched): acknowledge. */
  | { kind: "done" }
  /** No longer in the inbox: an earlier delivery finished it. */
  | { kind: "gone" }
  | { kind: "retry"; reason: string }
  /** Nothing will ever make it work: to the dead-letter queue now. */
  | { kind: "dead"; reason: string }
  /** Its starts did not all fit in this invocation: go on in a new message. */
  | { kind: "defer"; after: string | undefined };

interface Start {
  workflowId: string;
  version: number;
}

/** One message on its way through the steps; `outcome` is set once its fate is known. */
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

type Ready = Item & { body: EventMessage; event: EntityEvent; row: PreparedRow };
type Mirrored = Ready & { trigger: TriggerInfo };
type Stale = Mirrored & { held: NonNullable<Item["held"]> };
const ready = (items: Item[]) => items.filter((i): i is Ready => i.outcome === null && i.body !== null && i.event !== null && i.row !== null);
const mirrored = (items: Item[]) => ready(items).filter((i): i is Mirrored => i.trigger !== null);

const retry = (reason: string): Outcome => ({ kind: "retry", reason });
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

export interface Limits {
  maxStarts: number;
}
export const LIMITS: Limits = { maxStarts: MAX_STARTS_PER_INVOCATION };

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

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await consumeBatch(batch, env);
}

export async function consumeBatch(batch: MessageBatch<unknown>, env: Env, limits: Limits = LIMITS): Promise<BatchSummary> {
  const t0 = performance.now();
  const items = await read(env, batch.messages);
  const tRead = performance.now();
  const first = await mirror(env, items);
  const t1 = performance.now();
  await match(env, items, first);
  const t2 = performance.now();
  const starts = await startRuns(env, items, limits);
  const t3 = performance.now();
  const summary = await settle(env, items, starts);
  count("consumer_batches");
  count("consumer_match_ms", t2 - tRead);
  log("consumer_batch", {
    ...summary,
    deferred: summary.deferred.length,
    ms: Math.round(performance.now() - t0),
    mirror_ms: Math.round(t1 - t0),
    match_ms: Math.round(t2 - t1),
    start_ms: Math.round(t3 - t2),
  });
  return summary;
}

// ---------------------------------------------------------------- read

/** Parses each message, fetches the bodies of events too large to travel inline, validates each event. */
export async function read(env: Env, messages: readonly Message<unknown>[]): Promise<Item[]> {
  const items = messages.map((msg): Item => {
    const parsed = EventMessageSchema.safeParse(msg.body);
    return {
      msg,
      body: parsed.success ? parsed.data : null,
      event: parsed.success ? (parsed.data.event ?? null) : null,
      row: null,
      trigger: null,
      tags: [],
      held: null,
      starts: [],
      skipped: [],
      outcome: parsed.success ? null : { kind: "dead", reason: "The queue message is not an event message" },
    };
  });

  // Events too large to travel inline wait in their inbox shard.
  const byShard = new Map<number, { item: Item; seq: number }[]>();
  for (const item of items) {
    if (item.outcome !== null || item.body === null || item.event !== null) continue;
    byShard.set(item.body.shard, [...(byShard.get(item.body.shard) ?? []), { item, seq: item.body.seq }]);
  }
  await Promise.all(
    [...byShard].map(async ([shard, list]) => {
      for (const part of chunks(list, INBOX_SEQS_PER_CALL)) {
        try {
          const bodies = await inboxStub(env, shard).bodies(part.map((p) => p.seq));
          for (const { item, seq } of part) {
            const event = bodies[seq];
            if (event) item.event = event;
            else item.outcome = { kind: "gone" };
          }
        } catch (err) {
          logError("inbox_bodies", err, { shard, events: part.length });
          for (const { item } of part) item.outcome = retry(`Reading the event from its inbox failed: ${errorText(err)}`);
        }
      }
    }),
  );
  for (const item of items) {
    if (item.outcome !== null || item.event === null) continue;
    const checked = validate(item.event);
    if ("reason" in checked) item.outcome = { kind: "dead", reason: checked.reason };
    else item.row = checked.row;
  }
  count("consumer_events", items.filter((i) => i.event !== null).length);
  return items;
}

/**
 * Holds the event to what the intake accepts: a message from before a rule, or a replay, may not
 * meet it, and no number of retries would change that.
 */
function validate(event: EntityEvent): { row: PreparedRow } | { reason: string } {
  if (valueDepth(event.data) > MAX_JSON_DEPTH) return { reason: `The event's data nests more than ${MAX_JSON_DEPTH} levels deep` };
  try {
    const [row] = prepareRows(event.entity, [{ data: event.data, occurredAt: event.occurred_at, eventId: event.id, deleted: event.kind === "deleted" }]);
    return row ? { row } : { reason: "The event holds no entity" };
  } catch (err) {
    if (!(err instanceof z.ZodError)) return { reason: errorText(err) };
    // prepareRows names the row first: [0, "data", ...].
    const issues = err.issues.map((i) => `${i.path.slice(1).join(".") || "event"}: ${i.message}`).join("; ");
    return { reason: `The event is not a valid ${event.entity}: ${issues}` };
  }
}

// ---------------------------------------------------------------- mirror

const CandidateSchema = z.object({ workflow_id: z.string(), version: z.int(), entity: z.string(), tag: z.string() });
type Candidate = z.infer<typeof CandidateSchema>;

/** Candidates read so far, and the tags per entity the read covered. */
interface CandidateRead {
  candidates: Candidate[];
  covered: Map<string, Set<string>>;
}

/**
 * Upserts every event's snapshot and reads it back (for `trigger.previous`), and reads the active
 * triggers indexed under the events' entities and tags: one D1 round trip. A D1 batch is one
 * transaction, so one event D1 refuses fails them all: then each event is mirrored alone, and only
 * the ones D1 refuses are retried.
 */
export async function mirror(env: Env, items: Item[]): Promise<CandidateRead> {
  const todo = ready(items);
  const none: CandidateRead = { candidates: [], covered: new Map() };
  if (todo.length === 0) return none;
  const perEvent = todo.map((item) => [...upsertPreparedChunks(env.DB, item.event.entity, [item.row]).flat(), snapshotStatement(env.DB, item.event.entity, item.event.entity_id)]);
  const covered = tagsNeeded(todo.map((i) => ({ entity: i.event.entity, tags: tagsOf(i.event.data) })));
  try {
    const results = track(await env.DB.batch([...perEvent.flat(), ...candidateStatements(env.DB, covered)]));
    let at = 0;
    todo.forEach((item, k) => {
      at += perEvent[k]!.length;
      applySnapshot(item, results[at - 1]!);
    });
    return { candidates: parseCandidates(results.slice(at)), covered };
  } catch (err) {
    logError("consumer_d1", err, { events: todo.length });
  }
  await pool(todo.map((item, k) => ({ item, statements: perEvent[k]! })), FALLBACK_CONCURRENCY, async ({ item, statements }) => {
    try {
      const results = track(await env.DB.batch(statements));
      applySnapshot(item, results.at(-1)!);
    } catch (err) {
      logError("consumer_d1_event", err, { event_id: item.event.id });
      item.outcome = retry(`The entity mirror refused the event: ${errorText(err)}`);
    }
  });
  return none;
}

function applySnapshot(item: Ready, result: D1Result) {
  const raw = result.results[0];
  const row = raw === undefined ? undefined : SnapshotRowSchema.parse(raw);
  const e = item.event;
  // The mirror keeps the newest snapshot by (occurred_at, event id). Holding another event's means
  // that one is newer and this one is stale; the same event delivered again finds its own.
  const stale = row !== undefined && row.event_id !== e.id;
  item.held = stale ? { event_id: row.event_id, occurred_at: row.occurred_at } : null;
  // A deleted event may carry only the id: the run sees the last snapshot the mirror held.
  const data = e.kind === "deleted" && row && !stale ? row.data : e.data;
  item.tags = tagsOf(data);
  // A stale event's run sees its own data: the snapshot before it is not known.
  item.trigger = { id: e.id, type: e.type, entity: e.entity, entity_id: e.entity_id, occurred_at: e.occurred_at, data, previous: row && !stale ? row.previous : null };
}

function tagsOf(data: Record<string, unknown>): string[] {
  return Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : [];
}

/** Tags to read triggers for, per entity: each event's tags and "*" (triggers without include tags). */
function tagsNeeded(events: { entity: string; tags: string[] }[], covered = new Map<string, Set<string>>()): Map<string, Set<string>> {
  const need = new Map<string, Set<string>>();
  for (const { entity, tags } of events) {
    for (const tag of [ANY_TAG, ...tags]) {
      if (covered.get(entity)?.has(tag)) continue;
      need.set(entity, (need.get(entity) ?? new Set()).add(tag));
    }
  }
  return need;
}

/** One statement per entity: the tags travel as one JSON array, far inside D1's 100 bound parameters. */
function candidateStatements(d1: D1Database, need: Map<string, Set<string>>): D1PreparedStatement[] {
  return [...need].map(([entity, tags]) =>
    d1
      .prepare("SELECT workflow_id, version, entity, tag FROM trigger_index WHERE entity = ?1 AND tag IN (SELECT value FROM json_each(?2))")
      .bind(entity, JSON.stringify([...tags])),
  );
}

function parseCandidates(results: D1Result[]): Candidate[] {
  return results.flatMap((r) => z.array(CandidateSchema).parse(r.results));
}

// ---------------------------------------------------------------- match

/**
 * Finds the workflows each mirrored event starts: candidates by entity and tag, then the trigger
 * of the version indexed. A stale event starts only the workflows that opt in.
 */
export async function match(env: Env, items: Item[], first: CandidateRead): Promise<void> {
  const todo = mirrored(items);
  if (todo.length === 0) return;
  let candidates = first.candidates;
  let definitions: Awaited<ReturnType<typeof getDefinitions>>;
  try {
    // A deleted event's tags come from the mirror, and a batch that fell back read no triggers yet.
    const missing = tagsNeeded(todo.map((i) => ({ entity: i.event.entity, tags: i.tags })), first.covered);
    if (missing.size > 0) candidates = candidates.concat(parseCandidates(track(await env.DB.batch(candidateStatements(env.DB, missing)))));
    const keys = new Map(candidates.map((c) => [`${c.workflow_id}@${c.version}`, { workflowId: c.workflow_id, version: c.version }]));
    definitions = await getDefinitions(env.DB, [...keys.values()]);
  } catch (err) {
    logError("consumer_triggers", err, { events: todo.length });
    for (const item of todo) item.outcome = retry(`Reading the active workflows failed: ${errorText(err)}`);
    return;
  }
  count("consumer_candidates", candidates.length);

  const byTag = new Map<string, Candidate[]>();
  for (const c of candidates) byTag.set(`${c.entity}\u0000${c.tag}`, [...(byTag.get(`${c.entity}\u0000${c.tag}`) ?? []), c]);
  const now = new Date();
  for (const item of todo) {
    const seen = new Set<string>();
    for (const tag of [ANY_TAG, ...item.tags]) {
      for (const c of byTag.get(`${item.event.entity}\u0000${tag}`) ?? []) {
        if (seen.has(c.workflow_id)) continue;
        seen.add(c.workflow_id);
        const def = definitions.get(`${c.workflow_id}@${c.version}`);
        if (def === undefined) continue; // deactivated since the index was read
        if (def instanceof Error) {
          // Never skip silently: the event is tried again and, if it keeps failing, is dead-lettered.
          logError("consumer_definition", def, { workflow_id: c.workflow_id, event_id: item.event.id });
          item.outcome = retry(def.message);
          continue;
        }
        const scope = {
          trigger: item.trigger,
          steps: {},
          workflow: { id: c.workflow_id, name: def.name, version: c.version },
          run: { id: "" },
          now: now.toISOString(),
          today: utcDate(now),
        };
        if (!matchesTrigger(def.trigger, { entity: item.event.entity, kind: item.event.kind, tags: item.tags, scope })) continue;
        if (item.held !== null && def.trigger.stale_events === "skip") item.skipped.push(c.workflow_id);
        else item.starts.push({ workflowId: c.workflow_id, version: c.version });
      }
    }
  }
}

// ---------------------------------------------------------------- start

/**
 * Starts the matched runs, at most `limits.maxStarts` of them. Each event's starts go in workflow
 * id order, so an event whose starts do not all fit goes on from where it stopped (`after`).
 * Messages delivered before go first.
 */
export async function startRuns(env: Env, items: Item[], limits: Limits): Promise<{ calls: number; created: number }> {
  let budget = limits.maxStarts;
  const calls: { item: Mirrored; start: Start }[] = [];
  for (const item of mirrored(items).sort((a, b) => b.msg.attempts - a.msg.attempts)) {
    const after = item.body.after;
    const todo = item.starts.filter((s) => after === undefined || s.workflowId > after).sort((a, b) => (a.workflowId < b.workflowId ? -1 : 1));
    const now = todo.slice(0, Math.max(0, budget));
    budget -= now.length;
    item.outcome = now.length < todo.length ? { kind: "defer", after: now.at(-1)?.workflowId ?? after } : { kind: "done" };
    calls.push(...now.map((start) => ({ item, start })));
  }
  let created = 0;
  await pool(calls, START_CONCURRENCY, async ({ item, start }) => {
    try {
      const stub = env.RUNS.get(env.RUNS.idFromName(runName(start.workflowId, item.event.id)));
      const result = await stub.start({ workflow_id: start.workflowId, workflow_version: start.version, trigger: item.trigger, test: false });
      count("run_start_calls");
      if (result.created) created++;
      else {
        count("run_duplicates_refused");
        log("run_duplicate", { run_id: result.id, event_id: item.event.id, workflow_id: start.workflowId });
      }
    } catch (err) {
      // Typically the runtime is short of resources: slow down and try this event again later.
      logError("run_start", err, { event_id: item.event.id, workflow_id: start.workflowId });
      item.outcome = retry(`Starting the run of ${start.workflowId} failed: ${errorText(err)}`);
    }
  });
  return { calls: calls.length, created };
}

// ---------------------------------------------------------------- settle

/**
 * Gives every message its end: stale events recorded, dead letters and continuations sent, the
 * inbox told which events are done, then each message acknowledged or retried — acknowledged only
 * once nothing of it can be lost.
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
  const dead = items.filter((i) => i.outcome?.kind === "dead");
  const deferred = items.filter((i): i is Mirrored => i.outcome?.kind === "defer");
  // Dead letters keep anything (the v8 format); continuations are JSON, as the inbox sends them.
  await sendAll(env.DEAD_EVENTS, dead.map((item) => ({ item, body: deadLetter(item), contentType: "v8" as const })));
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

/** Whether an event can be kept for replay: as deep and as large as the intake would accept. */
export function keepableEvent(event: EntityEvent, maxBytes: number): boolean {
  return valueDepth(event.data) <= MAX_JSON_DEPTH && utf8Bytes(JSON.stringify(event)) <= maxBytes;
}

/**
 * What goes to the dead-letter queue: the reason, the attempts, and the message — with its event
 * only when it fits in a queue message and could be replayed; otherwise the event is named by id
 * and the dead-letter consumer reads it from its inbox.
 */
function deadLetter(item: Item) {
  const reason = item.outcome?.kind === "dead" ? item.outcome.reason : "The consumer gave up";
  const { body, event } = item;
  let original: unknown;
  if (body === null) {
    let small = false;
    try {
      small = valueDepth(item.msg.body) <= MAX_JSON_DEPTH && utf8Bytes(JSON.stringify(item.msg.body) ?? "") <= DEAD_INLINE_BYTES;
    } catch {
      // not JSON at all
    }
    original = small ? item.msg.body : "(not kept: too large, too deep or not JSON)";
  } else {
    original = { v: body.v, shard: body.shard, seq: body.seq, ...(event && keepableEvent(event, DEAD_INLINE_BYTES) ? { event } : {}) };
  }
  return { original, error: reason, attempts: item.msg.attempts, event_id: event?.id ?? null };
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

// ---------------------------------------------------------------- helpers

function* chunks<T>(list: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

/** Runs `run` over the list with at most `concurrency` calls in flight. */
async function pool<T>(list: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < list.length) await run(list[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}
