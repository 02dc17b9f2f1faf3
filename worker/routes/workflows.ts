import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import { validateDefinition, type Definition } from "../contract/definition";
import { PageQuerySchema, pageSchema } from "../contract/page";
import {
  TestEventSchema,
  TestRunStartedSchema,
  SavedWorkflowSchema,
  ValidateAnswerSchema,
  VersionDefinitionSchema,
  WorkflowListItemSchema,
  WorkflowListQuerySchema,
  WorkflowSchema,
  WorkflowStatusChangeSchema,
  WorkflowVersionSchema,
  type WorkflowRecord,
} from "../contract/workflow";
import { workflowStats } from "../db/run-index";
import { db } from "../db/sql";
import { allowedTransitions, canTransition } from "../definition/workflow-status";
import { credentialReferences } from "../nodes";
import { ConcurrentSaveError, createWorkflow, getVersion, getWorkflow, listVersions, listWorkflows, saveVersion, setStatus } from "../workflows/store";
import { AppError, validationError, type Issue } from "../errors";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { log } from "../log";
import { definitionBody, WorkflowDefinition } from "./components";
import { EntityKindSchema, getEntity, type EntityKind } from "../entities";
import { readRelated } from "../entities/related-read";
import { TriggerEventKindSchema } from "../definition/common";
import { isRestockTrigger } from "../definition/trigger";
import { previewApp } from "./preview";
import { flowApp } from "./flow";
import { backfillApp } from "./backfill";
import type { TriggerInfo } from "../engine/run-state";

const Workflow = WorkflowSchema.extend({ definition: WorkflowDefinition }).openapi("Workflow");
const SavedWorkflow = SavedWorkflowSchema.extend({ definition: WorkflowDefinition }).openapi("SavedWorkflow");
const WorkflowListItem = WorkflowListItemSchema.openapi("WorkflowListItem");
const WorkflowVersion = WorkflowVersionSchema.extend({ definition: WorkflowDefinition }).openapi("WorkflowVersion");

/** `<entity>.<kind>` of a test event, split: a platform event, or `subscription.back_in_stock` (SPEC §12). */
const EventTypeSchema = z.tuple([EntityKindSchema, TriggerEventKindSchema]);

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const notFound = { 404: errorResponse("No workflow has this id") };

export const workflowsApp = router();
// POST /{id}/preview lives in routes/preview.ts (SPEC §13).
workflowsApp.route("/", previewApp);
// GET /{id}/stats lives in routes/flow.ts (SPEC §14).
workflowsApp.route("/", flowApp);
workflowsApp.route("/", backfillApp); // POST /{id}/backfill, GET /{id}/backfills/{backfill_id}, GET /schedule/times (SPEC §15)

/** Issues that keep a valid definition from running: today, credentials that do not exist. */
export function activationIssues(env: Env, def: Definition): Issue[] {
  const known = config(env).credentials;
  return credentialReferences(def)
    .filter((ref) => !known.has(ref.name))
    .map((ref) => ({ path: ref.path, message: `No credential named ${ref.name}: add the secret CREDENTIAL_${ref.name}` }));
}

/** The definition, and the warnings about it (SPEC §11); invalid: a 400 with its issues. */
function parseDefinition(body: unknown): { def: Definition; warnings: Issue[] } {
  const result = validateDefinition(body);
  if (!result.ok) throw validationError(result.issues, "The workflow definition is not valid");
  return { def: result.definition, warnings: result.warnings };
}

/** A change the store refused because another request changed the workflow since it was read: a 409. */
async function unlessChanged(change: Promise<WorkflowRecord>): Promise<WorkflowRecord> {
  try {
    return await change;
  } catch (err) {
    if (err instanceof ConcurrentSaveError) {
      throw new AppError("conflict", "The workflow changed while this request was handled (another save or status change); reload it and try again");
    }
    throw err;
  }
}

