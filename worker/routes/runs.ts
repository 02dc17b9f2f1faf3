import { createRoute, z } from "@hono/zod-openapi";
import PostalMime from "postal-mime";
import { pageSchema } from "../contract/page";
import { RunListItemSchema, RunListQuerySchema, RunSchema, StepMessageQuerySchema, StepSchema } from "../contract/run";
import { listRuns } from "../db/run-index";
import { escapeHtml } from "../definition/interpolate";
import { AppError } from "../errors";
import { commonErrors, errorResponse, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { log } from "../log";
import { emptySummary } from "../nodes";
import { WorkflowDefinition } from "./components";

export const runsApp = router();

const RUN_ID = /^[0-9a-f]{64}$/;
export const Run = RunSchema.extend({ definition: WorkflowDefinition, steps: z.array(StepSchema.openapi("Step")) }).openapi("Run");
const RunListItem = RunListItemSchema.openapi("RunListItem");

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
    operationId: "listRuns",
    summary: "Runs, newest first",
    request: { query: RunListQuerySchema },
    responses: { 200: jsonContent(pageSchema(RunListItem), "A page of runs"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const test = q.test === undefined ? undefined : q.test === "true";
    const page = await readPage(q, (before, limit) => listRuns(c.env.DB, { workflow_id: q.workflow_id, status: q.status, test, before, limit }), {
      schema: z.tuple([z.int(), z.string()]),
      of: (r): [number, string] => [r.started_at, r.id],
    });
    // Index rows hold plain strings and numbers: parsed into the contract's shape, not cast.
    const items = page.items.map((r) =>
      RunListItemSchema.parse({
        ...r,
        workflow_name: r.workflow_name ?? null,
        // A row written before a node type declared a counter shows it as 0.
        summary: r.summary === null ? null : { ...emptySummary(), ...r.summary },
        started_at: new Date(r.started_at).toISOString(),
        finished_at: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
      }),
    );
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  },
);

runsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    operationId: "getRun",
    summary: "One run with every step",
    description: "Each step's resolved input, output, logs and attempts.",
    request: { params: IdParam },
    responses: { 200: jsonContent(Run, "The run"), ...commonErrors, ...notFound },
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
    operationId: "cancelRun",
    summary: "Stop a run",
    description: "A waiting or retrying step stops at once; pending steps become cancelled.",
    request: { params: IdParam },
    responses: {
      200: jsonContent(Run, "The cancelled run"),
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
    operationId: "getStepMessage",
    summary: "The email a send_email step sent",
    description: "As message/rfc822, or its HTML body with `?as=html`.",
    request: {
      params: IdParam.extend({ node_id: z.string().max(64).openapi({ param: { name: "node_id", in: "path" } }) }),
      query: StepMessageQuerySchema,
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
