import { z } from "zod";

/*
 * The runs a bulk retry (SPEC §15) takes: of one workflow, with one status, started in a window,
 * newest first, from the run index (the (workflow_id, started_at) index reads only them).
 */

export interface RetryCandidateFilter {
  workflow_id: string;
  status: string;
  since: number;
  until: number;
  test?: boolean | undefined;
  /** Exclusive (started_at, id) to continue after. */
  before?: [number, string] | undefined;
  limit: number;
}

const RowSchema = z.object({ id: z.string(), started_at: z.number() });

export async function retryCandidates(d1: D1Database, f: RetryCandidateFilter): Promise<z.infer<typeof RowSchema>[]> {
  const where = ["workflow_id = ?", "status = ?", "started_at >= ?", "started_at < ?"];
  const args: unknown[] = [f.workflow_id, f.status, f.since, f.until];
  if (f.test !== undefined) {
    where.push("test = ?");
    args.push(f.test ? 1 : 0);
  }
  if (f.before) {
    where.push("(started_at, id) < (?, ?)");
    args.push(...f.before);
  }
  const { results } = await d1
    .prepare(`SELECT id, started_at FROM runs WHERE ${where.join(" AND ")} ORDER BY started_at DESC, id DESC LIMIT ?`)
    .bind(...args, f.limit)
    .all();
  return z.array(RowSchema).parse(results);
}
