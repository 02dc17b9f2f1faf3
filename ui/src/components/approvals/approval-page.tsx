import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApprovalModel, type ApprovalView } from "../../../models/approvals";
import type { Approval, PlanDetail } from "../../api";
import { humanize } from "../../lib/catalog";
import { plural } from "../../lib/plural";
import { ErrorNote, Link, Loading, Notice, StatusBadge } from "../common/ui";
import { ApproverNameField, DecisionLine, STATUS_TONE } from "./approvals-page";

/** The approval as the inbox names it, from its step; null before it asked (emailing) or when it could not ask. */
function inboxStatus(stepStatus: string, a: ApprovalView): Approval["status"] | null {
  if (a.decision) return a.decision === "approve" ? "approved" : "rejected";
  if (!a.timeout_at) return null;
  if (stepStatus === "cancelled") return "cancelled";
  return stepStatus === "running" ? "waiting" : null;
}

/** Lines shown here; the plan's page has them all. */
const LINES = 20;

/** The plan a step before the approval made: totals, its first lines and a link to all of them. */
function PlanLines({ plan }: { plan: PlanDetail }) {
  const lines = plan.items.slice(0, LINES);
  const transfers = plan.items.some((i) => i.from_shop_id || i.to_shop_id);
  const discounts = plan.items.some((i) => i.discount_percent !== null);
  return (
    <section class="approval-plan" aria-labelledby={`plan-${plan.id}`}>
      <h2 id={`plan-${plan.id}`}>
        {humanize(plan.kind)} plan <Link href={`/plans/${encodeURIComponent(plan.id)}`}>{plan.name}</Link> <StatusBadge status={plan.status} />
      </h2>
      <dl class="facts facts-wide">
        <dt>Lines</dt>
        <dd>{plan.item_count}</dd>
        <dt>Units</dt>
        <dd>{plan.total_quantity}</dd>
        <dt>Deadline</dt>
        <dd>{plan.deadline ?? "none"}</dd>
      </dl>
      {lines.length === 0 ? (
        <p class="empty">The plan has no lines yet.</p>
      ) : (
        <div class="table-scroll">
          <table class="table compact">
            <caption class="visually-hidden">Lines of {plan.name}</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Shop</th>
                {transfers && <th scope="col">From → to</th>}
                <th scope="col" class="num">
                  Quantity
                </th>
                {discounts && (
                  <th scope="col" class="num">
                    Discount
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {lines.map((i, n) => (
                <tr key={n}>
                  <td class="mono small">{i.inventory_item_id ?? i.variant_id ?? "—"}</td>
                  <td class="mono small">{i.shop_id ?? "—"}</td>
                  {transfers && <td class="mono small">{i.from_shop_id || i.to_shop_id ? `${i.from_shop_id ?? "?"} → ${i.to_shop_id ?? "?"}` : "—"}</td>}
                  <td class="num">{i.quantity}</td>
                  {discounts && <td class="num">{i.discount_percent === null ? "—" : `${i.discount_percent} %`}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {plan.item_count > lines.length && (
        <p class="hint">
          The first {lines.length} of {plural(plan.item_count, "line")}. <Link href={`/plans/${encodeURIComponent(plan.id)}`}>See every line</Link>
        </p>
      )}
    </section>
  );
}

export function ApprovalPage({ runId, nodeId }: { runId: string; nodeId: string }) {
  const m = useModel(() => new ApprovalModel(runId, nodeId));
  const run = m.data.run.value;
  const step = m.step.value;
  const a = m.approval.value;
  useEffect(() => {
    document.title = a ? `Approval: ${a.title}` : "Approval";
  }, [a?.title]);
  if (!run || !step || !a) {
    return (
      <main class="page" id="main">
        <Link href="/approvals">← Approvals</Link>
        {m.view.loading.value ? <Loading label="Loading the approval…" /> : <ErrorNote error={m.view.error.value} onRetry={() => void m.refresh()} />}
      </main>
    );
  }
  const status = inboxStatus(step.status, a);
  return (
    <main class="page" id="main">
      <Link href="/approvals">← Approvals</Link>
      <header class="page-head">
        <h1>
          {a.title} {status ? <StatusBadge status={STATUS_TONE[status]} label={status} /> : <StatusBadge status={step.status} />}
        </h1>
        <div class="page-actions">
          <button type="button" class="btn" onClick={() => void m.refresh()}>
            Refresh
          </button>
        </div>
      </header>
      <ErrorNote error={m.view.actionError.value} />
      {m.view.notice.value && <Notice>{m.view.notice.value}</Notice>}
      {a.message && <p class="approval-message">{a.message}</p>}
      <dl class="facts facts-wide">
        <dt>Workflow</dt>
        <dd>
          <Link href={`/workflows/${encodeURIComponent(run.workflow_id)}`}>{run.workflow_name}</Link> <span class="hint">version {run.workflow_version}</span>
        </dd>
        <dt>Run</dt>
        <dd>
          <Link href={`/runs/${encodeURIComponent(run.id)}`} class="mono">
            {run.id.slice(0, 8)}
          </Link>{" "}
          <StatusBadge status={run.status} /> {run.test && <span class="tag">test</span>} <span class="hint">step “{step.node_id}”</span>
        </dd>
        <dt>Approvers</dt>
        <dd>{a.approvers.join(", ") || "—"}</dd>
      </dl>
      {status && a.timeout_at && <DecisionLine a={{ ...a, status, timeout_at: a.timeout_at, on_timeout: a.on_timeout === "approve" ? "approve" : "reject" }} />}
      {m.waiting.value && (
        <form
          class="approval-form"
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <ApproverNameField id="approval-by" />
          <label for="approval-comment">Comment (optional)</label>
          <textarea id="approval-comment" rows={3} maxLength={2000} value={m.view.comment.value} onInput={(e) => (m.view.comment.value = e.currentTarget.value)} />
          <div class="row-actions">
            <button type="button" class="btn btn-go" disabled={m.view.deciding.value !== null} onClick={() => void m.decide("approve")}>
              {m.view.deciding.value === "approve" ? "Approving…" : "Approve"}
            </button>
            <button type="button" class="btn btn-danger" disabled={m.view.deciding.value !== null} onClick={() => void m.decide("reject")}>
              {m.view.deciding.value === "reject" ? "Rejecting…" : "Reject"}
            </button>
          </div>
        </form>
      )}
      {step.status === "running" && !a.timeout_at && <Notice kind="info">The approvers are being emailed; the decision opens once they have the link.</Notice>}
      <ErrorNote error={m.view.plansError.value} />
      {m.data.plans.value.map((p) => (
        <PlanLines key={p.id} plan={p} />
      ))}
    </main>
  );
}