async function load(env: Env, id: string): Promise<WorkflowRecord> {
  const wf = await getWorkflow(db(env.DB), id);
  if (!wf) throw new AppError("not_found", `No workflow has the id ${id}`);
  return wf;
}

workflowsApp.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createWorkflow",
    summary: "Create a workflow (as a draft, version 1)",
    request: definitionBody,
    responses: { 201: jsonContent(SavedWorkflow, "The new workflow, with warnings about its definition"), ...commonErrors, 413: errorResponse("Over 256 KiB") },
  }),
  async (c) => {
    const { def, warnings } = parseDefinition(c.req.valid("json"));
    const wf = await createWorkflow(db(c.env.DB), def, new Date());
    log("workflow", { workflow_id: wf.id, status: wf.status, version: wf.version, change: "created" });
    return c.json({ ...wf, warnings }, 201);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listWorkflows",
    summary: "List workflows, newest first",
    description: "`status` keeps one status; `q` keeps the workflows whose name contains it, ignoring case. Each carries its last run and its real (not test) runs of the last 24 hours.",
    request: { query: WorkflowListQuerySchema },
    responses: { 200: jsonContent(pageSchema(WorkflowListItem), "A page of workflows"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (after, limit) => listWorkflows(db(c.env.DB), { status: q.status, q: q.q, limit, after }), {
      schema: z.string(),
      of: (w) => w.id,
    });
    const stats = await workflowStats(c.env.DB, page.items.map((w) => w.id), Date.now());
    const items = page.items.map(({ definition, ...w }) => ({
      ...w,
      trigger: definition.trigger,
      node_count: definition.nodes.length,
      stats: stats.get(w.id) ?? { last_run: null, runs_24h: 0 },
    }));
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "post",
    path: "/validate",
    operationId: "validateWorkflow",
    summary: "Check a definition without saving it",
    request: definitionBody,
    responses: {
      200: jsonContent(ValidateAnswerSchema.openapi("Validation"), "`issues` block saving; `activation_issues` block activation; `warnings` block nothing"),
      ...commonErrors,
    },
  }),
  async (c) => {
    const result = validateDefinition(c.req.valid("json"));
    if (!result.ok) return c.json({ valid: false, issues: result.issues, activation_issues: [], warnings: result.warnings }, 200);
    return c.json({ valid: true, issues: [], activation_issues: activationIssues(c.env, result.definition), warnings: result.warnings }, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    operationId: "getWorkflow",
    summary: "A workflow with its current definition",
    request: { params: IdParam },
    responses: { 200: jsonContent(Workflow, "The workflow"), ...commonErrors, ...notFound },
  }),
  async (c) => c.json(await load(c.env, c.req.valid("param").id), 200),
);

