import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApprovalsModel, approverName, setApproverName } from "../../../models/approvals";
import type { Approval } from "../../api";
import { formatDateTime, relativeTime } from "../../lib/util";
import { ErrorNote, Link, Loading, Notice, PageHeader, StatusBadge, Time } from "../common/ui";

type Inbox = InstanceType<typeof ApprovalsModel>;

/** The tone of each approval status, by the step status that looks the same. */
export const STATUS_TONE: Record<Approval["status"], string> = { waiting: "running", approved: "succeeded", rejected: "failed", cancelled: "cancelled" };
export const approvalHref = (a: { run_id: string; node_id: string }) => `/approvals/${encodeURIComponent(a.run_id)}/${encodeURIComponent(a.node_id)}`;

/** Who decided, when and why; or when it stops waiting. */
export function DecisionLine({ a }: { a: Pick<Approval, "status" | "decided_by" | "decided_at" | "comment" | "timed_out" | "timeout_at" | "on_timeout"> }) {
  if (a.status === "waiting") {
    return (
      <p class="hint">
        Decide by {formatDateTime(a.timeout_at)} ({relativeTime(a.timeout_at)}); without a decision it counts as {a.on_timeout === "approve" ? "approved" : "rejected"}.
      </p>
    );
  }
  if (a.status === "cancelled") return <p class="hint">Cancelled with its run before anyone decided.</p>;
  return (
    <p class="approval-verdict" data-decision={a.status}>
      <strong>{a.status === "approved" ? "Approved" : "Rejected"}</strong> {a.timed_out ? "at the deadline, as nobody decided," : <>by {a.decided_by}</>} <Time iso={a.decided_at} relative={formatDateTime(a.decided_at)} />
      {a.comment && <span class="approval-comment">“{a.comment}”</span>}
    </p>
  );
}

/** The name a decision is recorded under, kept in this browser. */
export function ApproverNameField({ id }: { id: string }) {
  return (
    <div class="approver-name">
      <label for={id}>Decide as</label>
      <input id={id} type="text" autoComplete="name" placeholder="Your name" value={approverName.value} onInput={(e) => setApproverName(e.currentTarget.value)} />
    </div>
  );
}

function ApprovalCard({ m, a }: { m: Inbox; a: Approval }) {
  const key = `${a.run_id}:${a.node_id}`;
  const busy = m.view.busy.value === key;
  const commentId = `comment-${a.run_id.slice(0, 12)}-${a.node_id}`;
  return (
    <li class="approval-card" data-status={a.status} data-run-id={a.run_id} data-node-id={a.node_id}>
      <div class="approval-head">
        <h2>
          <Link href={approvalHref(a)}>{a.title}</Link>
        </h2>
        <StatusBadge status={STATUS_TONE[a.status]} label={a.status} />
        {a.test && <span class="tag">test</span>}
      </div>
      {a.message && <p class="approval-message">{a.message}</p>}
      <p class="hint">
        {a.workflow_name ?? a.workflow_id} · run{" "}
        <Link href={`/runs/${encodeURIComponent(a.run_id)}`} class="mono">
          {a.run_id.slice(0, 8)}
        </Link>{" "}
        · asked <Time iso={a.requested_at} relative={relativeTime(a.requested_at)} /> of {a.approvers.join(", ")}
      </p>
      <DecisionLine a={a} />
      {a.status === "waiting" && (
        <div class="approval-decide">
          <label for={commentId} class="visually-hidden">
            Comment on “{a.title}”
          </label>
          <input id={commentId} type="text" placeholder="Comment (optional)" maxLength={2000} value={m.view.comments.value[key] ?? ""} onInput={(e) => m.setComment(key, e.currentTarget.value)} />
          <button type="button" class="btn btn-go" disabled={m.view.busy.value !== null} onClick={() => void m.decide(a, "approve")}>
            {busy ? "Saving…" : "Approve"}
          </button>
          <button type="button" class="btn btn-danger" disabled={m.view.busy.value !== null} onClick={() => void m.decide(a, "reject")}>
            Reject
          </button>
        </div>
      )}
    </li>
  );
}

const FILTERS = [
  { value: "waiting", label: "Waiting" },
  { value: "decided", label: "Decided" },
  { value: "all", label: "All" },
] as const;

export function ApprovalsPage() {
  const m = useModel(ApprovalsModel);
  const items = m.data.items.value;
  useEffect(() => {
    document.title = "Approvals";
  }, []);
  return (
    <main class="page" id="main">
      <PageHeader title="Approvals">
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={m.loading.value}>
          Refresh
        </button>
      </PageHeader>
      <div class="filters">
        <div class="segmented" role="group" aria-label="Show">
          {FILTERS.map((f) => (
            <button key={f.value} type="button" class={`btn btn-small ${m.status.value === f.value ? "btn-on" : ""}`} aria-pressed={m.status.value === f.value} onClick={() => m.setStatus(f.value)}>
              {f.label}
            </button>
          ))}
        </div>
        <ApproverNameField id="approver-name" />
      </div>
      <ErrorNote error={m.error.value} onRetry={() => void m.refresh()} />
      <ErrorNote error={m.view.actionError.value} />
      {m.view.notice.value && <Notice>{m.view.notice.value}</Notice>}
      {!m.data.loaded.value && m.loading.value && <Loading label="Loading approvals…" />}
      {m.data.loaded.value && items.length === 0 && (
        <p class="empty">{m.status.value === "waiting" ? "Nothing waits for a decision. Approvals come from workflows with an “Approval” step." : "No approvals here yet."}</p>
      )}
      {items.length > 0 && (
        <ul class="approval-list" aria-label="Approvals">
          {items.map((a) => (
            <ApprovalCard key={`${a.run_id}:${a.node_id}`} m={m} a={a} />
          ))}
        </ul>
      )}
      {m.data.nextCursor.value && (
        <button type="button" class="btn" disabled={m.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
    </main>
  );
}
