import { createRoute, z } from "@hono/zod-openapi";
import {
  RUN_STATS_BUCKET_MS,
  RunStatsQuerySchema,
  RunStatsSchema,
  StepFailuresQuerySchema,
  StepFailuresSchema,
  type RunStatsBucket,
  type StepFailure,
} from "../contract/run-stats";
import { db } from "../db/sql";
import { AppError } from "../errors";
import { getWorkflow } from "../workflows/store";
import { commonErrors, errorResponse, jsonContent, router } from "./api";

/*
 * Runs over time and failures per step (issue 14), aggregated in D1 over the run index: one
 * GROUP BY each, read through the (started_at, id) key or the (workflow_id, started_at) index.
 * Mounted at /api before the runs app, whose /runs/{id} would otherwise take /runs/stats.
 */
export const runStatsApp = router();

const BucketRowSchema = z.object({ h: z.int(), completed: z.int(), failed: z.int(), cancelled: z.int(), running: z.int() });

runStatsApp.openapi(
  createRoute({
    method: "get",
    path: "/runs/stats",
    operationId: "getRunStats",
    summary: "Runs per hour by outcome",
    description:
      "Completed, failed, cancelled, still running. Runs started in each hour (UTC) of the last `hours` hours, counted by their status now; test runs are left out. Every hour of the window is listed, " +
      "oldest first, with zeros where nothing ran. `workflow_id` keeps one workflow's runs.",
    request: { query: RunStatsQuerySchema },
    responses: { 200: jsonContent(RunStatsSchema.openapi("RunStats"), "Runs per hour"), ...commonErrors },
  }),
  async (c) => {
    const { hours, workflow_id } = c.req.valid("query");
    const now = Date.now();
    const first = Math.floor(now / RUN_STATS_BUCKET_MS) - (hours - 1);
    const since = first * RUN_STATS_BUCKET_MS;
    // Two texts rather than `?2 IS NULL OR …`, so that a workflow's runs come from its index.
    const counts = `SELECT started_at / ${RUN_STATS_BUCKET_MS} AS h,
         sum(status = 'completed') AS completed, sum(status = 'failed') AS failed, sum(status = 'cancelled') AS cancelled,
         sum(status IN ('pending', 'running')) AS running
       FROM runs WHERE started_at >= ?1 AND test = 0`;
    const statement =
      workflow_id === undefined
        ? c.env.DB.prepare(`${counts} GROUP BY h`).bind(since)
        : c.env.DB.prepare(`${counts} AND workflow_id = ?2 GROUP BY h`).bind(since, workflow_id);
    const { results } = await statement.all();
    const byHour = new Map(z.array(BucketRowSchema).parse(results).map((r) => [r.h, r]));
    const buckets: RunStatsBucket[] = [];
    const totals = { completed: 0, failed: 0, cancelled: 0, running: 0 };
    for (let h = first; h < first + hours; h++) {
      const r = byHour.get(h) ?? { completed: 0, failed: 0, cancelled: 0, running: 0 };
      buckets.push({ start: new Date(h * RUN_STATS_BUCKET_MS).toISOString(), completed: r.completed, failed: r.failed, cancelled: r.cancelled, running: r.running });
      totals.completed += r.completed;
      totals.failed += r.failed;
      totals.cancelled += r.cancelled;
      totals.running += r.running;
    }
    return c.json(
      RunStatsSchema.parse({
        workflow_id: workflow_id ?? null,
        hours,
        from: new Date(since).toISOString(),
        to: new Date(now).toISOString(),
        bucket_ms: RUN_STATS_BUCKET_MS,
        buckets,
        totals,
      }),
      200,
    );
  },
);

const StepRowSchema = z.object({ node_id: z.string(), succeeded: z.int(), failed: z.int() });

runStatsApp.openapi(
  createRoute({
    method: "get",
    path: "/workflows/{id}/step-failures",
    operationId: "getStepFailures",
    summary: "How often each step of a workflow failed",
    description:
      "Per step, over the runs started in the last `hours` hours (test runs aside): how many finished (succeeded or failed), how many failed, and the rate. " +
      "Steps come in the order of the workflow's current version, each with its name and type; steps only older versions had come last, with null names.",
    request: {
      params: z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) }),
      query: StepFailuresQuerySchema,
    },
    responses: {
      200: jsonContent(StepFailuresSchema.openapi("StepFailures"), "Failures per step"),
      ...commonErrors,
      404: errorResponse("No workflow has this id"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { hours } = c.req.valid("query");
    const wf = await getWorkflow(db(c.env.DB), id);
    if (!wf) throw new AppError("not_found", `No workflow has the id ${id}`);
    const now = Date.now();
    const since = now - hours * 3_600_000;
    const [steps, runs] = await c.env.DB.batch([
      c.env.DB.prepare(
        `SELECT s.key AS node_id, sum(s.value = 'succeeded') AS succeeded, sum(s.value = 'failed') AS failed
         FROM runs r, json_each(r.steps) s
         WHERE r.workflow_id = ?1 AND r.started_at >= ?2 AND r.test = 0
         GROUP BY s.key`,
      ).bind(id, since),
      c.env.DB.prepare(`SELECT count(*) AS n FROM runs WHERE workflow_id = ?1 AND started_at >= ?2 AND test = 0`).bind(id, since),
    ]);
    const counted = new Map(z.array(StepRowSchema).parse(steps!.results).map((r) => [r.node_id, r]));
    const row = (node_id: string, name: string | null, type: string | null): StepFailure => {
      const r = counted.get(node_id) ?? { succeeded: 0, failed: 0 };
      const finished = r.succeeded + r.failed;
      return { node_id, name, type, runs: finished, succeeded: r.succeeded, failed: r.failed, failure_rate: finished === 0 ? 0 : r.failed / finished };
    };
    const current = wf.definition.nodes.map((n) => row(n.id, n.name ?? null, n.type));
    const known = new Set(wf.definition.nodes.map((n) => n.id));
    const gone = [...counted.keys()].filter((k) => !known.has(k)).sort().map((k) => row(k, null, null));
    return c.json(
      StepFailuresSchema.parse({
        workflow_id: id,
        hours,
        from: new Date(since).toISOString(),
        to: new Date(now).toISOString(),
        runs: z.object({ n: z.int() }).parse(runs!.results[0]).n,
        steps: [...current, ...gone],
      }),
      200,
    );
  },
);
