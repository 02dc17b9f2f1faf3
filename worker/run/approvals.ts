import type { ApprovalStatus, ApprovalWrite } from "../db/approvals";
import type { RunState, StepState } from "../engine/run-state";
import { approval, ApprovalOutputSchema, ApprovalRequestSchema } from "../nodes/approval";

/*
 * The inbox rows of a run (SPEC §15), derived from its state: one per approval step that asked
 * (its emails went out and it stored its request), never one for a step still emailing. A step
 * reused by a retry is the original run's approval, listed under that run only.
 */

function statusOf(st: StepState): ApprovalStatus | null {
  if (st.status === "running") return "waiting";
  if (st.status === "cancelled") return "cancelled";
  if (st.status !== "succeeded") return null;
  const out = ApprovalOutputSchema.safeParse(st.output);
  return out.success && out.data.decision === "approve" ? "approved" : "rejected";
}

export function approvalRows(state: RunState): ApprovalWrite[] {
  const rows: ApprovalWrite[] = [];
  for (const st of state.steps) {
    if (st.type !== approval.type || st.reused) continue;
    const request = ApprovalRequestSchema.safeParse(st.output);
    const status = statusOf(st);
    if (!request.success || status === null) continue;
    const out = ApprovalOutputSchema.safeParse(st.output);
    const decided = out.success ? out.data : null;
    const asked = st.attempts.at(-1)?.finished_at ?? st.started_at ?? state.started_at;
    rows.push({
      run_id: state.id,
      node_id: st.node_id,
      workflow_id: state.workflow_id,
      workflow_version: state.workflow_version,
      test: state.test,
      status,
      title: request.data.title,
      message: request.data.message,
      approvers: request.data.approvers,
      requested_at: Date.parse(asked),
      timeout_at: Date.parse(request.data.timeout_at),
      on_timeout: request.data.on_timeout,
      decided_by: decided?.decided_by ?? null,
      decided_at: decided?.decided_at ? Date.parse(decided.decided_at) : null,
      comment: decided?.comment ?? null,
      timed_out: decided?.timed_out ?? false,
      rev: state.rev,
    });
  }
  return rows;
}

/** What the inbox shows of a run, for the index writer's "already written" check. */
export const approvalsKey = (state: RunState): string =>
  state.steps.some((st) => st.type === approval.type) ? approvalRows(state).map((r) => `${r.node_id}:${r.status}`).join(",") : "";
