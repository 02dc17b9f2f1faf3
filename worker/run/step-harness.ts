import type { Effect } from "../engine/run-machine";
import type { LogEntry, RunState } from "../engine/run-state";
import type { ActionContext, ActionModule, ActionResult, NodeDeps } from "../engine/step";
import { redact } from "../lib/redact";
import type { DailyCaps } from "./caps-port";
import type { RunDeps } from "./deps";

/*
 * Executes one attempt of one step: the action runs with its context and deps, is cut off at
 * its timeout, and what it returns or logs is scrubbed of secrets before the run records it.
 * The harness never throws: an action's failure is a result like any other.
 */

export type Execute = Extract<Effect, { type: "execute" }>;

export interface StepCall {
  run: Pick<RunState, "id" | "workflow_id" | "trigger" | "test">;
  exec: Execute;
  /** An action, or a wait that reads its trigger's entity again (`recheck_trigger`). */
  module: Pick<ActionModule, "execute">;
  deps: RunDeps;
  secretForms: readonly string[];
  now: Date;
  /** Aborted at the timeout, or by the shell when the run is cancelled meanwhile. */
  controller: AbortController;
  /** `caps.per_day` of the run's pinned definition (SPEC §14); absent: nothing is capped. */
  caps?: DailyCaps | undefined;
}

export async function executeStep({ run, exec, module, deps, secretForms, now, controller, caps }: StepCall): Promise<{ result: ActionResult; logs: LogEntry[] }> {
  const logs: LogEntry[] = [];
  // Test runs count like real ones: their effects are real.
  const bound: NodeDeps = { ...deps, caps: deps.caps.forStep({ workflowId: run.workflow_id, runId: run.id, nodeId: exec.node_id, now, limits: caps }) };
  const ctx: ActionContext = {
    runId: run.id,
    workflowId: run.workflow_id,
    nodeId: exec.node_id,
    attempt: exec.attempt,
    // Stable across every attempt of the step, so that a receiver can drop a repeated effect.
    idempotencyKey: `${run.id}:${exec.node_id}`,
    test: run.test,
    now,
    signal: controller.signal,
    trigger: run.trigger,
    checkpoint: exec.checkpoint,
    log: (message) => logs.push({ at: new Date().toISOString(), message }),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ActionResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error("timeout"));
      resolve({ ok: false, error: `Timed out after ${exec.timeout_ms} ms`, retryable: true });
    }, exec.timeout_ms);
  });
  let result: ActionResult;
  try {
    result = await Promise.race([module.execute(exec.input, ctx, bound), timeout]);
  } catch (err) {
    // An action that throws had a bug or met an unexpected failure; retrying is the safe default.
    result = { ok: false, error: err instanceof Error ? err.message : String(err), retryable: true };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  // Defence in depth: actions keep secrets out, but nothing a server echoes may reach a record.
  return { result: redact(result, secretForms) as ActionResult, logs: redact(logs, secretForms) as LogEntry[] };
}
