import { createRoute, z } from "@hono/zod-openapi";
import { FlowStatsQuerySchema, FlowStatsSchema, type FlowDay } from "../contract/flow";
import { db } from "../db/sql";
import { utcDate } from "../definition/date-spec";
import { CAP_KINDS, gated } from "../definition/controls";
import { AppError } from "../errors";
import { getWorkflow } from "../workflows/store";
import { commonErrors, errorResponse, jsonContent, router } from "./api";

/** What flow control did for a workflow (SPEC §14): per day from the gates' counts, and today's caps. */
export const flowApp = router();

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const DayRowSchema = z.object({ day: z.string(), started: z.int(), suppressed: z.int(), delayed: z.int(), waiting: z.int() });

flowApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/stats",
    operationId: "getWorkflowStats",
    summary: "Flow-control stats per day, and today's caps",
    description:
      "Runs started, suppressed, delayed and waiting per day, and today's use of the daily caps. Per UTC day, newest first: runs started, events suppressed (inside a cooldown, or folded into a later event by debounce), runs a throttle " +
      "delayed past their period, and runs waiting at the gate's last report. A workflow without per-key controls counts the runs it started. " +
      "`caps` shows today's use of each daily cap against the current version's limit.",
    request: { params: IdParam, query: FlowStatsQuerySchema },
    responses: { 200: jsonContent(FlowStatsSchema.openapi("FlowStats"), "What flow control did"), ...commonErrors, 404: errorResponse("No workflow has this id") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { days } = c.req.valid("query");
    const wf = await getWorkflow(db(c.env.DB), id);
    if (!wf) throw new AppError("not_found", `No workflow has the id ${id}`);
    const now = new Date();
    const since = utcDate(new Date(now.getTime() - (days - 1) * 86_400_000));
    // The gates' counts, summed over keys; runs of a workflow the gates never saw, from the run index.
    const [gates, runs] = await c.env.DB.batch([
      c.env.DB.prepare(
        `SELECT day, sum(started) AS started, sum(suppressed) AS suppressed, sum(delayed) AS delayed, sum(waiting) AS waiting
         FROM flow_stats WHERE workflow_id = ?1 AND day >= ?2 GROUP BY day`,
      ).bind(id, since),
      c.env.DB.prepare(
        `SELECT strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day, count(*) AS started, 0 AS suppressed, 0 AS delayed,
           sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS waiting
         FROM runs WHERE workflow_id = ?1 AND started_at >= ?2 AND test = 0 GROUP BY day`,
      ).bind(id, Date.parse(`${since}T00:00:00Z`)),
    ]);
    const byDay = new Map<string, FlowDay>();
    for (const row of z.array(DayRowSchema).parse(gates!.results)) byDay.set(row.day, row);
    if (!gated(wf.definition.controls)) {
      for (const row of z.array(DayRowSchema).parse(runs!.results)) if (!byDay.has(row.day)) byDay.set(row.day, row);
    }
    const today = utcDate(now);
    const limits = wf.definition.controls?.caps?.per_day;
    const used = limits ? (await c.env.CAPS.get(c.env.CAPS.idFromName(id)).usage(today)).used : Object.fromEntries(CAP_KINDS.map((k) => [k, 0]));
    return c.json(
      FlowStatsSchema.parse({
        workflow_id: id,
        days: [...byDay.values()].sort((a, b) => (a.day < b.day ? 1 : -1)),
        caps: { day: today, used, limits: Object.fromEntries(CAP_KINDS.map((k) => [k, limits?.[k] ?? null])) },
      }),
      200,
    );
  },
);