workflowsApp.openapi(
  createRoute({
    method: "put",
    path: "/{id}",
    operationId: "saveWorkflow",
    summary: "Save a new version of the definition",
    description: "Runs already started keep the version they started with. An active workflow only accepts a definition it can run.",
    request: { params: IdParam, ...definitionBody },
    responses: {
      200: jsonContent(SavedWorkflow, "The workflow at its new version, with warnings about its definition"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The workflow is archived, or it changed meanwhile (another save or status change)"),
      422: errorResponse("The workflow is active and this definition cannot run"),
    },
  }),
  async (c) => {
    const current = await load(c.env, c.req.valid("param").id);
    const { def, warnings } = parseDefinition(c.req.valid("json"));
    if (current.status === "archived") throw new AppError("conflict", "An archived workflow cannot be changed");
    if (current.status === "active") {
      const issues = activationIssues(c.env, def);
      if (issues.length > 0) {
        throw new AppError("unprocessable", "This workflow is active and the new definition cannot run", { issues });
      }
    }
    const wf = await unlessChanged(saveVersion(db(c.env.DB), current, def, new Date()));
    log("workflow", { workflow_id: wf.id, status: wf.status, version: wf.version, change: "saved" });
    return c.json({ ...wf, warnings }, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/versions",
    operationId: "listWorkflowVersions",
    summary: "Every saved version, newest first",
    request: { params: IdParam, query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(WorkflowVersion), "A page of versions"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    await load(c.env, id);
    const page = await readPage(q, (before, limit) => listVersions(db(c.env.DB), id, { limit, before }), { schema: z.int(), of: (r) => r.version });
    const items = page.items.map((r) => ({ version: r.version, created_at: r.createdAt, definition: r.definition as Definition }));
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/versions/{version}",
    operationId: "getWorkflowVersion",
    summary: "One saved version",
    request: { params: IdParam.extend({ version: z.coerce.number().int().min(1).openapi({ param: { name: "version", in: "path" } }) }) },
    responses: {
      200: jsonContent(VersionDefinitionSchema.extend({ definition: WorkflowDefinition }), "The version"),
      ...commonErrors,
      ...notFound,
    },
  }),
  async (c) => {
    const { id, version } = c.req.valid("param");
    const definition = await getVersion(db(c.env.DB), id, version);
    if (!definition) throw new AppError("not_found", `Workflow ${id} has no version ${version}`);
    return c.json({ version, definition }, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/status",
    operationId: "setWorkflowStatus",
    summary: "Activate, pause, return to draft or archive",
    description:
      "draft→active, active→paused, paused→active, active|paused→draft, any→archived; archived is final. Asking for the current status changes nothing.",
    request: { params: IdParam, ...jsonBody(WorkflowStatusChangeSchema) },
    responses: {
      200: jsonContent(Workflow, "The workflow with its new status"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The transition is not allowed from the current status, or the workflow changed meanwhile"),
      422: errorResponse("The workflow cannot be activated (e.g. a missing credential)"),
    },
  }),
  async (c) => {
    const current = await load(c.env, c.req.valid("param").id);
    const { status } = c.req.valid("json");
    if (!canTransition(current.status, status)) {
      const allowed = allowedTransitions(current.status);
      throw new AppError(
        "conflict",
        `A ${current.status} workflow cannot become ${status}` + (allowed.length ? `; it can become ${allowed.join(" or ")}` : "; archived is final"),
      );
    }
    if (status === current.status) return c.json(current, 200);
    if (status === "active") {
      const issues = activationIssues(c.env, current.definition);
      if (issues.length > 0) throw new AppError("unprocessable", "The workflow cannot be activated", { issues });
    }
    const wf = await unlessChanged(setStatus(db(c.env.DB), current, status, new Date()));
    log("workflow", { workflow_id: wf.id, status: wf.status, version: wf.version, change: "status", from: current.status });
    return c.json(wf, 200);
  },
);

workflowsApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/test",
    operationId: "startTestRun",
    summary: "Start a test run of the current version",
    description:
      "Whatever the workflow's status. The body is an event; without `data` the entity is read from the mirror by entity_id. Its related entities (`trigger.related`) are read from the mirror. The trigger filter is not applied: the run starts at the first node. Nothing is written to the mirror. " +
      "A back-in-stock workflow takes `{type: \"subscription.back_in_stock\", entity_id}`: the run gets the event a restock wave would give that mirrored subscription (its snapshot, no `previous`, its related entities); no restock episode is started and no other subscription is notified.",
    request: { params: IdParam, ...jsonBody(TestEventSchema.openapi("TestEvent")) },
    responses: {
      202: jsonContent(TestRunStartedSchema, "The test run started; follow it at /api/runs/{id}"),
      ...commonErrors,
      ...notFound,
    },
  }),
  async (c) => {
    const wf = await load(c.env, c.req.valid("param").id);
    const body = c.req.valid("json");
    const type = body.type ?? `${wf.definition.trigger.entity}.updated`;
    const parts = EventTypeSchema.safeParse(type.split("."));
    if (!parts.success) throw validationError([{ path: "type", message: `Unknown event type ${type}` }]);
    const [entity, kind] = parts.data;
    if (kind === "back_in_stock") {
      const trigger = await backInStockTrigger(c.env.DB, wf, body, entity);
      return c.json(await startTest(c.env, wf, trigger), 202);
    }
    const entityId = body.entity_id ?? String(body.data!.id);
    let data = body.data;
    let previous = body.previous ?? null;
    if (!data) {
      const row = await getEntity(c.env.DB, entity, entityId);
      if (!row) throw new AppError("not_found", `No ${entity} with id ${entityId} in the mirror; send its data instead`);
      data = row.data;
      previous = body.previous === undefined && row.previous ? row.previous : previous;
    }
    const eventId = body.id ?? `test_${crypto.randomUUID()}`;
    const snapshot = { ...data, id: entityId };
    // Read once, now, as for an event's run (SPEC §11): the run keeps them in its trigger.
    const [related] = await readRelated(c.env.DB, [{ entity, data: snapshot }]);
    const trigger: TriggerInfo = {
      id: eventId,
      type,
      entity,
      entity_id: entityId,
      occurred_at: body.occurred_at ? new Date(body.occurred_at).toISOString() : new Date().toISOString(),
      data: snapshot,
      previous,
      related,
    };
    return c.json(await startTest(c.env, wf, trigger), 202);
  },
);

