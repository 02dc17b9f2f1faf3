import { useModel } from "@preact/signals";
import { RetryModel } from "../../../models/retry";
import type { RunDetail, StepRecord } from "../../api";
import { nodeUi } from "../../nodes";
import { Dialog, ErrorNote, Link, Loading, Notice } from "../common/ui";

/* Retry from a step (SPEC §15) on the run page: the links between a retry and its original, and "Retry from here". */

const ENDED = ["completed", "failed", "cancelled"];
const runLink = (id: string) => (
  <Link href={`/runs/${encodeURIComponent(id)}`} class="mono" data-run-link={id}>
    {id.slice(0, 8)}
  </Link>
);

/** Rows of the run's facts: the run it retries and from where, and the runs that retry it. */
export function RetryLinks({ run }: { run: RunDetail }) {
  return (
    <>
      {run.retry_of && (
        <>
          <dt>Retry of</dt>
          <dd class="retry-of">
            {runLink(run.retry_of.run_id)} <span class="hint">from step “{run.retry_of.from}”; the steps before it were reused</span>
          </dd>
        </>
      )}
      {run.retried_by.length > 0 && (
        <>
          <dt>Retried by</dt>
          <dd class="retried-by">
            {run.retried_by.map((id, i) => (
              <span key={id}>
                {i > 0 && ", "}
                {runLink(id)}
              </span>
            ))}
          </dd>
        </>
      )}
    </>
  );
}

function RetryDialog({ m, run, step }: { m: InstanceType<typeof RetryModel>; run: RunDetail; step: StepRecord }) {
  const plan = m.data.plan.value;
  return (
    <Dialog open={m.view.open.value} title={`Retry from “${step.node_id}”?`} onClose={() => m.close()} wide>
      <p>
        A new run starts at “{step.node_id}” with the same event. The steps before it keep their outputs and are not executed again. This run stays as it is, linked to the new one.
      </p>
      <fieldset class="group radios">
        <legend>Version</legend>
        <label class="radio">
          <input type="radio" name="retry-version" checked={m.view.version.value === "pinned"} onChange={() => m.setVersion("pinned")} /> Version {run.workflow_version}, the one this run used
        </label>
        <label class="radio">
          <input type="radio" name="retry-version" checked={m.view.version.value === "latest"} onChange={() => m.setVersion("latest")} /> The workflow's latest version
        </label>
      </fieldset>
      {m.view.loading.value && <Loading label="Checking what the run already did…" />}
      <ErrorNote error={m.view.error.value} />
      {plan && (
        <>
          <h3>Already done by this run, not done again</h3>
          {plan.side_effects.length === 0 ? (
            <p class="hint">Nothing: no step before “{plan.from}” had an effect outside.</p>
          ) : (
            <ul class="side-effects">
              {plan.side_effects.map((e) => (
                <li key={e.node_id}>
                  <strong>{nodeUi(e.type).label}</strong> “{e.node_id}”{e.status !== "succeeded" && ` (${e.status})`}: <span class="mono small">{e.summary}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <div class="row-actions end">
        <button type="button" class="btn" onClick={() => m.close()}>
          Keep as it is
        </button>
        <button type="button" class="btn btn-primary" disabled={!plan || m.view.starting.value} onClick={() => void m.start()}>
          {m.view.starting.value ? "Starting…" : `Retry from “${step.node_id}”`}
        </button>
      </div>
    </Dialog>
  );
}

/** On a step: that it was reused from the original, or "Retry from here" when it failed and the run ended. */
export function StepRetry({ run, step }: { run: RunDetail; step: StepRecord }) {
  const m = useModel(() => new RetryModel(run.id, step.node_id));
  if (step.reused && run.retry_of) {
    return (
      <Notice kind="info">
        <span>Reused from run {runLink(run.retry_of.run_id)}: it ran there and was not executed again.</span>
      </Notice>
    );
  }
  if (step.status !== "failed" || !ENDED.includes(run.status)) return null;
  return (
    <>
      <div class="row-actions">
        <button type="button" class="btn btn-primary" onClick={() => m.ask()}>
          Retry from here
        </button>
      </div>
      <RetryDialog m={m} run={run} step={step} />
    </>
  );
}
