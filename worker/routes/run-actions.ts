import { createRoute, z } from "@hono/zod-openapi";
import { DecisionBodySchema } from "../contract/approval";
import { RunSchema } from "../contract/run";
import { BulkRetryAnswerSchema, BulkRetryBodySchema, RetryAnswerSchema, RetryBodySchema, type BulkRetryAnswer } from "../contract/retry";
import { db } from "../db/sql";
import { retryCandidates } from "../db/retry-candidates";
import { AppError } from "../errors";
import { pool } from "../lib/pool";
import { log, logError } from "../log";
import { approval } from "../nodes/approval";
import type { DecisionSignal } from "../nodes/approval";
import type { RetryAnswer } from "../run/retry";
import { getWorkflow } from "../workflows/store";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { Run, runStub } from "./runs";

/*
 * What a person or a client does to a run besides cancelling it (SPEC §15): decide an approval,
 * retry the run from a step, retry many failed runs at once.
 */

export const runActionsApp = router();

const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const RetryAnswer = RetryAnswerSchema.openapi("RetryAnswer");
/** Retries one bulk request asks of run objects at once. */
const BULK_CONCURRENCY = 16;

runActionsApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/steps/{node_id}/decision",
    operationId: "decideApproval",
    summary: "Approve or reject an approval step that waits",
    description: "The run goes on to `then` (approve) or `else` (reject). Who decided (`by`, else \"api\"), when and the comment are recorded in the step's output and the approvals inbox.",
    request: {
      params: IdParam.extend({ node_id: z.string().max(64).openapi({ param: { name: "node_id", in: "path" } }) }),
      ...jsonBody(DecisionBodySchema.openapi("Decision")),
    },
    responses: {
      200: jsonContent(Run, "The run after the decision"),
      ...commonErrors,
      404: errorResponse("No run has this id, or it has no approval step with this node id"),
      409: errorResponse("The step is not waiting for a decision: not asked yet, decided already, or its run ended"),
    },
  }),
  async (c) => {
    const { id, node_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const signal: DecisionSignal = { decision: body.decision, by: body.by ?? "api", comment: body.comment ?? null };
    const answer = await runStub(c.env, id).signal(node_id, approval.type, signal);
    switch (answer.outcome) {
      case "no_run":
        throw new AppError("not_found", `No run has the id ${id}`);
      case "no_step":
        throw new AppError("not_found", `Run ${id} has no approval step "${node_id}"`);
      case "not_waiting":
        throw new AppError("conflict", `Step "${node_id}" is not waiting for a decision: it is ${answer.status === "running" ? "still emailing its approvers" : answer.status}`);
      case "refused":
        throw new AppError("bad_request", "The step refused the decision");
      case "accepted":
        log("approval_decided", { run_id: id, node_id, decision: body.decision, by: signal.by });
        return c.json(RunSchema.parse(JSON.parse(answer.run)), 200);
    }
  },
);

/** A run object's answer as the API's: the new run, or the plan of a dry run; otherwise the error. */
function retryAnswer(id: string, a: RetryAnswer) {
  switch (a.outcome) {
    case "no_run":
      throw new AppError("not_found", `No run has the id ${id}`);
    case "not_ended":
      throw new AppError("conflict", `The run is ${a.status}: only a run that ended can be retried`);
    case "invalid":
      throw new AppError("validation_failed", a.issue.message, { issues: [a.issue] });
    case "retried_already":
      throw new AppError("conflict", `The run was retried already by ${a.run_id}`);
    case "planned":
      return { run_id: null, retry_of: id, from: a.from, workflow_version: a.version, side_effects: a.side_effects };
    case "started":
      return { run_id: a.run_id, retry_of: id, from: a.from, workflow_version: a.version, side_effects: a.side_effects };
  }
}

runActionsApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/retry",
    operationId: "retryRun",
    summary: "Start a new run that retries this one from a step",
    description:
      "The new run (`retry_of` links it; the original lists it in `retried_by`) runs the pinned version or the latest, from `from` (default: the step that failed); the steps before it keep their outputs and are not executed again (`reused`). The answer lists the side effects the original already made. `dry_run` answers the same without starting anything.",
    request: { params: IdParam, ...jsonBody(RetryBodySchema.openapi("RetryRequest")) },
    responses: {
      200: jsonContent(RetryAnswer, "The plan of a dry run"),
      201: jsonContent(RetryAnswer, "The retry started"),
      ...commonErrors,
      404: errorResponse("No run has this id"),
      409: errorResponse("The run has not ended"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const stub = runStub(c.env, id);
    let answer: RetryAnswer;
    try {
      answer = await stub.retry({ from: body.from, version: body.version === "latest" ? "latest" : undefined, dry_run: body.dry_run });
    } catch (err) {
      // The version to run is gone (its workflow deleted): nothing was started.
      throw new AppError("conflict", err instanceof Error ? err.message : String(err));
    }
    const out = RetryAnswerSchema.parse(retryAnswer(id, answer));
    if (out.run_id) log("run_retry", { run_id: out.run_id, retry_of: id, from: out.from, version: out.workflow_version });
    return c.json(out, out.run_id ? 201 : 200);
  },
);

runActionsApp.openapi(
  createRoute({
    method: "post",
    path: "/retry",
    operationId: "retryRuns",
    summary: "Retry a workflow's failed runs from their failed steps",
    description:
      "The failed runs of a workflow started in a window, each from its failed step. At most `limit` (≤ 500) runs per request, newest first; `next_cursor` goes on. A run retried before (by any retry) is skipped, so repeating a request starts nothing twice.",
    request: { ...jsonBody(BulkRetryBodySchema.openapi("BulkRetryRequest")) },
    responses: { 200: jsonContent(BulkRetryAnswerSchema.openapi("BulkRetryAnswer"), "The runs retried and those skipped"), ...commonErrors, 404: errorResponse("No workflow has this id") },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const wf = await getWorkflow(db(c.env.DB), body.workflow_id);
    if (!wf) throw new AppError("not_found", `No workflow has the id ${body.workflow_id}`);
    const since = Date.parse(body.since);
    const until = body.until === undefined ? Date.now() : Date.parse(body.until);
    const page = await readPage(
      body,
      (before, limit) => retryCandidates(c.env.DB, { workflow_id: wf.id, status: body.status, since, until, test: body.test, before, limit }),
      { schema: z.tuple([z.number(), z.string()]), of: (r): [number, string] => [r.started_at, r.id] },
    );
    const version = body.version === "latest" ? wf.version : undefined;
    const results = new Map<string, { retry_id: string } | { reason: string }>();
    await pool(page.items, BULK_CONCURRENCY, async ({ id }) => {
      try {
        const a = await runStub(c.env, id).retry({ version, once: true });
        if (a.outcome === "started") results.set(id, { retry_id: a.run_id });
        else if (a.outcome === "retried_already") results.set(id, { reason: `retried already by ${a.run_id}` });
        else if (a.outcome === "invalid") results.set(id, { reason: a.issue.message });
        else if (a.outcome === "not_ended") results.set(id, { reason: `the run is ${a.status}` });
        else results.set(id, { reason: "no such run" });
      } catch (err) {
        logError("run_retry", err, { run_id: id });
        results.set(id, { reason: err instanceof Error ? err.message : String(err) });
      }
    });
    const answer: BulkRetryAnswer = { items: [], skipped: [], next_cursor: page.next_cursor };
    for (const { id } of page.items) {
      const r = results.get(id)!;
      if ("retry_id" in r) answer.items.push({ run_id: id, retry_id: r.retry_id });
      else answer.skipped.push({ run_id: id, reason: r.reason });
    }
    log("runs_retry", { workflow_id: wf.id, retried: answer.items.length, skipped: answer.skipped.length });
    return c.json(answer, 200);
  },
);