/** Starts the test run of the workflow's current version on `trigger`, in a run object of its own. */
async function startTest(env: Env, wf: WorkflowRecord, trigger: TriggerInfo) {
  const stub = env.RUNS.get(env.RUNS.idFromName(`test:${crypto.randomUUID()}`));
  const started = await stub.start({ workflow_id: wf.id, workflow_version: wf.version, test: true, trigger });
  log("test_run", { workflow_id: wf.id, run_id: started.id, version: wf.version, type: trigger.type });
  return { id: started.id, status: started.status };
}

/**
 * The trigger of a back-in-stock test run: built as a restock wave builds it for one pending
 * subscription (worker/restock/restock-object.ts notify) — the subscription's mirrored snapshot,
 * no `previous`, its related entities read now — so the run sees what a real notification would.
 * The event is derived from the mirror, never given: a subscription the mirror does not hold is a
 * 404, and `data` or `previous` a 400. Whatever the subscription's status, the run starts (a real
 * wave notifies pending ones only; a test shows what the workflow does with this one).
 */
async function backInStockTrigger(d1: D1Database, wf: WorkflowRecord, body: z.output<typeof TestEventSchema>, entity: EntityKind): Promise<TriggerInfo> {
  const issues: Issue[] = [];
  if (entity !== "subscription") issues.push({ path: "type", message: "back_in_stock is an event of subscriptions: use subscription.back_in_stock" });
  else if (!isRestockTrigger(wf.definition.trigger)) {
    const t = wf.definition.trigger;
    issues.push({ path: "type", message: `subscription.back_in_stock starts back-in-stock workflows only; this one listens to ${t.entity} ${t.events.join(", ")}` });
  }
  if (body.data !== undefined) issues.push({ path: "data", message: "A back-in-stock event is derived from a mirrored subscription: give its entity_id, not data" });
  if (body.previous !== undefined) issues.push({ path: "previous", message: "A back-in-stock event has no previous snapshot" });
  if (issues.length > 0) throw validationError(issues);
  const entityId = body.entity_id!;
  const row = await getEntity(d1, "subscription", entityId);
  if (!row || row.deleted) throw new AppError("not_found", `No subscription with id ${entityId} in the mirror; a back-in-stock test runs on a mirrored subscription`);
  const data = { ...row.data, id: entityId };
  const [related] = await readRelated(d1, [{ entity: "subscription", data }]);
  return {
    id: body.id ?? `test_${crypto.randomUUID()}`,
    type: "subscription.back_in_stock",
    entity: "subscription",
    entity_id: entityId,
    occurred_at: body.occurred_at ? new Date(body.occurred_at).toISOString() : new Date().toISOString(),
    data,
    previous: null,
    related,
  };
}
