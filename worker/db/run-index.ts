import { z } from "zod";
/** What the D1 index holds of a run: enough to list, filter and count; the rest is in its object. */
export interface RunIndexRow {
  id: string;
  workflow_id: string;
  /** The workflow's current name (lists only; not stored with the run). */
  workflow_name?: string | null;
  workflow_version: number;
  status: string;
  test: boolean;
  event_id: string | null;
  entity: string | null;
  entity_id: string | null;
  started_at: number;
  finished_at: number | null;
  error: string | null;
  /** The run's summary counters by name (the node registry names them). */
  summary: Record<string, number> | null;
  steps: Record<string, string>;
  /** Why a pending run waits (SPEC §14), or null. */
  waiting_for: string | null;
  /** The flow-control key's value (SPEC §14), or null. */
  flow_key: string | null;
}

/** A row as it is written: with the revision of the run state it describes. */
export type RunIndexWrite = RunIndexRow & { rev: number };

/**
 * Idempotent, and only forward: the key (started_at, id) is fixed for a run, so writing it again
 * updates in place, and an update wins only with a newer revision of the run. Writes of one run
 * can be in flight together (the delayed "running" row and the final one) and land in any order;
 * the older one then changes nothing, so a finished run is never listed as running again.
 */
export function upsertRunStatement(d1: D1Database, r: RunIndexWrite): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO runs (started_at, id, workflow_id, workflow_version, status, test, event_id, entity, entity_id, finished_at, error, summary, steps, rev, waiting_for, flow_key)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
       ON CONFLICT (started_at, id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
         error = excluded.error, summary = excluded.summary, steps = excluded.steps, rev = excluded.rev,
         waiting_for = excluded.waiting_for, event_id = excluded.event_id, entity_id = excluded.entity_id
       WHERE excluded.rev > runs.rev`,
    )
    .bind(
      r.started_at,
      r.id,
      r.workflow_id,
      r.workflow_version,
      r.status,
      r.test ? 1 : 0,
      r.event_id,
      r.entity,
      r.entity_id,
      r.finished_at,
      r.error,
      JSON.stringify(r.summary),
      JSON.stringify(r.steps),
      r.rev,
      r.waiting_for,
      r.flow_key,
    );
}

interface DbRow {
  started_at: number;
  id: string;
  workflow_id: string;
  workflow_name: string | null;
  workflow_version: number;
  status: string;
  test: number;
  event_id: string | null;
  entity: string | null;
  entity_id: string | null;
  finished_at: number | null;
  error: string | null;
  summary: string | null;
  steps: string | null;
  rev: number;
  waiting_for: string | null;
  flow_key: string | null;
}

const fromDb = ({ rev: _rev, ...r }: DbRow): RunIndexRow => ({
  ...r,
  test: r.test === 1,
  summary: r.summary ? JSON.parse(r.summary) : null,
  steps: r.steps ? JSON.parse(r.steps) : {},
});

export interface RunFilter {
  workflow_id?: string | undefined;
  status?: string | undefined;
  test?: boolean | undefined;
  /** Exclusive (started_at, id) to continue after. */
  before?: [number, string] | undefined;
  limit: number;
}

export async function listRuns(d1: D1Database, f: RunFilter): Promise<RunIndexRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.workflow_id !== undefined) {
    where.push("r.workflow_id = ?");
    args.push(f.workflow_id);
  }
  if (f.status !== undefined) {
    where.push("r.status = ?");
    args.push(f.status);
  }
  if (f.test !== undefined) {
    where.push("r.test = ?");
    args.push(f.test ? 1 : 0);
  }
  if (f.before) {
    where.push("(r.started_at, r.id) < (?, ?)");
    args.push(f.before[0], f.before[1]);
  }
  const sql = `SELECT r.*, w.name AS workflow_name FROM runs r LEFT JOIN workflows w ON w.id = r.workflow_id
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY r.started_at DESC, r.id DESC LIMIT ?`;
  const { results } = await d1
    .prepare(sql)
    .bind(...args, f.limit)
    .all<DbRow>();
  return results.map(fromDb);
}

export interface WorkflowStats {
  last_run: { id: string; status: string; started_at: string } | null;
  runs_24h: number;
}

const StatsRowSchema = z.object({
  workflow_id: z.string(),
  last: z.string().nullable(),
  n: z.int(),
});
const LastRunSchema = z.tuple([z.string(), z.string(), z.number()]);

/**
 * Last run and real runs in 24 hours (test runs not counted) of a page of workflows, in one statement: the ids travel as one
 * JSON parameter, and each workflow's answers come from the (workflow_id, started_at) index.
 */
export async function workflowStats(d1: D1Database, ids: readonly string[], now: number): Promise<Map<string, WorkflowStats>> {
  const out = new Map<string, WorkflowStats>();
  if (ids.length === 0) return out;
  const { results } = await d1
    .prepare(
      `SELECT j.value AS workflow_id,
         (SELECT json_array(id, status, started_at) FROM runs WHERE workflow_id = j.value ORDER BY started_at DESC LIMIT 1) AS last,
         (SELECT count(*) FROM runs WHERE workflow_id = j.value AND started_at >= ?2 AND test = 0) AS n
       FROM json_each(?1) j`,
    )
    .bind(JSON.stringify(ids), now - 86_400_000)
    .all();
  for (const row of z.array(StatsRowSchema).parse(results)) {
    const last = row.last === null ? null : LastRunSchema.parse(JSON.parse(row.last));
    out.set(row.workflow_id, {
      last_run: last ? { id: last[0], status: last[1], started_at: new Date(last[2]).toISOString() } : null,
      runs_24h: row.n,
    });
  }
  return out;
}
