import { createRoute, z } from "@hono/zod-openapi";
import PostalMime from "postal-mime";
import { listRuns } from "../db/run-index";
import { escapeHtml } from "../definition/interpolate";
import { RUN_STATUSES, STEP_STATUSES, TriggerInfoSchema } from "../engine/run-state";
import { AppError } from "../errors";
import { commonErrors, errorResponse, jsonContent, router } from "../lib/api";
import { decodeCursor, encodeCursor, pageSchema, PageQuerySchema } from "../lib/paging";
import { log } from "../log";
import { emptySummary, SUMMARY_COUNTERS, type SummaryCounter } from "../nodes";

export const runsApp = router();

const RUN_ID = /^[0-9a-f]{64}$/;
/** The counters the node types declare (SPEC §10), each a whole number. */
const SummarySchema = z.object(Object.fromEntries(SUMMARY_COUNTERS.map((c) => [c, z.int()])) as Record<SummaryCounter, z.ZodInt>);

const StepSchema = z
  .object({
    node_id: z.string(),
    type: z.string(),
    status: z.enum(STEP_STATUSES),
    input: z.unknown(),
    output: z.unknown(),
    logs: z.array(z.object({ at: z.string(), message: z.string() })),
    attempts: z.array(z.object({ started_at: z.string(), finished_at: z.string().nullable(), error: z.string().nullable() })),
    error: z.string().nullable(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    wake_at: z.string().nullable(),
  })
  .openapi("Step");

export const RunSchema = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    workflow_version: z.int(),
    workflow_name: z.string(),
    status: z.enum(RUN_STATUSES),
    test: z.boolean(),
    trigger: TriggerInfoSchema,
    definition: z.unknown(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    error: z.string().nullable(),
    summary: SummarySchema,
    steps: z.array(StepSchema),
  })
  .openapi("Run");

const RunListItemSchema = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    workflow_name: z.string().nullable(),
    workflow_version: z.int(),
    status: z.string(),
    test: z.boolean(),
    event_id: z.string().nullable(),
    entity: z.string().nullable(),
    entity_id: z.string().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    error: z.string().nullable(),
    summary: SummarySchema.nullable(),
    steps: z.record(z.string(), z.string()),
  })
  .openapi("RunListItem");

const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const notFound = { 404: errorResponse("No run has this id") };

export function runStub(env: Env, id: string) {
  let objectId: DurableObjectId | undefined;
  try {
    // idFromString refuses ids this namespace did not make.
    if (RUN_ID.test(id)) objectId = env.RUNS.idFromString(id);
  } catch {
    objectId = undefined;
  }
  if (!objectId) throw new AppError("not_found", `No run has the id ${id}`);
  return env.RUNS.get(objectId);
}

runsApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    summary: "Runs, newest first",
    request: {
      query: PageQuerySchema.extend({
        workflow_id: z.string().max(100).optional(),
        status: z.enum(RUN_STATUSES).optional(),
        test: z.enum(["true", "false"]).optional(),
      }),
    },
    responses: { 200: jsonContent(pageSchema(RunListItemSchema), "A page of runs"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const before = decodeCursor(q.cursor, z.tuple([z.int(), z.string()]));
    const rows = await listRuns(c.env.DB, {
      workflow_id: q.workflow_id,
      status: q.status,
      test: q.test === undefined ? undefined : q.test === "true",
      before,
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((r) => ({
          ...r,
          workflow_name: r.workflow_name ?? null,
          // A row written before a node type declared a counter shows it as 0.
          summary: r.summary === null ? null : { ...emptySummary(), ...r.summary },
          started_at: new Date(r.started_at).toISOString(),
          finished_at: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
        })),
        next_cursor: rows.length > q.limit && last ? encodeCursor([last.started_at, last.id]) : null,
      },
      200,
    );
  },
);

runsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    summary: "One run with every step: resolved input, output, logs, attempts",
    request: { params: IdParam },
    responses: { 200: jsonContent(RunSchema, "The run"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const run = await runStub(c.env, id).snapshot();
    if (!run) throw new AppError("not_found", `No run has the id ${id}`);
    return c.json(RunSchema.parse(JSON.parse(run)), 200);
  },
);

runsApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/cancel",
    summary: "Stop a run: a waiting or retrying step stops at once, pending steps become cancelled",
    request: { params: IdParam },
    responses: {
      200: jsonContent(RunSchema, "The cancelled run"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The run has already finished"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { cancelled, status, run } = await runStub(c.env, id).cancel();
    if (!run) throw new AppError("not_found", `No run has the id ${id}`);
    if (!cancelled) throw new AppError("conflict", `The run has already finished: it is ${status}`);
    log("run_cancel_requested", { run_id: id });
    return c.json(RunSchema.parse(JSON.parse(run)), 200);
  },
);

runsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/steps/{node_id}/message",
    summary: "The email a send_email step sent: message/rfc822, or its HTML body with ?as=html",
    request: {
      params: IdParam.extend({ node_id: z.string().max(64).openapi({ param: { name: "node_id", in: "path" } }) }),
      query: z.object({ as: z.enum(["rfc822", "html"]).default("rfc822") }),
    },
    responses: {
      200: { description: "The message", content: { "message/rfc822": { schema: z.string() }, "text/html": { schema: z.string() } } },
      ...commonErrors,
      404: errorResponse("No such run, step or message"),
    },
  }),
  async (c) => {
    const { id, node_id } = c.req.valid("param");
    const { as } = c.req.valid("query");
    const message = await runStub(c.env, id).artifact(node_id, "message");
    if (!message) throw new AppError("not_found", `Step ${node_id} of run ${id} sent no email`);
    if (as === "rfc822") {
      return c.body(message.content, 200, { "content-type": "message/rfc822", "content-disposition": `inline; filename="${node_id}.eml"` });
    }
    const parsed = await PostalMime.parse(message.content);
    const html = parsed.html ?? `<pre>${escapeHtml(parsed.text ?? "")}</pre>`;
    // Shown in a sandboxed frame: no scripts, nothing fetched from elsewhere.
    return c.body(html, 200, {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
    });
  },
);
