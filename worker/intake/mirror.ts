import { z } from "zod";
import { snapshotStatement, SnapshotRowSchema } from "../entities";
import { upsertPreparedChunks } from "../entities/store";
import { ANY_TAG } from "../definition/trigger";
import { track } from "../lib/metrics";
import { logError } from "../log";
import { stockStatements, type StockRead } from "./restock-detect";
import { errorText, pool, ready, retry, type Item, type Ready } from "./item";

/** D1 round trips in flight at once when a batch falls back to one event at a time. */
const FALLBACK_CONCURRENCY = 8;

const CandidateSchema = z.object({ workflow_id: z.string(), version: z.int(), entity: z.string(), tag: z.string() });
/** A trigger indexed under an entity and one of its include tags (or "*"). */
export type Candidate = z.infer<typeof CandidateSchema>;

/** Candidates read so far, and the tags per entity the read covered. */
export interface CandidateRead {
  candidates: Candidate[];
  covered: Map<string, Set<string>>;
  /** Stock read for restocks, per transaction that mirrored inventory items. */
  stock: StockRead[];
}

/**
 * Stage 2: upserts every event's snapshot and reads it back (for `trigger.previous`), and reads
 * the active triggers indexed under the events' entities and tags: one D1 round trip. A D1 batch is
 * one transaction, so one event D1 refuses fails them all: then each event is mirrored alone, and
 * only the ones D1 refuses are retried.
 */
export async function mirror(env: Env, items: Item[]): Promise<CandidateRead> {
  const todo = ready(items);
  const none: CandidateRead = { candidates: [], covered: new Map(), stock: [] };
  if (todo.length === 0) return none;
  const perEvent = todo.map((item) => [...upsertPreparedChunks(env.DB, item.event.entity, [item.row]).flat(), snapshotStatement(env.DB, item.event.entity, item.event.entity_id)]);
  const covered = tagsNeeded(todo.map((i) => ({ entity: i.event.entity, tags: tagsOf(i.event.data) })));
  // Restocks (intake/restock-detect.ts) read stock in the transaction that changed it, after every upsert.
  const stock = stockStatements(env.DB, todo);
  try {
    const candidates = candidateStatements(env.DB, covered);
    const results = track(await env.DB.batch([...perEvent.flat(), ...candidates, ...stock]));
    let at = 0;
    todo.forEach((item, k) => {
      at += perEvent[k]!.length;
      applySnapshot(item, results[at - 1]!);
    });
    const stockAt = at + candidates.length;
    return {
      candidates: parseCandidates(results.slice(at, stockAt)),
      covered,
      stock: stock.length > 0 ? [{ items: todo, results: results.slice(stockAt) }] : [],
    };
  } catch (err) {
    logError("consumer_d1", err, { events: todo.length });
  }
  const fallback: CandidateRead = { ...none, stock: [] };
  await pool(todo.map((item, k) => ({ item, statements: perEvent[k]! })), FALLBACK_CONCURRENCY, async ({ item, statements }) => {
    try {
      const own = stockStatements(env.DB, [item]);
      const results = track(await env.DB.batch([...statements, ...own]));
      applySnapshot(item, results[statements.length - 1]!);
      if (own.length > 0) fallback.stock.push({ items: [item], results: results.slice(statements.length) });
    } catch (err) {
      logError("consumer_d1_event", err, { event_id: item.event.id });
      item.outcome = retry(`The entity mirror refused the event: ${errorText(err)}`);
    }
  });
  return fallback;
}

function applySnapshot(item: Ready, result: D1Result) {
  const raw = result.results[0];
  const row = raw === undefined ? undefined : SnapshotRowSchema.parse(raw);
  const e = item.event;
  // The mirror keeps the newest snapshot by (occurred_at, event id). Holding another event's means
  // that one is newer and this one is stale; the same event delivered again finds its own.
  const stale = row !== undefined && row.event_id !== e.id;
  item.held = stale ? { event_id: row.event_id, occurred_at: row.occurred_at } : null;
  // A deleted event may carry only the id: the run sees the last snapshot the mirror held. Any
  // other sees its snapshot as validated, defaults applied (as the mirror holds it).
  const data = e.kind === "deleted" ? (row && !stale ? row.data : e.data) : item.row.d;
  item.tags = tagsOf(data);
  // A stale event's run sees its own data: the snapshot before it is not known.
  item.trigger = { id: e.id, type: e.type, entity: e.entity, entity_id: e.entity_id, occurred_at: e.occurred_at, data, previous: row && !stale ? row.previous : null };
}

function tagsOf(data: Record<string, unknown>): string[] {
  return Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : [];
}

/** Tags to read triggers for, per entity: each event's tags and "*" (triggers without include tags). */
export function tagsNeeded(events: { entity: string; tags: string[] }[], covered = new Map<string, Set<string>>()): Map<string, Set<string>> {
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
export function candidateStatements(d1: D1Database, need: Map<string, Set<string>>): D1PreparedStatement[] {
  return [...need].map(([entity, tags]) =>
    d1
      .prepare("SELECT workflow_id, version, entity, tag FROM trigger_index WHERE entity = ?1 AND tag IN (SELECT value FROM json_each(?2))")
      .bind(entity, JSON.stringify([...tags])),
  );
}

export function parseCandidates(results: D1Result[]): Candidate[] {
  return results.flatMap((r) => z.array(CandidateSchema).parse(r.results));
}
