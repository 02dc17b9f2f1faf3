import { useModel } from "@preact/signals";
import { useEffect, useMemo } from "preact/hooks";
import { RunModel } from "../../../models/runs";
import type { RunDetail, StepRecord } from "../../api";
import { fromDefinition, type FlowStep } from "../../lib/flow";
import { count, duration, formatDateTime, relativeTime } from "../../lib/util";
import { cardSummary, nodeUi, SUMMARY_COUNTERS } from "../../nodes";
import { FlowView } from "../common/flow-view";
import { ConfirmDialog, ErrorNote, Inspector, JsonBlock, Link, Loading, Notice, StatusBadge, Time } from "../common/ui";
import { runKey, waitingBadge, waitingSentence } from "../../../models/controls";
import { RetryLinks, StepRetry } from "./retry";
import { stepOutcome } from "../../lib/step-outcome";

type Run = InstanceType<typeof RunModel>;

function RunGraph({ m, run }: { m: Run; run: RunDetail }) {
  const flow = useMemo(() => fromDefinition(run.definition), [run.definition]);
  const byId = new Map(run.steps.map((s) => [s.node_id, s]));
  const selected = m.view.selected.value;
  const card = (step: FlowStep) => {
    const rec = byId.get(step.node.id);
    const status = rec?.status ?? "pending";
    const ui = nodeUi(step.node.type);
    return (
      <div class={`card step-card run-card status-${status} ${selected === step.node.id ? "selected" : ""}`} style={{ "--type": ui.colour }} data-node-id={step.node.id}>
        <button type="button" class="card-main" aria-pressed={selected === step.node.id} title={step.node.name ? `${step.node.name} (${step.node.id})` : step.node.id} onClick={() => m.select(step.node.id)}>
          <span class="card-head">
            <span class="card-type">{ui.label}</span>
            {step.node.name && <code class="card-id">{step.node.id}</code>}
            <StatusBadge status={status} />
          </span>
          <span class="card-title">{step.node.name || step.node.id}</span>
          <span class="card-summary">{cardSummary(step.node)}</span>
        </button>
      </div>
    );
  };
  return (
    <div class="canvas run-canvas" aria-label="Steps of this run">
      <FlowView
        flow={flow}
        head={
          <div class="card trigger-card">
            <div class="card-main static">
              <span class="card-type">Trigger</span>
              <span class="card-title">{run.trigger.type}</span>
              <span class="card-summary mono">{run.trigger.entity_id}</span>
            </div>
          </div>
        }
        renderStep={card}
        endLabel="End"
      />
    </div>
  );
}

