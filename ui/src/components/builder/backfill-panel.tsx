import { useEffect, useMemo } from "preact/hooks";
import { backfillProgress, createBackfill } from "../../../models/backfill";
import { ErrorNote } from "../common/ui";
import type { Builder } from "./binders";

/**
 * Backfill (SPEC §15), below the preview: after "Everything that matches now" has shown what
 * would start, start those runs for real — through the workflow's flow controls, once per entity
 * and version — and follow them on a bar that fills as they end.
 */
export function BackfillPanel({ m }: { m: Builder }) {
  const wf = m.data.workflow.value;
  const workflowId = wf?.id ?? null;
  const bf = useMemo(() => createBackfill(() => workflowId), [workflowId]);
  useEffect(() => {
    bf.resume();
    return () => bf.stop();
  }, [bf]);
  if (!wf) return null;
  const trigger = wf.definition.trigger;
  const backfill = bf.data.backfill.value;
  const progress = backfill ? backfillProgress(backfill) : null;
  const busy = bf.view.busy.value;
  let blocked: string | null = null;
  if (wf.status !== "active") blocked = "Activate the workflow to backfill it: a backfill starts real runs.";
  else if (trigger.events.includes("back_in_stock")) blocked = "A back-in-stock workflow starts from restocks: it has no backfill.";
  else if (trigger.schedule?.each === "tick") blocked = "This schedule runs once per tick, on no entity: there is nothing to backfill.";
  return (
    <section class="inspector backfill" aria-labelledby="backfill-title">
      <h3 id="backfill-title">Backfill</h3>
      <p class="hint">
        Starts a run of version {wf.version} for every {trigger.entity.replaceAll("_", " ")} that matches now, through the flow controls. An entity that had its run from an
        earlier backfill of this version is not run again.
      </p>
      {blocked ? (
        <p class="hint">{blocked}</p>
      ) : (
        <div class="control-row">
          <label for="backfill-limit">At most</label>
          <input
            id="backfill-limit"
            type="number"
            min={1}
            max={100000}
            placeholder="no limit"
            value={bf.view.limit.value ?? ""}
            onChange={(e) => bf.setLimit(e.currentTarget.value === "" ? null : e.currentTarget.valueAsNumber)}
          />
          <button type="button" class="btn btn-primary" disabled={busy !== null || (progress?.live ?? false) || m.dirty.value} onClick={() => void bf.start()}>
            {busy === "starting" ? "Starting…" : "Start runs for what matches now"}
          </button>
        </div>
      )}
      {!blocked && m.dirty.value && <p class="hint">Save your edits first: a backfill runs the saved version.</p>}
      <ErrorNote error={bf.view.error.value} />
      {backfill && progress && (
        <div class="backfill-progress" aria-live="polite">
          <progress
            aria-label="Runs of the backfill that ended"
            max={progress.max ?? undefined}
            value={progress.max === null ? undefined : progress.value}
          />
          <p>
            {progress.percent !== null && <strong>{progress.percent}% </strong>}
            {progress.label}
          </p>
          {backfill.status === "running" && (
            <button type="button" class="btn btn-small" disabled={busy !== null} onClick={() => void bf.cancel()}>
              {busy === "cancelling" ? "Cancelling…" : "Cancel the backfill"}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
