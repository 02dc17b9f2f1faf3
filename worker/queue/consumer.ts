import { snapshotStatement, SnapshotRowSchema, upsertStatements } from "../entities";
import { getDefinitions } from "../db/workflow-store";
import { utcDate } from "../definition/date-spec";
import { QueueMessageSchema, type EntityEvent, type QueueMessage } from "../events/envelope";
import { ANY_TAG, matchesTrigger } from "../engine/trigger-match";
import type { TriggerInfo } from "../engine/run-state";
import { INBOX_SHARDS } from "../inbox-object";
import { count, track } from "../lib/metrics";
import { log, logError } from "../log";

/** D1 binds at most 100 parameters per statement. */
const TAGS_PER_QUERY = 90;
/** Runs started at once by one batch; more at once only queue up inside workerd. */
const START_CONCURRENCY = 32;

export const runName = (workflowId: string, eventId: string) => `${workflowId}:${eventId}`;
export const inboxStub = (env: Env, shard: number) => env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`));
export const pickShard = (key: string) => {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % INBOX_SHARDS;
};

interface Work {
  msg: Message<unknown>;
  body: QueueMessage;
  event: EntityEvent;
  trigger?: TriggerInfo;
  tags: string[];
}

interface Candidate {
  workflow_id: string;
  version: number;
  entity: string;
  tag: string;
}

/**
 * The EVENTS queue consumer: mirror each event's entity, find the active workflows whose trigger
 * matches, start one run each, then acknowledge. Starting is idempotent (the run object is named
 * from workflow and event id), so a redelivered message never starts a second run.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const work: Work[] = [];
  const needBodies = new Map<number, { msg: Message<unknown>; body: QueueMessage }[]>();
  for (const msg of batch.messages) {
    const parsed = QueueMessageSchema.safeParse(msg.body);
    if (!parsed.success) {
      // Nothing will ever make it valid: straight to the dead-letter queue.
      await deadLetter(env, msg, "The queue message is not an event message");
      continue;
    }
    if (parsed.data.event) work.push({ msg, body: parsed.data, event: parsed.data.event, tags: [] });
    else needBodies.set(parsed.data.shard, [...(needBodies.get(parsed.data.shard) ?? []), { msg, body: parsed.data }]);
  }
  for (const [shard, items] of needBodies) {
    const bodies = await inboxStub(env, shard).bodies(items.map((i) => i.body.seq));
    for (const item of items) {
      const event = bodies[item.body.seq];
      // Gone from the inbox: an earlier delivery finished it.
      if (event) work.push({ msg: item.msg, body: item.body, event, tags: [] });
      else item.msg.ack();
    }
  }
  if (work.length === 0) return;

  const matchStarted = performance.now();
  let candidates: Candidate[];
  try {
    candidates = await mirrorAndFindCandidates(env, work);
  } catch (err) {
    logError("consumer_d1", err, { messages: work.length });
    for (const w of work) w.msg.retry({ delaySeconds: retryDelay(w.msg.attempts) });
    return;
  }

  const mirrored = performance.now();
  const definitions = await getDefinitions(
    env.DB,
    [...new Map(candidates.map((c) => [`${c.workflow_id}@${c.version}`, { workflowId: c.workflow_id, version: c.version }])).values()],
  );

  const starts: { w: Work; workflowId: string; version: number }[] = [];
  const failed = new Set<Work>();
  for (const w of work) {
    const have = new Set([...w.tags, ANY_TAG]);
    const seen = new Set<string>();
    for (const c of candidates) {
      if (c.entity !== w.event.entity || !have.has(c.tag) || seen.has(c.workflow_id)) continue;
      seen.add(c.workflow_id);
      const def = definitions.get(`${c.workflow_id}@${c.version}`);
      if (def === undefined) continue; // deactivated since the index was read
      if (def instanceof Error) {
        // Never skip silently: the event is tried again and, if it keeps failing, is dead-lettered.
        logError("consumer_definition", def, { workflow_id: c.workflow_id, event_id: w.event.id });
        failed.add(w);
        continue;
      }
      const now = new Date();
      const scope = {
        trigger: w.trigger!,
        steps: {},
        workflow: { id: c.workflow_id, name: def.name, version: c.version },
        run: { id: "" },
        now: now.toISOString(),
        today: utcDate(now),
      };
      if (matchesTrigger(def.trigger, { entity: w.event.entity, kind: w.event.kind, tags: w.tags, scope })) {
        starts.push({ w, workflowId: c.workflow_id, version: c.version });
      }
    }
  }

  count("consumer_events", work.length);
  count("consumer_match_ms", performance.now() - matchStarted);
  count("consumer_candidates", candidates.length);
  const matched = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < starts.length) {
      const s = starts[next++]!;
      if (failed.has(s.w)) continue;
      try {
        const stub = env.RUNS.get(env.RUNS.idFromName(runName(s.workflowId, s.w.event.id)));
        const started = await stub.start({ workflow_id: s.workflowId, workflow_version: s.version, trigger: s.w.trigger!, test: false });
        count("run_start_calls");
        if (!started.created) {
          count("run_duplicates_refused");
          log("run_duplicate", { run_id: started.id, event_id: s.w.event.id, workflow_id: s.workflowId });
        }
      } catch (err) {
        // Typically the runtime is short of resources: slow down and try this event again later.
        failed.add(s.w);
        logError("run_start", err, { event_id: s.w.event.id, workflow_id: s.workflowId });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, starts.length) }, worker));

  const done = new Map<number, number[]>();
  for (const w of work) {
    if (failed.has(w)) {
      w.msg.retry({ delaySeconds: retryDelay(w.msg.attempts) });
    } else {
      done.set(w.body.shard, [...(done.get(w.body.shard) ?? []), w.body.seq]);
    }
  }
  await Promise.all(
    [...done].map(async ([shard, seqs]) => {
      try {
        await inboxStub(env, shard).ack(seqs);
      } catch (err) {
        // Not fatal: the inbox sends them again and the second delivery starts nothing new.
        logError("inbox_ack", err, { shard, events: seqs.length });
      }
    }),
  );
  for (const w of work) if (!failed.has(w)) w.msg.ack();
  count("consumer_batches");
  log("consumer_batch", {
    messages: batch.messages.length,
    runs: starts.length,
    retried: failed.size,
    ms: Math.round(performance.now() - matchStarted),
    mirror_ms: Math.round(mirrored - matchStarted),
    match_ms: Math.round(matched - mirrored),
    start_ms: Math.round(performance.now() - matched),
  });
}

/** Back-off for a message that must be tried again: 2 s doubling, at most 5 minutes. */
export function retryDelay(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 9));
}

/**
 * One D1 round trip: upsert every event's snapshot and read it back (for `trigger.previous`), and
 * read the active triggers indexed under the events' entities and tags.
 */
async function mirrorAndFindCandidates(env: Env, work: Work[]): Promise<Candidate[]> {
  const statements: D1PreparedStatement[] = [];
  const reads: number[] = [];
  for (const w of work) {
    const e = w.event;
    statements.push(
      ...upsertStatements(env.DB, e.entity, [{ data: e.data, occurredAt: e.occurred_at, eventId: e.id, deleted: e.kind === "deleted" }]),
    );
    reads.push(statements.length);
    statements.push(snapshotStatement(env.DB, e.entity, e.entity_id));
  }
  const tagsByEntity = new Map<string, Set<string>>();
  for (const w of work) {
    const tags = tagsOf(w.event.data);
    const set = tagsByEntity.get(w.event.entity) ?? new Set([ANY_TAG]);
    for (const t of tags) set.add(t);
    tagsByEntity.set(w.event.entity, set);
  }
  const triggerReads: number[] = [];
  for (const [entity, set] of tagsByEntity) {
    const tags = [...set];
    for (let i = 0; i < tags.length; i += TAGS_PER_QUERY) {
      const chunk = tags.slice(i, i + TAGS_PER_QUERY);
      triggerReads.push(statements.length);
      statements.push(
        env.DB.prepare(
          `SELECT workflow_id, version, entity, tag FROM trigger_index WHERE entity = ? AND tag IN (${chunk.map(() => "?").join(",")})`,
        ).bind(entity, ...chunk),
      );
    }
  }
  const results = track(await env.DB.batch(statements));
  work.forEach((w, i) => {
    const raw = results[reads[i]!]!.results[0];
    const row = raw === undefined ? undefined : SnapshotRowSchema.parse(raw);
    const mine = row?.event_id === w.event.id;
    // A deleted event carries only the id: the run sees the last snapshot the mirror held.
    const data = w.event.kind === "deleted" && row ? row.data : w.event.data;
    w.tags = tagsOf(data);
    w.trigger = {
      id: w.event.id,
      type: w.event.type,
      entity: w.event.entity,
      entity_id: w.event.entity_id,
      occurred_at: w.event.occurred_at,
      data,
      previous: mine ? row.previous : null,
    };
  });
  return triggerReads.flatMap((i) => results[i]!.results as unknown as Candidate[]);
}

function tagsOf(data: Record<string, unknown>): string[] {
  return Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : [];
}

/** Sends a message the consumer can never process to the dead-letter queue and lets it go. */
export async function deadLetter(env: Env, msg: Message<unknown>, error: string) {
  await env.DEAD_EVENTS.send({ original: msg.body, error, attempts: msg.attempts });
  msg.ack();
}