function StepDetail({ run, step }: { run: RunDetail; step: StepRecord }) {
  const ui = nodeUi(step.type);
  const name = run.definition.nodes.find((n) => n.id === step.node_id)?.name;
  const outcome = stepOutcome(step, { type: step.type, branches: ui.branches === true, labels: ui.branchLabels ?? { then: "If true", else: "If false" } }, formatDateTime);
  return (
    <Inspector
      class="step-detail"
      eyebrow={ui.label}
      title={
        <>
          {name || step.node_id} {name && <code class="title-id">{step.node_id}</code>} <StatusBadge status={step.status} />
        </>
      }
      titleId="step-title"
    >
      <dl class="facts">
        <dt>Started</dt>
        <dd>{formatDateTime(step.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{formatDateTime(step.finished_at)}</dd>
        <dt>Took</dt>
        <dd>{step.started_at ? duration(step.started_at, step.finished_at) : "—"}</dd>
        {outcome === null ? (
          <>
            <dt>Attempts</dt>
            <dd>{step.attempts.length}</dd>
          </>
        ) : (
          <>
            <dt>Result</dt>
            <dd class="step-outcome">{outcome}</dd>
          </>
        )}
      </dl>
      {/* A step that sleeps has no attempt; one awaiting a signal (an approval) says so in its own view. */}
      {step.status === "running" && step.wake_at && step.attempts.length === 0 && (
        <Notice kind="info">
          Sleeping until {formatDateTime(step.wake_at)} ({relativeTime(step.wake_at)}).
        </Notice>
      )}
      {step.status === "running" && step.next_attempt_at && (
        <Notice kind="info">
          Waiting to retry: next attempt at {formatDateTime(step.next_attempt_at)} ({relativeTime(step.next_attempt_at)}).
        </Notice>
      )}
      {step.error && (
        <div class="note note-error">
          <strong>Error:</strong> {step.error}
        </div>
      )}
      <StepRetry key={`retry-${step.node_id}`} run={run} step={step} />
      {ui.RunDetail && <ui.RunDetail key={step.node_id} run={run} step={step} />}
      {/* A step without attempts said what happened to it above (its Result). */}
      {outcome === null && <h3>Attempts</h3>}
      {outcome === null && (
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {step.attempts.map((a, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td>{formatDateTime(a.started_at)}</td>
                <td>{a.finished_at ? duration(a.started_at, a.finished_at) : "running"}</td>
                <td class="wrap">{a.error ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Input (resolved)</h3>
      <JsonBlock value={step.input} label={`Resolved input of ${step.node_id}`} />
      <h3>Output</h3>
      <JsonBlock value={step.output} label={`Output of ${step.node_id}`} />
      <h3>Logs</h3>
      {step.logs.length === 0 ? (
        <p class="hint">No log lines.</p>
      ) : (
        <ol class="logs">
          {step.logs.map((l, i) => (
            <li key={i}>
              <time dateTime={l.at}>{new Date(l.at).toLocaleTimeString()}</time> {l.message}
            </li>
          ))}
        </ol>
      )}
    </Inspector>
  );
}

export function RunPage({ id }: { id: string }) {
  const m = useModel(() => new RunModel(id));
  const run = m.data.run.value;
  const step = m.selectedStep.value;
  useEffect(() => {
    document.title = `Run ${id.slice(0, 8)}`;
  }, [id]);
  if (!run) {
    return (
      <main class="page" id="main">
        <Link href="/runs">← Runs</Link>
        {m.view.loading.value ? <Loading label="Loading the run…" /> : <ErrorNote error={m.view.error.value} onRetry={m.view.notFound.value ? undefined : () => void m.refresh()} />}
      </main>
    );
  }
  const s = run.summary;
  return (
    <main class="page page-wide" id="main">
      <Link href={`/runs?workflow_id=${encodeURIComponent(run.workflow_id)}`}>← Runs of this workflow</Link>
      <header class="page-head">
        <h1>
          Run <span class="mono">{run.id.slice(0, 8)}</span> <StatusBadge status={run.status} />{" "}
          {run.waiting_for && (
            <span class="badge tone-warn waiting-badge" data-waiting-for={run.waiting_for}>
              {waitingBadge(run.waiting_for, runKey(run.definition.controls, run.flow_key))}
            </span>
          )}{" "}
          {run.test && <span class="tag">test</span>}
        </h1>
        <div class="page-actions">
          {m.live.value && <span class="hint">Live: refreshing every second</span>}
          <button type="button" class="btn" onClick={() => void m.refresh()}>
            Refresh
          </button>
          {m.live.value && (
            <button type="button" class="btn btn-danger" disabled={m.view.cancelling.value} onClick={() => m.askCancel(true)}>
              {m.view.cancelling.value ? "Cancelling…" : "Cancel run"}
            </button>
          )}
        </div>
      </header>
      <ErrorNote error={m.view.error.value} onRetry={() => void m.refresh()} />
      <ErrorNote error={m.view.actionError.value} />
      {m.view.notice.value && <Notice>{m.view.notice.value}</Notice>}
      {run.waiting_for && (
        <div class="note note-warn waiting-note" role="status">
          <span>{waitingSentence(run.waiting_for, run.definition.controls, run.flow_key)}</span>
          <Link href={`/workflows/${encodeURIComponent(run.workflow_id)}?show=controls`}>See the workflow's flow control</Link>
        </div>
      )}
      <dl class="facts facts-wide">
        <dt>Workflow</dt>
        <dd>
          <Link href={`/workflows/${encodeURIComponent(run.workflow_id)}`}>{run.workflow_name ?? run.workflow_id}</Link> <span class="hint">version {run.workflow_version}</span>
        </dd>
        <dt>Event</dt>
        <dd>
          <code>{run.trigger.type}</code> on <code>{run.trigger.entity_id}</code> <span class="hint">at {formatDateTime(run.trigger.occurred_at)}</span>
        </dd>
        {/* A pending run has not started: its time is when it was created and began to wait. */}
        <dt>{run.status === "pending" ? "Waiting since" : "Started"}</dt>
        <dd>
          <Time iso={run.started_at} relative={formatDateTime(run.started_at)} />
        </dd>
        <dt>Finished</dt>
        <dd>{run.finished_at ? `${formatDateTime(run.finished_at)} (took ${duration(run.started_at, run.finished_at)})` : "not yet"}</dd>
        <RetryLinks run={run} />
        {s && (
          <>
            <dt>Summary</dt>
            <dd class="counts">
              {SUMMARY_COUNTERS.map((c) => (
                <span key={c.key}>{c.text(s[c.key])}</span>
              ))}
              <span class={s.errors ? "bad" : ""}>{count(s.errors, "error")}</span>
            </dd>
          </>
        )}
      </dl>
      {run.error && (
        <div class="note note-error">
          <strong>The run failed:</strong> {run.error}
        </div>
      )}
      {run.ended_early && (
        <Notice kind="info">
          Ended early: {run.ended_early}. A wait checked the trigger again, and the steps after it were skipped.
        </Notice>
      )}
      <details class="trigger-data">
        <summary>Event data (trigger.data and trigger.previous)</summary>
        <div class="grid-2">
          <div>
            <h3>data</h3>
            <JsonBlock value={run.trigger.data} label="Trigger data" />
          </div>
          <div>
            <h3>previous</h3>
            <JsonBlock value={run.trigger.previous} label="Previous snapshot" />
          </div>
        </div>
      </details>
      <div class="run-layout">
        <RunGraph m={m} run={run} />
        <aside class="side-panel" aria-label="Step details">
          {step ? <StepDetail run={run} step={step} /> : <p class="hint">Pick a step to see its input, output, logs and attempts.</p>}
        </aside>
      </div>
      <ConfirmDialog
        open={m.view.confirmCancel.value}
        title="Cancel this run?"
        text="The run stops now. A step that is waiting or retrying does not go on; steps that have not finished are marked cancelled. What already happened is not undone."
        action="Cancel run"
        onConfirm={() => void m.cancel()}
        onClose={() => m.askCancel(false)}
      />
    </main>
  );
}
