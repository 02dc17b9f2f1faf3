import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { BuilderModel, type SidePanel } from "../../../models/builder";
import type { WorkflowStatus } from "../../api";
import { findStep } from "../../lib/flow";
import { fieldId, IssueList } from "../common/fields";
import { ConfirmDialog, ErrorNote, Link, Loading, StatusBadge } from "../common/ui";
import { WorkflowBadge } from "../common/workflow-badge";
import { asSentence } from "../../../models/controls";
import { rootBinder, type Builder } from "./binders";
import { BuilderCanvas } from "./canvas";
import { NodePanel } from "./node-panel";
import { PreviewPanel } from "./preview-panel";
import { BackfillPanel } from "./backfill-panel";
import { TriggerPanel } from "./trigger-panel";
import { ControlsPanel } from "./controls-panel";
import { IssueSummary, JsonPanel, TestPanel, VersionsPanel } from "./panels";

const TRANSITIONS: Record<WorkflowStatus, { to: WorkflowStatus; label: string; primary?: boolean }[]> = {
  draft: [{ to: "active", label: "Activate", primary: true }],
  active: [
    { to: "paused", label: "Pause" },
    { to: "draft", label: "Back to draft" },
  ],
  paused: [
    { to: "active", label: "Activate again", primary: true },
    { to: "draft", label: "Back to draft" },
  ],
  archived: [],
};

function Toolbar({ m }: { m: Builder }) {
  const wf = m.data.workflow.value;
  const status = m.status.value;
  const busy = m.view.busy.value;
  const archived = status === "archived";
  const b = rootBinder(m);
  const nameId = fieldId(b, ["name"]);
  const nameIssues = b.issues(["name"]);
  const panelBtn = (panel: SidePanel, label: string) => (
    <button type="button" class={`btn ${m.view.panel.value === panel ? "btn-on" : ""}`} aria-pressed={m.view.panel.value === panel} onClick={() => m.openPanel(m.view.panel.value === panel ? "inspector" : panel)}>
      {label}
    </button>
  );
  return (
    <header class="builder-bar">
      <h1 class="visually-hidden">Workflow builder: {m.data.draft.value.name || "new workflow"}</h1>
      <Link href="/" class="back-link">
        ← Workflows
      </Link>
      <div class={`name-field ${nameIssues.length ? "has-issue" : ""}`}>
        <label for={nameId} class="visually-hidden">
          Workflow name
        </label>
        <input
          id={nameId}
          class="name-input"
          value={m.data.draft.value.name}
          placeholder="Name this workflow"
          aria-invalid={nameIssues.length > 0}
          aria-describedby={nameIssues.length ? `${nameId}-issues` : undefined}
          onInput={(e) => m.setRoot(["name"], e.currentTarget.value)}
        />
        <div class="bar-status">
          {wf ? <WorkflowBadge status={wf.status} reason={wf.paused_reason} /> : <StatusBadge status="draft" label="new" />}
          {wf && <span class="hint">version {wf.version}</span>}
          {m.dirty.value && <span class="dirty">Unsaved changes</span>}
        </div>
        <IssueList issues={nameIssues} id={`${nameId}-issues`} />
      </div>
      <div class="bar-actions">
        <button type="button" class="btn" disabled={busy !== null} onClick={() => void m.check()}>
          {busy === "checking" ? "Checking…" : "Check"}
        </button>
        <button
          type="button"
          class="btn btn-primary"
          disabled={busy !== null || archived || (!m.dirty.value && wf !== null)}
          aria-describedby={wf?.status === "active" && m.dirty.value ? "live-note" : undefined}
          onClick={() => void m.save()}
        >
          {busy === "saving" ? "Saving…" : wf ? "Save version" : "Save draft"}
        </button>
        {wf &&
          TRANSITIONS[wf.status].map((t) => (
            <button key={t.to} type="button" class={`btn ${t.primary ? "btn-go" : ""}`} disabled={busy !== null} onClick={() => m.setStatus(t.to)}>
              {busy === "status" ? "…" : wf.paused_reason && t.to === "active" ? "Resume" : t.label}
            </button>
          ))}
        {wf && !archived && (
          <button type="button" class="btn btn-danger-ghost" disabled={busy !== null} onClick={() => m.setStatus("archived")}>
            Archive
          </button>
        )}
        <span class="sep" aria-hidden="true" />
        {panelBtn("test", "Test")}
        {panelBtn("preview", "Preview")}
        {panelBtn("versions", "History")}
        {panelBtn("json", "JSON")}
        {wf && (
          <Link href={`/runs?workflow_id=${encodeURIComponent(wf.id)}`} class="btn">
            Runs
          </Link>
        )}
      </div>
    </header>
  );
}

