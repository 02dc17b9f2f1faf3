import { controlKey, gated, gateName, type Controls } from "../definition/controls";
import type { TriggerInfo } from "../engine/run-state";
import { runName } from "../lib/ids";

/** One run to start for one event of one workflow version. */
export interface RunStart {
  workflowId: string;
  version: number;
  /** The controls of that version (SPEC §14); without per-key controls the run starts at once. */
  controls: Controls | undefined;
  trigger: TriggerInfo;
}

/**
 * Starts the run of an event, or hands it to the workflow's gate for its key when the version has
 * per-key controls. Idempotent per (workflow, event): the run object is named from both, and a
 * gate knows the events it took. `created` is false for an event that was there before.
 */
export async function startRun(env: Env, s: RunStart): Promise<{ created: boolean }> {
  const name = runName(s.workflowId, s.trigger.id);
  if (gated(s.controls)) {
    const key = controlKey(s.controls, s.trigger);
    const gate = env.FLOW.get(env.FLOW.idFromName(gateName(s.workflowId, key)));
    const answer = await gate.offer({ workflow_id: s.workflowId, workflow_version: s.version, key, controls: s.controls, run_name: name, trigger: s.trigger });
    return { created: answer.outcome !== "duplicate" };
  }
  const result = await env.RUNS.get(env.RUNS.idFromName(name)).start({ workflow_id: s.workflowId, workflow_version: s.version, trigger: s.trigger, test: false });
  return { created: result.created };
}
