import { computed, createModel, effect, signal } from "@preact/signals";
import { api, ApiError, describeError, type Approval, type PlanDetail, type RunDetail, type StepRecord } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn, session } from "./session";

/*
 * Approvals (SPEC §15): the inbox (every approval that asked, from GET /api/approvals) and one
 * approval's page (its run's step, and the plan a step before it made). A decision is recorded
 * with the name this browser gives (`by`): API tokens carry no name.
 */

const NAME_KEY = "edge-workflows.approver-name";
const POLL_MS = 5000;

function readName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

/** Who decides in this browser: remembered across pages and visits. */
export const approverName = signal(readName());
export function setApproverName(name: string) {
  approverName.value = name;
  try {
    localStorage.setItem(NAME_KEY, name.trim());
  } catch {
    // Private mode: remembered for this tab only.
  }
}

export type Decision = "approve" | "reject";
const by = () => approverName.peek().trim() || undefined;

/** The inbox: waiting approvals first by default; the filter lives in the URL (?status=waiting|decided|all). */
export const ApprovalsModel = createModel(() => {
  const status = computed(() => router.query.value.get("status") ?? "waiting");
  const list = pagedList<Approval>("approvals", (cursor) => api.listApprovals({ status: status.peek() === "all" ? undefined : status.peek(), limit: 50, cursor }));
  const view = {
    /** A comment typed on a row, by `run:node`. */
    comments: signal<Record<string, string>>({}),
    busy: signal<string | null>(null),
    actionError: signal<string | null>(null),
    notice: signal<string | null>(null),
  };
  const tick = signal(0);
  loadWhileSignedIn(
    () => void list.load(),
    () => void status.value,
  );
  // New requests appear without a reload; a page the person extended is kept.
  effect(() => {
    void tick.value;
    if (!session.signedIn.value) return;
    const timer = setTimeout(() => {
      if (!document.hidden && list.data.nextCursor.peek() === null && view.busy.peek() === null) void list.load();
      tick.value++;
    }, POLL_MS);
    return () => clearTimeout(timer);
  });
  return {
    data: list.data,
    loading: list.loading,
    error: list.error,
    view,
    status,
    refresh: () => list.load(),
    loadMore: () => list.load(true),
    setStatus(value: string) {
      router.setQuery({ status: value === "waiting" ? null : value });
    },
    setComment(key: string, text: string) {
      view.comments.value = { ...view.comments.peek(), [key]: text };
    },
    async decide(a: Approval, decision: Decision) {
      const key = `${a.run_id}:${a.node_id}`;
      view.busy.value = key;
      view.actionError.value = null;
      view.notice.value = null;
      try {
        const comment = view.comments.peek()[key]?.trim();
        await api.decide(a.run_id, a.node_id, { decision, ...(comment ? { comment } : {}), ...(by() ? { by: by() } : {}) });
        view.notice.value = `${decision === "approve" ? "Approved" : "Rejected"} “${a.title}”: the run goes on.`;
        await list.load();
      } catch (err) {
        view.actionError.value = `“${a.title}” was not ${decision === "approve" ? "approved" : "rejected"}: ${describeError(err)}`;
        await list.load();
      } finally {
        view.busy.value = null;
      }
    },
  };
});

/** What an approval step holds, read from its output (the request, then the decision). */
export interface ApprovalView {
  title: string;
  message: string;
  approvers: string[];
  timeout_at: string | null;
  on_timeout: string;
  decision: Decision | null;
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
  timed_out: boolean;
}

export function approvalOf(step: StepRecord): ApprovalView {
  const o = (step.output ?? {}) as Partial<ApprovalView>;
  const i = (step.input ?? {}) as Partial<ApprovalView>;
  return {
    title: o.title ?? i.title ?? step.node_id,
    message: o.message ?? i.message ?? "",
    approvers: o.approvers ?? i.approvers ?? [],
    timeout_at: o.timeout_at ?? i.timeout_at ?? null,
    on_timeout: o.on_timeout ?? i.on_timeout ?? "reject",
    decision: o.decision ?? null,
    decided_by: o.decided_by ?? null,
    decided_at: o.decided_at ?? null,
    comment: o.comment ?? null,
    timed_out: o.timed_out ?? false,
  };
}

