import { z } from "zod";
import { entitySpec, isEntityKind } from "../entities/registry";
import { utf8Bytes } from "../lib/json";
import { track } from "../lib/metrics";
import { AwaitedEventSchema, EVENT_LOG_MS, type AwaitedEvent, type EventWait, type EventWaitsPort } from "./port";

/*
 * The D1 side of event waits (port.ts says why nothing is missed):
 *   event_waits    one row per waiting step, keyed by event type, key path and key value
 *   event_watches  the (event type, key path) pairs any step ever waited with: the consumer logs
 *                  the events of these types and computes keys for these paths
 *   event_log      the events of watched types of the last hour, for the look-back
 */

/** Events a look-back answers at most: a wait is resolved by the first that matches. */
const LOOK_BACK_ROWS = 1000;
/** Bytes of events per logging statement (D1 caps a statement's parameters well above this). */
const LOG_CHUNK_BYTES = 512 * 1024;
/** Waits one consumer read answers at most (each is a Durable Object call). */
export const MAX_WAITS_READ = 1000;

const EventTextSchema = z.string().transform((text, ctx) => {
  let parsed: ReturnType<typeof AwaitedEventSchema.safeParse> | undefined;
  try {
    parsed = AwaitedEventSchema.safeParse(JSON.parse(text));
  } catch {
    // not JSON: reported below
  }
  if (parsed?.success) return parsed.data;
  ctx.addIssue({ code: "custom", message: "not an event" });
  return z.NEVER;
});
const LogRowSchema = z.object({ event: EventTextSchema });
const CountRowSchema = z.object({ n: z.int() });

export function eventWaitsPort(d1: D1Database): EventWaitsPort {
  return {
    async subscribe(w) {
      const results = track(
        await d1.batch([
          d1.prepare("SELECT count(*) AS n FROM event_watches WHERE event_type = ?1").bind(w.event_type),
          d1.prepare("INSERT INTO event_watches (event_type, key_path) VALUES (?1, ?2) ON CONFLICT DO NOTHING").bind(w.event_type, w.key_path),
          d1
            .prepare(
              `INSERT INTO event_waits (event_type, key_path, key_value, run_id, node_id, since, until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
               ON CONFLICT (event_type, key_path, key_value, run_id, node_id) DO UPDATE SET since = excluded.since, until = excluded.until`,
            )
            .bind(w.event_type, w.key_path, w.key_value, w.run_id, w.node_id, w.since, w.until),
          d1
            .prepare("SELECT event FROM event_log WHERE event_type = ?1 AND occurred_at >= ?2 AND occurred_at <= ?3 ORDER BY occurred_at LIMIT ?4")
            .bind(w.event_type, w.since, w.until, LOOK_BACK_ROWS),
        ]),
      );
      const logged = z.array(LogRowSchema).parse(results[3]!.results).map((r) => r.event);
      const watchedBefore = CountRowSchema.parse(results[0]!.results[0]).n > 0;
      // The first wait on a type: its events were not logged before this registration, so the
      // mirror is read instead (once per type, ever; it holds each entity's latest snapshot).
      return watchedBefore ? logged : [...logged, ...(await fromMirror(d1, w))];
    },

    async unsubscribe(w) {
      track(
        await d1
          .prepare("DELETE FROM event_waits WHERE event_type = ?1 AND key_path = ?2 AND key_value = ?3 AND run_id = ?4 AND node_id = ?5")
          .bind(w.event_type, w.key_path, w.key_value, w.run_id, w.node_id)
          .run(),
      );
    },
  };
}

const MirrorRowSchema = z.object({
  id: z.string(),
  data: z.string().transform((t) => z.record(z.string(), z.unknown()).parse(JSON.parse(t))),
  previous: z.string().nullable(),
  event_id: z.string(),
  occurred_at: z.string(),
  deleted: z.union([z.boolean(), z.int()]).transform(Boolean),
});

/**
 * Events of the wait's type the mirror shows since the wait began: entities whose snapshot
 * occurred since, as the event that wrote it (created when it had no previous snapshot, deleted
 * when deleted, else updated). Changes made by runs are not events and are left out.
 */
async function fromMirror(d1: D1Database, w: EventWait): Promise<AwaitedEvent[]> {
  const [entity, kind] = w.event_type.split(".");
  if (!entity || !isEntityKind(entity)) return [];
  const { results } = track(
    await d1
      .prepare(
        `SELECT id, data, previous, event_id, occurred_at, deleted FROM ${entitySpec(entity).table}
         WHERE occurred_at >= ?1 AND occurred_at <= ?2 AND event_id NOT LIKE 'run:%' AND event_id NOT LIKE 'test:%' ORDER BY occurred_at LIMIT ?3`,
      )
      .bind(w.since, w.until, LOOK_BACK_ROWS)
      .all(),
  );
  return z
    .array(MirrorRowSchema)
    .parse(results)
    .filter((r) => (r.deleted ? "deleted" : r.previous === null ? "created" : "updated") === kind)
    .map((r) => ({ id: r.event_id, type: w.event_type, entity, entity_id: r.id, occurred_at: r.occurred_at, data: r.data }));
}

