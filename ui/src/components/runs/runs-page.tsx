import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { RunsModel } from "../../../models/runs";
import { RUN_STATUSES } from "../../lib/catalog";
import type { RunListItem } from "../../api";
import { count, duration, relativeTime } from "../../lib/util";
import { SUMMARY_COUNTERS } from "../../nodes";
import { ErrorNote, FilterSelect, Link, Loading, PageHeader, StatusBadge, Time } from "../common/ui";
import { waitingBadge } from "../../../models/controls";
import { RunCharts } from "./run-charts";

/** The counters that are not zero: "1 plan created · 3 added · 1 webhook". */
function summaryText(r: RunListItem): string {
  const s = r.summary;
  if (!s) return "";
  const parts = SUMMARY_COUNTERS.map((c) => (s[c.key] ? c.short(s[c.key]) : ""));
  if (s.errors) parts.push(count(s.errors, "error"));
  return parts.filter(Boolean).join(" · ");
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
        <FilterSelect
          id="runs-workflow"
          label="Workflow"
          all="All workflows"
          value={v.workflowId.value}
          // A workflow id from the URL that is not among the names loaded still shows as chosen.
          options={[...(v.workflowId.value && !workflows.value.some((w) => w.id === v.workflowId.value) ? [v.workflowId.value] : []), ...workflows.value.map((w) => ({ value: w.id, label: w.name }))]}
          onChange={(x) => m.setFilter("workflow_id", x)}
        />
        <FilterSelect id="runs-status" label="Status" all="Any status" value={v.status.value} options={RUN_STATUSES} onChange={(x) => m.setFilter("status", x)} />
        <FilterSelect
          id="runs-test"
          label="Kind"
          all="Live and test runs"
          value={v.test.value}
          options={[
            { value: "false", label: "Live runs only" },
            { value: "true", label: "Test runs only" },
          ]}
          onChange={(x) => m.setFilter("test", x)}
        />
        <label class="check">
          <input type="checkbox" checked={v.autoRefresh.value} onChange={(e) => m.setAutoRefresh(e.currentTarget.checked)} />
          Auto-refresh
        </label>
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={v.loading.value}>
          Refresh
        </button>
      </div>
      <RunCharts />
      <ErrorNote error={v.workflowsError.value} />
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {!loaded.value && v.loading.value && <Loading label="Loading runs…" />}
      {loaded.value && items.value.length === 0 && <p class="empty">No runs match these filters yet.</p>}
      {items.value.length > 0 && (
        <div class="table-scroll">
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
                    {r.waiting_for && (
                      <span class="badge tone-warn waiting-badge" data-waiting-for={r.waiting_for}>
                        {waitingBadge(r.waiting_for, r.flow_key ? { noun: "key", value: r.flow_key } : null)}
                      </span>
                    )}
                  </td>
                  <td class="mono small">{r.entity_id ? `${r.entity ?? ""} ${r.entity_id}` : "—"}</td>
                  <td>
                    <Time iso={r.started_at} relative={relativeTime(r.started_at)} />
                  </td>
                  <td>{r.status === "pending" ? "—" : duration(r.started_at, r.finished_at)}</td>
                  <td class="wrap">{r.error ? <span class="step-error">{r.error}</span> : summaryText(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={v.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
    </main>
  );
}