/** The plan steps that ran before `nodeId` in the run (create_or_get_plan, add_items_to_plan): their plan ids, each once. */
export function plansBefore(run: RunDetail, nodeId: string): string[] {
  const at = run.steps.find((s) => s.node_id === nodeId)?.started_at;
  const ids: string[] = [];
  for (const s of run.steps) {
    if (s.type !== "create_or_get_plan" && s.type !== "add_items_to_plan") continue;
    if (s.status !== "succeeded" || !s.finished_at || (at && s.finished_at > at)) continue;
    const id = (s.output as { plan_id?: unknown } | null)?.plan_id;
    if (typeof id === "string" && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** One approval's page: the run (polled while it waits), the plans steps before it made, and the decision. */
export const ApprovalModel = createModel((runId: string, nodeId: string) => {
  const data = {
    run: signal<RunDetail | null>(null),
    plans: signal<PlanDetail[]>([]),
  };
  const view = {
    loading: signal(true),
    error: signal<string | null>(null),
    plansError: signal<string | null>(null),
    comment: signal(""),
    deciding: signal<Decision | null>(null),
    actionError: signal<string | null>(null),
    notice: signal<string | null>(null),
    tick: signal(0),
  };
  const step = computed(() => data.run.value?.steps.find((s) => s.node_id === nodeId && s.type === "approval") ?? null);
  const approval = computed(() => (step.value ? approvalOf(step.value) : null));
  const waiting = computed(() => step.value?.status === "running" && approval.value?.timeout_at !== null && approval.value?.decision === null);
  let planIds = "";

  async function loadPlans(run: RunDetail) {
    const ids = plansBefore(run, nodeId);
    if (ids.join() === planIds) return;
    planIds = ids.join();
    try {
      data.plans.value = await Promise.all(ids.map((id) => api.getPlan(id)));
      view.plansError.value = null;
    } catch (err) {
      view.plansError.value = `Could not load the plan: ${describeError(err)}`;
    }
  }

  async function load() {
    try {
      const run = await api.getRun(runId);
      data.run.value = run;
      view.error.value = step.peek() ? null : `Run ${runId.slice(0, 8)} has no approval step “${nodeId}”.`;
      await loadPlans(run);
    } catch (err) {
      view.error.value = err instanceof ApiError && err.status === 404 ? `There is no run with the id ${runId}.` : `Could not load the approval: ${describeError(err)}`;
    } finally {
      view.loading.value = false;
      view.tick.value++;
    }
  }

  loadWhileSignedIn(() => void load());
  // While the approval still asks (or is still being asked), follow it: another approver may decide.
  effect(() => {
    void view.tick.value;
    const s = step.value;
    if (!s || (s.status !== "running" && s.status !== "pending")) return;
    const timer = setTimeout(() => void load(), POLL_MS);
    return () => clearTimeout(timer);
  });

  return {
    data,
    view,
    step,
    approval,
    waiting,
    refresh: () => load(),
    async decide(decision: Decision) {
      view.deciding.value = decision;
      view.actionError.value = null;
      try {
        const comment = view.comment.peek().trim();
        data.run.value = await api.decide(runId, nodeId, { decision, ...(comment ? { comment } : {}), ...(by() ? { by: by() } : {}) });
        view.notice.value = decision === "approve" ? "Approved: the run goes on with the approved branch." : "Rejected: the run goes on with the rejected branch.";
        view.comment.value = "";
      } catch (err) {
        view.actionError.value = `The decision was not recorded: ${describeError(err)}`;
        void load();
      } finally {
        view.deciding.value = null;
      }
    },
  };
});
