import { z } from "zod";

/*
 * The approvals inbox in D1 (SPEC §15). A row mirrors one approval step of one run; the run object
 * writes it with the run's index row (worker/run/index-writer.ts), so its statuses follow the run.
 * Rows are kept as long as their run (retention deletes both).
 */

/** Waiting for a decision; decided (approved, rejected, by a person or at the deadline); or cancelled with its run. */
export const APPROVAL_STATUSES = ["waiting", "approved", "rejected", "cancelled"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export interface ApprovalRow {
  run_id: string;
  node_id: string;
  workflow_id: string;
  /** The workflow's current name (lists only; not stored). */
  workflow_name?: string | null;
  workflow_version: number;
  test: boolean;
  status: ApprovalStatus;
  title: string;
  message: string;
  approvers: string[];
  requested_at: number;
  timeout_at: number;
  on_timeout: string;
  decided_by: string | null;
  decided_at: number | null;
  comment: string | null;
  timed_out: boolean;
}

/** A row as it is written: with the revision of the run state it describes. */
export type ApprovalWrite = Omit<ApprovalRow, "workflow_name"> & { rev: number };

/** Idempotent and only forward, like the run's index row: an update wins only with a newer revision of the run. */
export function upsertApprovalStatement(d1: D1Database, r: ApprovalWrite): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO approvals (run_id, node_id, workflow_id, workflow_version, test, status, title, message, approvers, requested_at, timeout_at, on_timeout, decided_by, decided_at, comment, timed_out, rev)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
       ON CONFLICT (run_id, node_id) DO UPDATE SET status = excluded.status, title = excluded.title, message = excluded.message,
         approvers = excluded.approvers, requested_at = excluded.requested_at, timeout_at = excluded.timeout_at, on_timeout = excluded.on_timeout,
         decided_by = excluded.decided_by, decided_at = excluded.decided_at, comment = excluded.comment, timed_out = excluded.timed_out, rev = excluded.rev
       WHERE excluded.rev > approvals.rev`,
    )
    .bind(
      r.run_id,
      r.node_id,
      r.workflow_id,
      r.workflow_version,
      r.test ? 1 : 0,
      r.status,
      r.title,
      r.message,
      JSON.stringify(r.approvers),
      r.requested_at,
      r.timeout_at,
      r.on_timeout,
      r.decided_by,
      r.decided_at,
      r.comment,
      r.timed_out ? 1 : 0,
      r.rev,
    );
}

const DbRowSchema = z.object({
  run_id: z.string(),
  node_id: z.string(),
  workflow_id: z.string(),
  workflow_name: z.string().nullable(),
  workflow_version: z.int(),
  test: z.int(),
  status: z.enum(APPROVAL_STATUSES),
  title: z.string(),
  message: z.string(),
  approvers: z.string(),
  requested_at: z.number(),
  timeout_at: z.number(),
  on_timeout: z.string(),
  decided_by: z.string().nullable(),
  decided_at: z.number().nullable(),
  comment: z.string().nullable(),
  timed_out: z.int(),
});

const fromDb = (r: z.infer<typeof DbRowSchema>): ApprovalRow => ({
  ...r,
  test: r.test === 1,
  timed_out: r.timed_out === 1,
  approvers: z.array(z.string()).catch([]).parse(JSON.parse(r.approvers)),
});

/** Which approvals a list shows: those waiting, those decided (approved or rejected), or all. */
export type ApprovalFilter = "waiting" | "decided" | undefined;

/** Newest request first; `before` is the exclusive (requested_at, run_id, node_id) to continue after. */
export async function listApprovals(
  d1: D1Database,
  f: { status: ApprovalFilter; before?: [number, string, string] | undefined; limit: number },
): Promise<ApprovalRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.status === "waiting") where.push("a.status = 'waiting'");
  if (f.status === "decided") where.push("a.status IN ('approved', 'rejected')");
  if (f.before) {
    where.push("(a.requested_at, a.run_id, a.node_id) < (?, ?, ?)");
    args.push(...f.before);
  }
  const { results } = await d1
    .prepare(
      `SELECT a.*, w.name AS workflow_name FROM approvals a LEFT JOIN workflows w ON w.id = a.workflow_id
       ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY a.requested_at DESC, a.run_id DESC, a.node_id DESC LIMIT ?`,
    )
    .bind(...args, f.limit)
    .all();
  return z.array(DbRowSchema).parse(results).map(fromDb);
}
