import { useEffect, useRef } from "preact/hooks";
import type { StepStatus } from "../../api";
import { findStep, moveOptions, type ChainRef, type FlowStep, type Move } from "../../lib/flow";
import { triggerSummary } from "../../lib/summary";
import { count } from "../../lib/util";
import { cardSummary, NODE_TYPES, nodeUi } from "../../nodes";
import { FlowView } from "../common/flow-view";
import { StatusBadge } from "../common/ui";
import type { Builder } from "./binders";
import { ROOT_KEY } from "../../../models/draft";
import { controlsSummary, describeControls } from "../../../models/controls";

/** Flow control under the trigger: its limits in one line; opens its inspector. */
function ControlsCard({ m }: { m: Builder }) {
  const controls = m.data.draft.value.controls;
  const on = describeControls(controls).length > 0;
  const issues = m.data.issues.value.filter((i) => i.key === "root" && i.rest.startsWith("controls")).length;
  const selected = m.view.selected.value === "controls";
  return (
    <div class={`card controls-card ${on ? "" : "off"} ${selected ? "selected" : ""} ${issues ? "has-issue" : ""}`}>
      <button
        type="button"
        class="card-main"
        id="card-controls"
        aria-pressed={selected}
        onClick={(e) => {
          m.select("controls");
          if (e.detail === 0) m.focus("inspector-controls");
        }}
      >
        <span class="card-type">Flow control</span>
        <span class="card-summary">{controlsSummary(controls)}</span>
        {issues > 0 && <span class="card-issues">{count(issues, "problem")}</span>}
      </button>
    </div>
  );
}

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
  // An empty workflow says what to do first, at the button that does it (and turns red once
  // a check or save asked for it).
  const first = at.kind === "root" && index === 0 && m.data.draft.value.flow.root.steps.length === 0;
  const asked = first && m.data.issues.value.some((i) => i.key === ROOT_KEY && i.rest === "nodes");
  return (
    <div class={`gap-inner ${first ? "gap-first" : ""} ${asked ? "has-issue" : ""}`}>
      <button
        type="button"
        class="add-btn"
        id={first ? "add-first" : undefined}
        aria-expanded={open}
        aria-label={`Add a step here (position ${index + 1}${where})`}
        aria-describedby={first ? "add-first-hint" : undefined}
        title="Add a step"
        onClick={() => (open ? m.closeAdd() : m.openAdd(at, index))}
      >
        +
      </button>
      {first && !open && (
        <p class="gap-hint" id="add-first-hint">
          {asked ? "Add a first step here" : "Add the first step"}
        </p>
      )}
      {open && <AddMenu m={m} at={at} index={index} />}
    </div>
  );
}

const DEFAULT_BRANCHES = { then: "If true", else: "If false" };

/** What an arrow button does, in words: "Move up", "Move into “If true” of “Low stock?”". */
function moveWords(m: Builder, move: Move | null, dir: "up" | "down"): string {
  if (!move || move.kind === "swap") return `Move ${dir}`;
  const cond = findStep(m.data.draft.value.flow, move.condition);
  const name = cond ? cond.node.name || cond.node.id : move.condition;
  const labels = (cond && nodeUi(cond.node.type).branchLabels) || DEFAULT_BRANCHES;
  if (move.kind === "enter") return `Move into “${labels.then}” of “${name}”`;
  if (move.kind === "cross") return `Move to “${labels[move.to]}” of “${name}”`;
  return `Move out of “${labels.then}”, above “${name}”`;
}

function StepCard({ m, step, status }: { m: Builder; step: FlowStep; status: StepStatus | undefined }) {
  const selected = m.view.selected.value === step.key;
  const issues = m.data.issues.value.filter((i) => i.key === step.key).length;
  const warned = issues ? 0 : m.data.warnings.value.filter((i) => i.key === step.key).length;
  const moves = moveOptions(m.data.draft.value.flow, step.key);
  const up = moveWords(m, moves.up, "up");
  const down = moveWords(m, moves.down, "down");
  const title = step.node.name || step.node.id;
  const ui = nodeUi(step.node.type);
  return (
    <div class={`card step-card ${selected ? "selected" : ""} ${issues ? "has-issue" : warned ? "has-warning" : ""}`} style={{ "--type": ui.colour }} data-node-id={step.node.id}>
      <button
        type="button"
        class="card-main"
        id={`step-${step.key}`}
        aria-pressed={selected}
        title={step.node.name ? `${step.node.name} (${step.node.id})` : step.node.id}
        onClick={(e) => {
          m.select(step.key);
          // Chosen by keyboard (detail 0): go on into its form; Escape there comes back here.
          if (e.detail === 0) m.focus(`inspector-${step.key}`);
        }}
      >
        {/* The test status sits in the card's top line, clear of the move buttons beside it. */}
        <span class="card-head">
          <span class="card-type">{ui.label}</span>
          {step.node.name && <code class="card-id">{step.node.id}</code>}
          {status && <StatusBadge status={status} label={`test: ${status}`} />}
        </span>
        <span class="card-title">{title}</span>
        <span class="card-summary">{cardSummary(step.node)}</span>
        {issues > 0 && <span class="card-issues">{count(issues, "problem")}</span>}
        {warned > 0 && <span class="card-issues card-warnings">{count(warned, "warning")}</span>}
      </button>
      {!m.readOnly.value && (
        <div class="card-tools">
          <button type="button" class="btn btn-icon" id={`move-up-${step.key}`} aria-label={`${up}: ${title}`} title={up} disabled={!moves.up} onClick={() => m.moveStep(step.key, -1)}>
            ↑
          </button>
          <button type="button" class="btn btn-icon" id={`move-down-${step.key}`} aria-label={`${down}: ${title}`} title={down} disabled={!moves.down} onClick={() => m.moveStep(step.key, 1)}>
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
          <>
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
            <div class="head-link" aria-hidden="true" />
            <ControlsCard m={m} />
          </>
        }
        renderStep={(step) => <StepCard m={m} step={step} status={statuses.get(step.node.id)} />}
        renderGap={m.readOnly.value ? undefined : (at, index) => <Gap m={m} at={at} index={index} />}
        endLabel="End of workflow"
      />
    </div>
  );
}
