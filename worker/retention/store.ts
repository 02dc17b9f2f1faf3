import { sql } from "drizzle-orm";
import { z } from "zod";
import { batch, jsonList, prepare } from "../db/sql";

/*
 * What retention reads and deletes in D1 (SPEC §16). Times compare as stored: runs.started_at in
 * epoch ms, the other tables' ISO instants (toISOString) and flow_stats' UTC days as text, which
 * order like the instants they name. Every delete is bounded, so one pass stays short.
 */

/** The run statuses after which nothing happens to a run any more: the only rows retention deletes. */
const ENDED = sql`('completed', 'failed', 'cancelled')`;

const RunKeySchema = z.object({ started_at: z.number(), id: z.string() });
export type RunKey = z.infer<typeof RunKeySchema>;

/** Runs that ended and started before `cutoff` (epoch ms), oldest first: the order of the runs key, no sort. */
export async function endedRunsBefore(d1: D1Database, cutoff: number, limit: number): Promise<RunKey[]> {
  const { results } = await prepare(
    d1,
    sql`SELECT started_at, id FROM runs WHERE started_at < ${cutoff} AND status IN ${ENDED} ORDER BY started_at, id LIMIT ${limit}`,
  ).all();
  return results.map((r) => RunKeySchema.parse(r));
}

/** Deletes the rows of these runs, as long as they still say the run ended; answers how many went. */
export async function deleteRuns(d1: D1Database, keys: readonly RunKey[]): Promise<number> {
  if (keys.length === 0) return 0;
  const [result] = await batch(d1, [
    prepare(
      d1,
      sql`DELETE FROM runs WHERE (started_at, id) IN (SELECT value->>'started_at', value->>'id' FROM json_each(${jsonList(keys)})) AND status IN ${ENDED}`,
    ),
    // The inbox rows of those runs (SPEC §15); one still waiting belongs to a run that has not ended.
    prepare(d1, sql`DELETE FROM approvals WHERE run_id IN (SELECT value->>'id' FROM json_each(${jsonList(keys)})) AND status != 'waiting'`),
  ]);
  return result!.meta.changes ?? 0;
}

/** Restock episodes that ended before `cutoff` (ISO instant), oldest first. */
export async function endedEpisodesBefore(d1: D1Database, cutoff: string, limit: number): Promise<string[]> {
  const { results } = await prepare(
    d1,
    sql`SELECT id FROM restock_episodes WHERE status = 'ended' AND ended_at < ${cutoff} ORDER BY ended_at, id LIMIT ${limit}`,
  ).all();
  return results.map((r) => z.object({ id: z.string() }).parse(r).id);
}

export async function deleteEpisodes(d1: D1Database, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const [result] = await batch(d1, [
    prepare(d1, sql`DELETE FROM restock_episodes WHERE id IN (SELECT value FROM json_each(${jsonList(ids)})) AND status = 'ended'`),
  ]);
  return result!.meta.changes ?? 0;
}

/** What lives in D1 only and is deleted there at once, at most `limit` rows of each table. */
export interface RowCounts {
  dead_events: number;
  stale_events: number;
  flow_stats: number;
}

/**
 * Deletes dead events that died, stale events recorded and flow statistics of days before the
 * cutoff: one D1 batch, at most `limit` rows per table (SQLite in D1 has no DELETE ... LIMIT).
 */
export async function deleteOldRows(d1: D1Database, cutoff: { instant: string; day: string }, limit: number): Promise<RowCounts> {
  const [dead, stale, stats] = await batch(d1, [
    prepare(d1, sql`DELETE FROM dead_events WHERE id IN (SELECT id FROM dead_events WHERE dead_at < ${cutoff.instant} LIMIT ${limit})`),
    prepare(
      d1,
      sql`DELETE FROM stale_events WHERE event_id IN (SELECT event_id FROM stale_events WHERE recorded_at < ${cutoff.instant} ORDER BY recorded_at LIMIT ${limit})`,
    ),
    prepare(
      d1,
      sql`DELETE FROM flow_stats WHERE (workflow_id, day, flow_key) IN (SELECT workflow_id, day, flow_key FROM flow_stats WHERE day < ${cutoff.day} LIMIT ${limit})`,
    ),
  ]);
  return { dead_events: dead!.meta.changes ?? 0, stale_events: stale!.meta.changes ?? 0, flow_stats: stats!.meta.changes ?? 0 };
}
