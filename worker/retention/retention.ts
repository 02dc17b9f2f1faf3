import { config } from "../config";
import { utcDate } from "../definition/date-spec";
import { pool } from "../lib/pool";
import { log, logError } from "../log";
import { deleteEpisodes, deleteOldRows, deleteRuns, endedEpisodesBefore, endedRunsBefore, type RowCounts, type RunKey } from "./store";

/*
 * Retention (SPEC §16): what is older than RETENTION_DAYS goes — runs that ended (their D1 row,
 * and their Durable Object's storage with every step, input, output and artifact), dead events,
 * stale events, restock episodes that ended (row and object) and flow-control statistics by day.
 *
 * Kept whatever their age, as business data other records point to: orders and conversions,
 * discount codes and their redemptions, tracked links and their clicks, plans, the entity mirror,
 * workflows and their versions.
 *
 * Invariants: a run that has not ended — pending, running, sleeping in a wait, held by its gate —
 * is never deleted, neither its row (only ended rows are read and deleted) nor its object (which
 * refuses a purge unless it ended). A D1 row goes only after its object answered purged, so a pass
 * that dies in between leaves a row the next pass purges again (an empty object answers purged).
 */

const DAY_MS = 86_400_000;

export const RETENTION_LIMITS = {
  /**
   * Run objects purged per pass, oldest first. Each purge is a subrequest (a Worker invocation may
   * make 1,000), besides a few D1 statements; the rest waits for the next pass.
   */
  runs: 200,
  /** Restock episode objects purged per pass (a subrequest each). */
  episodes: 100,
  /** Rows per table of what lives in D1 only (dead and stale events, flow statistics), per pass. */
  rows: 5_000,
};
export type RetentionLimits = typeof RETENTION_LIMITS;

/** Purges in flight at once. */
const CONCURRENCY = 8;

/** What one pass deleted, and what its objects refused or could not be asked. */
export interface RetentionResult extends RowCounts {
  runs: number;
  /** Rows that said the run ended while its object had not, or still owed its gate the news: kept. */
  runs_refused: number;
  /** Objects that could not be reached (logged): their rows are kept for the next pass. */
  runs_failed: number;
  restock_episodes: number;
  episodes_refused: number;
  episodes_failed: number;
  /** A bound was reached with progress made: the next tick should go on rather than wait an hour. */
  more: boolean;
}

/** Purges each object; answers the keys whose object was purged. */
async function purgeAll<K>(keys: readonly K[], purge: (key: K) => Promise<{ purged: boolean }>, what: string, idOf: (key: K) => string) {
  const purged: K[] = [];
  let refused = 0;
  let failed = 0;
  await pool(keys, CONCURRENCY, async (key) => {
    try {
      if ((await purge(key)).purged) purged.push(key);
      else refused++;
    } catch (err) {
      failed++;
      logError("retention", err, { [what]: idOf(key) });
    }
  });
  return { purged, refused, failed };
}

/**
 * One pass of retention at `now` (epoch ms; the scheduled tick's time). Deletes at most
 * `limits.runs` runs and `limits.episodes` episodes and `limits.rows` rows per table, logs one
 * `{"kind":"retention",...}` line and answers the counts.
 */
export async function runRetention(env: Env, now: number, limits: RetentionLimits = RETENTION_LIMITS): Promise<RetentionResult> {
  const started = Date.now();
  const days = config(env).RETENTION_DAYS;
  const cutoff = now - days * DAY_MS;
  const instant = new Date(cutoff).toISOString();

  const rows = await deleteOldRows(env.DB, { instant, day: utcDate(new Date(cutoff)) }, limits.rows);

  const runKeys = await endedRunsBefore(env.DB, cutoff, limits.runs);
  const runs = await purgeAll(runKeys, (k: RunKey) => env.RUNS.get(env.RUNS.idFromString(k.id)).purge(), "run_id", (k) => k.id);
  const runsDeleted = await deleteRuns(env.DB, runs.purged);

  const episodeIds = await endedEpisodesBefore(env.DB, instant, limits.episodes);
  const episodes = await purgeAll(episodeIds, (id: string) => env.RESTOCKS.get(env.RESTOCKS.idFromName(id)).purge(), "episode", (id) => id);
  const episodesDeleted = await deleteEpisodes(env.DB, episodes.purged);

  const full = (found: number, limit: number, progress: number) => found === limit && progress > 0;
  const result: RetentionResult = {
    ...rows,
    runs: runsDeleted,
    runs_refused: runs.refused,
    runs_failed: runs.failed,
    restock_episodes: episodesDeleted,
    episodes_refused: episodes.refused,
    episodes_failed: episodes.failed,
    more:
      full(runKeys.length, limits.runs, runsDeleted) ||
      full(episodeIds.length, limits.episodes, episodesDeleted) ||
      Object.values(rows).some((n) => n === limits.rows),
  };
  log("retention", { days, cutoff: instant, ...result, ms: Date.now() - started });
  return result;
}
