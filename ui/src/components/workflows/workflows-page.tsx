import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { WorkflowsModel } from "../../../models/workflows";
import { WORKFLOW_STATUSES } from "../../lib/catalog";
import { triggerSummary } from "../../lib/summary";
import { relativeTime } from "../../lib/util";
import { ConfirmDialog, ErrorNote, FilterSelect, Link, Loading, Notice, PageHeader, StatusBadge, Time } from "../common/ui";
import { WorkflowBadge } from "../common/workflow-badge";

export function WorkflowsPage() {
  const m = useModel(WorkflowsModel);
  const { items, loaded, nextCursor } = m.data;
  const { status, q, searchText, loading, error, notice, busyId, confirmArchive } = m.view;
  useEffect(() => {
    document.title = "Workflows";
  }, []);
  return (
    <main class="page" id="main">
      <PageHeader title="Workflows">
        <Link href="/workflows/new" class="btn btn-primary">
          New workflow
        </Link>
      </PageHeader>
      <div class="filters">
        <form
          class="filter-field"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            m.search();
          }}
        >
          <label for="wf-search">Name</label>
          <input id="wf-search" type="search" placeholder="Search by name" maxLength={100} value={searchText.value} onInput={(e) => m.typeSearch(e.currentTarget.value)} />
        </form>
        <div class="filter-field">
          <FilterSelect id="wf-status" label="Status" all="All statuses" value={status.value} options={WORKFLOW_STATUSES} onChange={(x) => m.setStatus(x)} />
        </div>
        <button type="button" class="btn" onClick={() => void m.reload()} disabled={loading.value}>
          Refresh
        </button>
      </div>
      {notice.value && (
        <Notice>
          {notice.value.text} {notice.value.href && <Link href={notice.value.href}>Open it</Link>}
        </Notice>
      )}
      <ErrorNote error={error.value} onRetry={() => void m.reload()} />
      {!loaded.value && loading.value && <Loading label="Loading workflows…" />}
      {loaded.value && items.value.length === 0 && !error.value && (
        <div class="empty">
          {q.value || status.value ? (
            <>
              <p>
                No {status.value ? `${status.value} ` : ""}workflows{q.value ? ` named like “${q.value}”` : ""}.
              </p>
              <button type="button" class="btn" onClick={() => (q.value ? m.search("") : m.setStatus(""))}>
                {q.value ? "Clear the search" : "Show every status"}
              </button>
            </>
          ) : (
            <>
              <p>No workflows yet.</p>
              <Link href="/workflows/new" class="btn btn-primary">
                Build your first workflow
              </Link>
            </>
          )}
        </div>
      )}
      {items.value.length > 0 && (
        <div class="table-scroll">
          <table class="table">
            <caption class="visually-hidden">
              Workflows{status.value ? ` with status ${status.value}` : ""}
              {q.value ? ` named like “${q.value}”` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Last run</th>
                <th scope="col" class="num nowrap" title="Live runs started in the last 24 hours; test runs are not counted">
                  Runs, 24 h
                </th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.value.map((w) => (
                <tr key={w.id} data-workflow-id={w.id}>
                  <td>
                    <Link href={`/workflows/${encodeURIComponent(w.id)}`} class="strong">
                      {w.name}
                    </Link>
                    <div class="hint">
                      v{w.version} · {w.node_count} {w.node_count === 1 ? "step" : "steps"}
                    </div>
                  </td>
                  <td>
                    <WorkflowBadge status={w.status} reason={w.paused_reason} />
                    {w.status === "paused" && w.paused_reason && <div class="hint paused-reason">{w.paused_reason}</div>}
                    <div class="status-actions">
                      {w.status === "active" && (
                        <button type="button" class="btn btn-small" disabled={busyId.value === w.id} onClick={() => void m.pause(w)} aria-label={`Pause ${w.name}`}>
                          Pause
                        </button>
                      )}
                      {(w.status === "draft" || (w.status === "paused" && !w.paused_reason)) && (
                        <button type="button" class="btn btn-small btn-go" disabled={busyId.value === w.id} onClick={() => void m.activate(w)} aria-label={`Activate ${w.name}`}>
                          Activate
                        </button>
                      )}
                      {w.status === "paused" && w.paused_reason && (
                        <button type="button" class="btn btn-small btn-go" disabled={busyId.value === w.id} onClick={() => void m.resume(w)} aria-label={`Resume ${w.name}`}>
                          Resume
                        </button>
                      )}
                    </div>
                  </td>
                  <td class="wrap">{triggerSummary(w.trigger)}</td>
                  <td>
                    {w.stats.last_run ? (
                      <Link href={`/runs/${encodeURIComponent(w.stats.last_run.id)}`} class="plain">
                        <StatusBadge status={w.stats.last_run.status} /> <Time iso={w.stats.last_run.started_at} relative={relativeTime(w.stats.last_run.started_at)} />
                      </Link>
                    ) : (
                      <span class="hint">Never run</span>
                    )}
                  </td>
                  <td class="num nowrap">
                    <Link href={`/runs?workflow_id=${encodeURIComponent(w.id)}&test=false`} aria-label={`${w.stats.runs_24h} live runs of ${w.name} in the last 24 hours`}>
                      {w.stats.runs_24h}
                    </Link>
                  </td>
                  <td class="actions">
                    <Link href={`/workflows/${encodeURIComponent(w.id)}`} class="btn btn-small" aria-label={`Edit ${w.name}`}>
                      Edit
                    </Link>
                    <button type="button" class="btn btn-small" disabled={busyId.value === w.id} onClick={() => void m.duplicate(w)} aria-label={`Duplicate ${w.name}`}>
                      Duplicate
                    </button>
                    {w.status !== "archived" && (
                      <button type="button" class="btn btn-small btn-danger-ghost" disabled={busyId.value === w.id} onClick={() => m.askArchive(w)} aria-label={`Archive ${w.name}`}>
                        Archive
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
      <ConfirmDialog
        open={confirmArchive.value !== null}
        title={`Archive “${confirmArchive.value?.name ?? ""}”?`}
        text="An archived workflow starts no runs and cannot be changed or activated again. Its runs and versions stay visible."
        action="Archive"
        onConfirm={() => confirmArchive.value && void m.archive(confirmArchive.value)}
        onClose={() => m.askArchive(null)}
      />
    </main>
  );
}
