/** The inspector of a step: its id and label, its type's own form, and what happens when it fails. */
import { useState } from "preact/hooks";
import { allSteps, type FlowStep } from "../../lib/flow";
import { nodeUi } from "../../nodes";
import { FieldShell, GroupIssues, TextField, fieldId, type Binder } from "../common/fields";
import { Inspector } from "../common/ui";
import { nodeBinder, type Builder } from "./binders";
import { NodeSettings } from "./parts";

const NODE_ID = /^[a-z][a-z0-9_]{0,63}$/;

/** The id field renames on commit (Enter or leaving the field) and rewrites references to it. */
function NodeIdField({ m, step, b }: { m: Builder; step: FlowStep; b: Binder }) {
  const [text, setText] = useState(step.node.id);
  const [error, setError] = useState<string | null>(null);
  const id = fieldId(b, ["id"]);
  const commit = () => {
    if (text === step.node.id) return;
    if (!NODE_ID.test(text)) {
      setError("Use 1–64 characters: a lowercase letter, then lowercase letters, digits or _");
      b.localError(id, "Step id: use a lowercase letter, then lowercase letters, digits or _");
      return;
    }
    if (allSteps(m.data.draft.peek().flow).some((s) => s.node.id === text && s.key !== step.key)) {
      setError(`Another step already has the id “${text}”`);
      b.localError(id, `Step id “${text}” is already used`);
      return;
    }
    setError(null);
    b.localError(id, null);
    m.renameNode(step.key, text);
  };
  return (
    <FieldShell b={b} path={["id"]} label="Step id" local={error} hint="Used in variables: {{steps.<id>.output…}}. Renaming updates references.">
      {(a) => (
        <input
          {...a}
          class="mono"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onChange={commit}
          onKeyDown={(e) => {
            if (e.key === "Enter") commit();
          }}
        />
      )}
    </FieldShell>
  );
}

export function NodePanel({ m, step }: { m: Builder; step: FlowStep }) {
  const b = nodeBinder(m, step);
  const ui = nodeUi(step.node.type);
  return (
    <Inspector
      eyebrow={ui.label}
      title={
        step.node.name ? (
          <>
            {step.node.name} <code class="title-id">{step.node.id}</code>
          </>
        ) : (
          step.node.id
        )
      }
      titleId={`inspector-${step.key}`}
      focusable
      hint={ui.hint}
      actions={
        <button type="button" class="btn btn-danger-ghost" onClick={() => m.removeStep(step.key)}>
          Remove step
        </button>
      }
    >
      <GroupIssues b={b} path={[]} />
      <div class="grid-2">
        <NodeIdField key={step.node.id} m={m} step={step} b={b} />
        <TextField b={b} path={["name"]} label="Label (optional)" optional placeholder={`e.g. ${ui.label}`} hint="Shown on the card and in the run; the id when empty." />
      </div>
      <ui.Form b={b} m={m} />
      <NodeSettings b={b} action={ui.action} />
    </Inspector>
  );
}
