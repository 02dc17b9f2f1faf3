import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { RUN_STATUSES, RunsModel } from "../../../models/runs";
import type { RunListItem } from "../../api";
import { duration, relativeTime } from "../../lib/util";
import { ErrorNote, Link, Loading, PageHeader, StatusBadge, Time } from "../common/ui";

function summaryText(r: RunListItem): string {
  const s = r.summary;
  if (!s) return "";
  const parts = [
    s.plans_created ? `${s.plans_created} plan${s.plans_created === 1 ? "" : "s"} created` : "",
    s.items_added ? `${s.items_added} added` : "",
    s.items_skipped ? `${s.items_skipped} skipped` : "",
    s.emails_sent ? `${s.emails_sent} email${s.emails_sent === 1 ? "" : "s"}` : "",
    s.webhooks_called ? `${s.webhooks_called} webhook${s.webhooks_called === 1 ? "" : "s"}` : "",
    s.errors ? `${s.errors} error${s.errors === 1 ? "" : "s"}` : "",
  ].filter(Boolean);
  return parts.join(" · ");
}

export function RunsPage() {
  const m = useModel(RunsModel);
  const { items, loaded, nextCursor, workflows } = m.data;
  const v = m.view;
  useEffect(() => {
    document.title = "Runs";
  }, []);
  return (
    <main class="page" id="main">
      <PageHeader title="Runs">
        <span class="hint" aria-live="polite">
          {v.autoRefresh.value ? (m.live.value ? "Live runs: refreshing every 1.5 s" : "Refreshing every 5 s") : "Auto-refresh off"}
        </span>
      </PageHeader>
      <div class="filters">
        <label for="runs-workflow">Workflow</label>
        <select id="runs-workflow" value={v.workflowId.value} onChange={(e) => m.setFilter("workflow_id", e.currentTarget.value)}>
          <option value="">All workflows</option>
          {v.workflowId.value && !workflows.value.some((w) => w.id === v.workflowId.value) && <option value={v.workflowId.value}>{v.workflowId.value}</option>}
          {workflows.value.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <label for="runs-status">Status</label>
        <select id="runs-status" value={v.status.value} onChange={(e) => m.setFilter("status", e.currentTarget.value)}>
          <option value="">Any status</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label for="runs-test">Kind</label>
        <select id="runs-test" value={v.test.value} onChange={(e) => m.setFilter("test", e.currentTarget.value)}>
          <option value="">Live and test runs</option>
          <option value="false">Live runs only</option>
          <option value="true">Test runs only</option>
        </select>
        <label class="check">
          <input type="checkbox" checked={v.autoRefresh.value} onChange={(e) => m.setAutoRefresh(e.currentTarget.checked)} />
          Auto-refresh
        </label>
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
          Refresh
        </button>
      </div>
      <ErrorNote error={v.workflowsError.value} />
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {!loaded.value && v.loading.value && <Loading label="Loading runs…" />}
      {loaded.value && items.value.length === 0 && <p class="empty">No runs match these filters yet.</p>}
      {items.value.length > 0 && (
        <table class="table">
          <caption class="visually-hidden">Runs</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col">Entity</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {items.value.map((r) => (
              <tr key={r.id} data-run-id={r.id} data-status={r.status}>
                <td>
                  <Link href={`/runs/${encodeURIComponent(r.id)}`} class="mono" aria-label={`Run ${r.id.slice(0, 8)}, ${r.status}`}>
                    {r.id.slice(0, 8)}
                  </Link>
                  {r.test && <span class="tag">test</span>}
                </td>
                <td>
                  <Link href={`/workflows/${encodeURIComponent(r.workflow_id)}`}>{m.names.value.get(r.workflow_id) ?? r.workflow_id}</Link>
                  <span class="hint"> v{r.workflow_version}</span>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td class="mono small">{r.entity_id ? `${r.entity ?? ""} ${r.entity_id}` : "—"}</td>
                <td>
                  <Time iso={r.started_at} relative={relativeTime(r.started_at)} />
                </td>
                <td>{duration(r.started_at, r.finished_at)}</td>
                <td class="wrap">{r.error ? <span class="step-error">{r.error}</span> : summaryText(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={v.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
    </main>
  );
}