// ---------------------------------------------------------------- the consumer's side

const PathRowSchema = z.object({ event_type: z.string(), key_path: z.string() });

/**
 * Logs the events of watched types (for the look-back of waits registered meanwhile), forgets
 * logged events older than an hour, and answers the key paths waits of these types use, by type.
 * One D1 batch, so one transaction: see port.ts.
 */
export async function logAwaited(d1: D1Database, events: readonly AwaitedEvent[], now: Date): Promise<Map<string, string[]>> {
  const types = JSON.stringify([...new Set(events.map((e) => e.type))]);
  const statements = [
    d1.prepare("DELETE FROM event_log WHERE event_type IN (SELECT value FROM json_each(?1)) AND occurred_at < ?2").bind(types, new Date(now.getTime() - EVENT_LOG_MS).toISOString()),
    ...logChunks(events).map((chunk) =>
      d1
        .prepare(
          `INSERT INTO event_log (event_type, occurred_at, event_id, event, logged_at)
           SELECT value->>'type', value->>'occurred_at', value->>'id', json(value), ?2 FROM json_each(?1)
           WHERE EXISTS (SELECT 1 FROM event_watches w WHERE w.event_type = value->>'type')
           ON CONFLICT DO NOTHING`,
        )
        .bind(chunk, now.toISOString()),
    ),
    d1.prepare("SELECT event_type, key_path FROM event_watches WHERE event_type IN (SELECT value FROM json_each(?1))").bind(types),
  ];
  const results = track(await d1.batch(statements));
  const paths = new Map<string, string[]>();
  for (const row of z.array(PathRowSchema).parse(results.at(-1)!.results)) paths.set(row.event_type, [...(paths.get(row.event_type) ?? []), row.key_path]);
  return paths;
}

/** The events as JSON arrays of at most LOG_CHUNK_BYTES each. */
function logChunks(events: readonly AwaitedEvent[]): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const e of events) {
    const text = JSON.stringify(e);
    const size = utf8Bytes(text);
    if (parts.length > 0 && bytes + size > LOG_CHUNK_BYTES) {
      out.push(`[${parts.join(",")}]`);
      parts = [];
      bytes = 0;
    }
    parts.push(text);
    bytes += size;
  }
  if (parts.length > 0) out.push(`[${parts.join(",")}]`);
  return out;
}

/** A question to the waits: which steps wait for an event of `type` that occurred at `occurred_at` and has `key_value` at `key_path`. */
export interface WaitProbe {
  type: string;
  key_path: string;
  key_value: string;
  occurred_at: string;
}

const FoundRowSchema = z.object({ probe: z.int(), run_id: z.string(), node_id: z.string() });
/** A waiting step one probe found, by the probe's index. */
export type FoundWait = z.infer<typeof FoundRowSchema>;

/** The steps waiting for each probe's event (at most MAX_WAITS_READ in all): one statement. */
export async function findWaits(d1: D1Database, probes: readonly WaitProbe[]): Promise<FoundWait[]> {
  if (probes.length === 0) return [];
  const { results } = track(
    await d1
      .prepare(
        `SELECT p.key AS probe, w.run_id, w.node_id FROM json_each(?1) p
         JOIN event_waits w ON w.event_type = p.value->>'type' AND w.key_path = p.value->>'key_path' AND w.key_value = p.value->>'key_value'
         WHERE w.since <= p.value->>'occurred_at' AND w.until >= p.value->>'occurred_at'
         LIMIT ?2`,
      )
      .bind(JSON.stringify(probes), MAX_WAITS_READ)
      .all(),
  );
  return z.array(FoundRowSchema).parse(results);
}

/** Forgets waits whose step no longer waits (the run ended, or moved on without removing them). */
export async function forgetWaits(d1: D1Database, gone: readonly Omit<EventWait, "since" | "until">[]): Promise<void> {
  if (gone.length === 0) return;
  track(
    await d1
      .prepare(
        `DELETE FROM event_waits WHERE (event_type, key_path, key_value, run_id, node_id) IN
         (SELECT value->>'event_type', value->>'key_path', value->>'key_value', value->>'run_id', value->>'node_id' FROM json_each(?1))`,
      )
      .bind(JSON.stringify(gone))
      .run(),
  );
}
