import { createRoute, z } from "@hono/zod-openapi";
import { backfillEventPrefix, sweepTriggerType, type SweepSpec } from "../backfill/sweep";
import type { SweepProgress } from "../backfill/backfill-object";
import { BackfillRequestSchema, BackfillSchema, CronTimesQuerySchema, CronTimesSchema, MAX_BACKFILL_RUNS, type Backfill } from "../contract/backfill";
import { db } from "../db/sql";
import { isRestockTrigger } from "../definition/trigger";
import { AppError, validationError, zodIssues } from "../errors";
import { CronError, nextTimes, parseCron } from "../lib/cron";
import { newId } from "../lib/ids";
import { log } from "../log";
import { getWorkflow } from "../workflows/store";
import { commonErrors, errorResponse, jsonContent, router, type AppEnv } from "./api";
import type { Context } from "hono";

/*
 * Backfills (SPEC §15): `POST /api/workflows/{id}/backfill` starts runs of the active version for
 * the mirrored entities that match its trigger now, walked by a BackfillObject (worker/backfill/)
 * a page per alarm, every run through the workflow's flow controls. Progress counts what the walk
 * did (from the object) and how the runs it started ended (from the runs index). Also the next
 * times of a cron expression, for the builder's schedule fields.
 */

export const backfillApp = router();

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const BackfillParams = IdParam.extend({ backfill_id: z.string().min(1).max(100).openapi({ param: { name: "backfill_id", in: "path" } }) });
const Backfill = BackfillSchema.openapi("Backfill");
/** Backfill ids are minted here (newId("bf")); anything else names no backfill. */
const BACKFILL_ID = /^bf_[0-9a-z]{26}$/;

const workflowNotFound = errorResponse("No workflow has this id");
const backfillNotFound = errorResponse("No workflow has this id, or it has no backfill with this id (a finished one is kept RETENTION_DAYS)");

const RunCountsSchema = z.array(z.object({ status: z.string(), n: z.int() }));

/** How the runs of a backfill ended so far: its runs are the workflow's runs with its event ids, since it began. */
async function runCounts(d1: D1Database, p: SweepProgress): Promise<Pick<Backfill, "completed" | "failed" | "cancelled">> {
  const rows = RunCountsSchema.parse(
    (
      await d1
        .prepare(
          // substr, not LIKE: D1 caps LIKE patterns at 50 bytes. The runs_workflow index bounds the rows read.
          "SELECT status, count(*) AS n FROM runs WHERE workflow_id = ?1 AND started_at >= ?2 AND substr(event_id, 1, length(?3)) = ?3 GROUP BY status",
        )
        .bind(p.workflow_id, Date.parse(p.created_at), p.event_prefix)
        .all()
    ).results,
  );
  const of = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
  return { completed: of("completed"), failed: of("failed"), cancelled: of("cancelled") };
}

async function answer(d1: D1Database, p: SweepProgress): Promise<Backfill> {
  return {
    id: p.id,
    workflow_id: p.workflow_id,
    version: p.version,
    status: p.status,
    limit: p.limit,
    examined: p.examined,
    matched: p.matched,
    started: p.started,
    duplicates: p.duplicates,
    errors: p.errors,
    ...(await runCounts(d1, p)),
    limit_reached: p.limit_reached,
    created_at: p.created_at,
    finished_at: p.finished_at,
    reason: p.reason,
  };
}

/** The backfill's object and progress; 404 unless it exists and belongs to the workflow. */
async function backfillOf(env: Env, workflowId: string, backfillId: string) {
  const missing = new AppError("not_found", `Workflow ${workflowId} has no backfill ${backfillId}`);
  if (!BACKFILL_ID.test(backfillId)) throw missing;
  const stub = env.BACKFILLS.get(env.BACKFILLS.idFromName(backfillId));
  const progress = await stub.progress();
  if (!progress || progress.kind !== "backfill" || progress.workflow_id !== workflowId) throw missing;
  return { stub, progress };
}

/** The optional body: none, or `{"limit"}`. */
function requestOf(c: Context<AppEnv>) {
  const body = c.get("json");
  const parsed = BackfillRequestSchema.safeParse(body === undefined ? {} : body.value);
  if (!parsed.success) throw validationError(zodIssues(parsed.error), "The backfill request is not valid");
  return parsed.data;
}

backfillApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/backfill",
    operationId: "startBackfill",
    summary: "Start runs for what matches the trigger now",
    description:
      "Starts one run of the active version per mirrored entity that matches the trigger's tags and conditions now, through the workflow's flow controls, at most `limit`. " +
      "A run is started at most once per entity and version: a second backfill starts only what the first did not. Answers 202 at once; follow `GET …/backfills/{backfill_id}`.",
    request: {
      params: IdParam,
      body: { content: { "application/json": { schema: BackfillRequestSchema.openapi("BackfillRequest") } }, required: false },
    },
    responses: {
      202: jsonContent(Backfill, "The backfill, started"),
      ...commonErrors,
      404: workflowNotFound,
      409: errorResponse("The workflow is not active: only an active workflow starts runs"),
      422: errorResponse("The trigger has no entities to walk: a back-in-stock trigger, or a schedule that runs once per tick"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const wf = await getWorkflow(db(c.env.DB), id);
    if (!wf) throw new AppError("not_found", `No workflow has the id ${id}`);
    const request = requestOf(c);
    // A backfill starts real runs, and only an active workflow starts runs (SPEC §7): a draft is
    // previewed (POST …/preview with matching_now), then activated, then backfilled.
    if (wf.status !== "active") throw new AppError("conflict", `Workflow ${id} is ${wf.status}: activate it to backfill (a preview with matching_now shows what it would start)`);
    const trigger = wf.definition.trigger;
    if (isRestockTrigger(trigger)) throw new AppError("unprocessable", "A back-in-stock workflow starts from restocks, not from entities that match now: it cannot be backfilled");
    if (trigger.schedule?.each === "tick") throw new AppError("unprocessable", 'A schedule with "each": "tick" runs once per tick, on no entity: there is nothing to backfill');
    const backfillId = newId("bf");
    const spec: SweepSpec = {
      id: backfillId,
      kind: "backfill",
      workflow_id: id,
      version: wf.version,
      entity: trigger.entity,
      event_prefix: backfillEventPrefix(id, wf.version),
      at: new Date().toISOString(),
      limit: request.limit ?? MAX_BACKFILL_RUNS,
    };
    const { progress } = await c.env.BACKFILLS.get(c.env.BACKFILLS.idFromName(backfillId)).begin(spec);
    log("backfill", { workflow_id: id, backfill_id: backfillId, version: wf.version, limit: spec.limit, trigger_type: sweepTriggerType(spec) });
    return c.json(await answer(c.env.DB, progress), 202);
  },
);

backfillApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/backfills/{backfill_id}",
    operationId: "getBackfill",
    summary: "A backfill's progress",
    description: "Entities matched, runs started, and how they ended.",
    request: { params: BackfillParams },
    responses: { 200: jsonContent(Backfill, "The backfill"), ...commonErrors, 404: backfillNotFound },
  }),
  async (c) => {
    const { id, backfill_id } = c.req.valid("param");
    const { progress } = await backfillOf(c.env, id, backfill_id);
    return c.json(await answer(c.env.DB, progress), 200);
  },
);

backfillApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/backfills/{backfill_id}/cancel",
    operationId: "cancelBackfill",
    summary: "Stop a backfill: no more runs start (runs started go on)",
    description: "Cancelling a cancelled backfill answers it as it is.",
    request: { params: BackfillParams },
    responses: {
      200: jsonContent(Backfill, "The backfill, cancelled"),
      ...commonErrors,
      404: backfillNotFound,
      409: errorResponse("The backfill finished already"),
    },
  }),
  async (c) => {
    const { id, backfill_id } = c.req.valid("param");
    const { stub, progress } = await backfillOf(c.env, id, backfill_id);
    if (progress.status === "done" || progress.status === "failed") throw new AppError("conflict", `Backfill ${backfill_id} is ${progress.status} already`);
    const after = (await stub.cancel())!;
    if (after.status !== "cancelled") throw new AppError("conflict", `Backfill ${backfill_id} is ${after.status} already`);
    log("backfill", { workflow_id: id, backfill_id, status: after.status });
    return c.json(await answer(c.env.DB, after), 200);
  },
);

backfillApp.openapi(
  createRoute({
    method: "get",
    path: "/schedule/times",
    operationId: "scheduleTimes",
    summary: "The next times of a cron expression (UTC)",
    description: "For the builder's schedule.",
    request: { query: CronTimesQuerySchema },
    responses: { 200: jsonContent(CronTimesSchema.openapi("CronTimes"), "The next times, after now"), ...commonErrors },
  }),
  (c) => {
    const q = c.req.valid("query");
    try {
      const cron = parseCron(q.cron);
      return c.json({ cron: cron.source, next: nextTimes(cron, new Date(), q.count).map((d) => d.toISOString()) }, 200);
    } catch (err) {
      if (err instanceof CronError) throw validationError([{ path: "cron", message: err.message }], "The cron expression is not valid");
      throw err;
    }
  },
);