/** Why the engine paused this workflow, and where to see the caps; "Resume" is the toolbar's. */
function PausedNote({ m }: { m: Builder }) {
  const wf = m.data.workflow.value;
  if (wf?.status !== "paused" || !wf.paused_reason) return null;
  return (
    <div class="note note-warn builder-message" role="status">
      <span>
        <strong>Paused by the engine:</strong> {asSentence(wf.paused_reason)} No new runs start until you resume it (Resume, above).
      </span>
      <span class="row-actions">
        <button type="button" class="btn btn-small" onClick={() => m.select("controls")}>
          See the caps
        </button>
      </span>
    </div>
  );
}

function SidePanelView({ m }: { m: Builder }) {
  const panel = m.view.panel.value;
  if (panel === "versions") return <VersionsPanel m={m} />;
  if (panel === "json") return <JsonPanel m={m} />;
  if (panel === "test") return <TestPanel m={m} />;
  if (panel === "preview")
    return (
      <>
        <PreviewPanel m={m} />
        <BackfillPanel m={m} />
      </>
    );
  const sel = m.view.selected.value;
  if (sel === "trigger" || sel === "workflow") return <TriggerPanel m={m} />;
  if (sel === "controls") return <ControlsPanel m={m} />;
  const step = findStep(m.data.draft.value.flow, sel);
  if (!step) return <TriggerPanel m={m} />;
  return <NodePanel key={step.key} m={m} step={step} />;
}

export function BuilderPage({ id }: { id: string | null }) {
  const m = useModel(() => new BuilderModel(id));
  const focusId = m.view.focusId.value;
  useEffect(() => {
    if (!focusId) return;
    const el = document.getElementById(focusId);
    if (el) {
      el.focus();
      el.scrollIntoView({ block: "nearest" });
    }
    m.focus(null);
  }, [focusId]);
  const selected = m.view.selected.value;
  const panel = m.view.panel.value;
  useEffect(() => {
    // A newly opened step or panel starts at its top.
    document.querySelector(".builder .side-panel")?.scrollTo({ top: 0 });
  }, [selected, panel]);
  useEffect(() => {
    const name = m.data.draft.value.name;
    document.title = `${name || "New workflow"} · Builder`;
  });
  if (m.view.loading.value) return <Loading label="Loading the workflow…" />;
  if (m.view.loadError.value)
    return (
      <main class="page">
        <ErrorNote error={m.view.loadError.value} onRetry={() => void m.reload()} />
        <Link href="/">Back to workflows</Link>
      </main>
    );
  const message = m.view.message.value;
  const confirm = m.view.confirm.value;
  return (
    <div class="builder">
      <Toolbar m={m} />
      {message && (
        <div class={`note note-${message.kind} builder-message`} role={message.kind === "error" ? "alert" : "status"}>
          {message.text}
        </div>
      )}
      <PausedNote m={m} />
      {/* Said before saving: an active workflow's new version takes the next event. */}
      {m.data.workflow.value?.status === "active" && m.dirty.value && (
        <div class="note note-warn builder-message" id="live-note" role="status">
          <span>
            <strong>This workflow is active:</strong> saving makes version {m.data.workflow.value.version + 1} live now. Runs already started keep their version.
          </span>
        </div>
      )}
      {m.status.value === "archived" && <div class="note note-info builder-message">This workflow is archived: it can be viewed, tested and exported, but not changed.</div>}
      <div class="builder-main">
        <main class="builder-canvas-wrap" aria-label="Flow">
          <IssueSummary m={m} />
          <BuilderCanvas m={m} />
        </main>
        <aside
          class="side-panel"
          aria-label="Details"
          onKeyDown={(e) => {
            // Escape leaves the form for the step's card (menus and dialogs handle their own Escape).
            if (e.key !== "Escape" || e.defaultPrevented) return;
            const sel = m.view.selected.peek();
            document.getElementById(sel === "trigger" || sel === "workflow" ? "card-trigger" : sel === "controls" ? "card-controls" : `step-${sel}`)?.focus();
          }}
        >
          <fieldset class="bare" disabled={m.readOnly.value && m.view.panel.value === "inspector"}>
            <SidePanelView m={m} />
          </fieldset>
        </aside>
      </div>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.title ?? ""}
        text={confirm?.text ?? ""}
        action={confirm?.action ?? "OK"}
        cancel={confirm?.cancel}
        danger={confirm?.danger}
        onConfirm={() => confirm?.run()}
        onClose={() => m.closeConfirm()}
      />
    </div>
  );
}
