import { useEffect, useRef } from "preact/hooks";
import type { StepStatus } from "../../api";
import { moveOptions, type ChainRef, type FlowStep } from "../../lib/flow";
import { triggerSummary } from "../../lib/summary";
import { count } from "../../lib/util";
import { cardSummary, NODE_TYPES, nodeUi } from "../../nodes";
import { FlowView } from "../common/flow-view";
import { StatusBadge } from "../common/ui";
import type { Builder } from "./binders";

const sameRef = (a: ChainRef, b: ChainRef) => JSON.stringify(a) === JSON.stringify(b);

function AddMenu({ m, at, index }: { m: Builder; at: ChainRef; index: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector("button")?.focus();
  }, []);
  return (
    <div
      class="add-menu"
      ref={ref}
      role="group"
      aria-label="Choose a step to add"
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          m.closeAdd();
        }
      }}
    >
      <p class="add-menu-title">Add a step</p>
      <div class="add-grid">
        {NODE_TYPES.map((t) => (
          <button key={t} type="button" class="add-choice" style={{ "--type": nodeUi(t).colour }} onClick={() => m.addStep(at, index, t)}>
            <strong>{nodeUi(t).label}</strong>
            <span>{nodeUi(t).hint}</span>
          </button>
        ))}
      </div>
      <button type="button" class="btn btn-small" onClick={() => m.closeAdd()}>
        Cancel
      </button>
    </div>
  );
}

function Gap({ m, at, index }: { m: Builder; at: ChainRef; index: number }) {
  const adding = m.view.adding.value;
  const open = adding !== null && adding.index === index && sameRef(adding.ref, at);
  const where = at.kind === "branch" ? ` in the “${at.branch === "then" ? "if true" : "if false"}” branch` : "";
  return (
    <div class="gap-inner">
      <button type="button" class="add-btn" aria-expanded={open} aria-label={`Add a step here (position ${index + 1}${where})`} title="Add a step" onClick={() => (open ? m.closeAdd() : m.openAdd(at, index))}>
        +
      </button>
      {open && <AddMenu m={m} at={at} index={index} />}
    </div>
  );
}

function StepCard({ m, step, status }: { m: Builder; step: FlowStep; status: StepStatus | undefined }) {
  const selected = m.view.selected.value === step.key;
  const issues = m.data.issues.value.filter((i) => i.key === step.key).length;
  const warned = issues ? 0 : m.data.warnings.value.filter((i) => i.key === step.key).length;
  const moves = moveOptions(m.data.draft.value.flow, step.key);
  const title = step.node.name || step.node.id;
  const ui = nodeUi(step.node.type);
  return (
    <div class={`card step-card ${selected ? "selected" : ""} ${issues ? "has-issue" : warned ? "has-warning" : ""}`} style={{ "--type": ui.colour }} data-node-id={step.node.id}>
      <button
        type="button"
        class="card-main"
        id={`step-${step.key}`}
        aria-pressed={selected}
        onClick={(e) => {
          m.select(step.key);
          // Chosen by keyboard (detail 0): go on into its form; Escape there comes back here.
          if (e.detail === 0) m.focus(`inspector-${step.key}`);
        }}
      >
        <span class="card-type">{ui.label}</span>
        <span class="card-title">
          {title}
          {step.node.name && <code class="card-id">{step.node.id}</code>}
        </span>
        <span class="card-summary">{cardSummary(step.node)}</span>
        {issues > 0 && <span class="card-issues">{count(issues, "problem")}</span>}
        {warned > 0 && <span class="card-issues card-warnings">{count(warned, "warning")}</span>}
      </button>
      {status && (
        <span class="card-status">
          <StatusBadge status={status} label={`test: ${status}`} />
        </span>
      )}
      {!m.readOnly.value && (
      <div class="card-tools">
        <button type="button" class="btn btn-icon" id={`move-up-${step.key}`} aria-label={`Move ${title} up`} title="Move up" disabled={!moves.up} onClick={() => m.moveStep(step.key, -1)}>
          ↑
        </button>
        <button type="button" class="btn btn-icon" id={`move-down-${step.key}`} aria-label={`Move ${title} down`} title="Move down" disabled={!moves.down} onClick={() => m.moveStep(step.key, 1)}>
          ↓
        </button>
        <button type="button" class="btn btn-icon" aria-label={`Remove ${title}`} title="Remove" onClick={() => m.removeStep(step.key)}>
          ×
        </button>
      </div>
      )}
    </div>
  );
}

export function BuilderCanvas({ m }: { m: Builder }) {
  const draft = m.data.draft.value;
  const run = m.test.data.run.value;
  const statuses = new Map(run ? run.steps.map((s) => [s.node_id, s.status]) : []);
  const triggerIssues = m.data.issues.value.filter((i) => i.key === "root" && i.rest.startsWith("trigger")).length;
  const triggerWarned = triggerIssues ? 0 : m.data.warnings.value.filter((i) => i.key === "root" && i.rest.startsWith("trigger")).length;
  const selected = m.view.selected.value === "trigger";
  return (
    <div class="canvas" aria-label="Workflow steps">
      <FlowView
        flow={draft.flow}
        head={
          <div class={`card trigger-card ${selected ? "selected" : ""} ${triggerIssues ? "has-issue" : triggerWarned ? "has-warning" : ""}`}>
            <button
              type="button"
              class="card-main"
              id="card-trigger"
              aria-pressed={selected}
              onClick={(e) => {
                m.select("trigger");
                if (e.detail === 0) m.focus("inspector-trigger");
              }}
            >
              <span class="card-type">Trigger</span>
              <span class="card-title">{draft.trigger.entity.replaceAll("_", " ")}</span>
              <span class="card-summary">{triggerSummary(draft.trigger)}</span>
              {triggerIssues > 0 && <span class="card-issues">{count(triggerIssues, "problem")}</span>}
              {triggerWarned > 0 && <span class="card-issues card-warnings">{count(triggerWarned, "warning")}</span>}
            </button>
          </div>
        }
        renderStep={(step) => <StepCard m={m} step={step} status={statuses.get(step.node.id)} />}
        renderGap={m.readOnly.value ? undefined : (at, index) => <Gap m={m} at={at} index={index} />}
        endLabel="End of workflow"
      />
    </div>
  );
}
