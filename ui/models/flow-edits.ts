/**
 * The builder's edits of the flow: add, remove, move and rename steps, set values. Each edit
 * replaces the draft (unchanged parts keep their identity) and says where focus goes next.
 */
import { batch, type Signal } from "@preact/signals";
import type { NodeInput, NodeType } from "../src/lib/catalog";
import { findStep, freeId, insertStep, moveOptions, moveStep, newKey, removeStep, renameNode, stepsBefore, updateStep, type ChainRef, type Flow, type StepNode } from "../src/lib/flow";
import { setIn, type PathKey } from "../src/lib/util";
import { plural } from "../src/lib/plural";
import { nodeUi } from "../src/nodes";
import type { Confirm, Selection, SidePanel } from "./builder";
import type { Draft } from "./draft";

interface EditView {
  selected: Signal<Selection>;
  panel: Signal<SidePanel>;
  adding: Signal<{ ref: ChainRef; index: number } | null>;
  confirm: Signal<Confirm | null>;
  focusId: Signal<string | null>;
}

export function flowEdits(draft: Signal<Draft>, view: EditView) {
  function editFlow(f: (flow: Flow) => Flow) {
    const d = draft.peek();
    draft.value = { ...d, flow: f(d.flow) };
  }

  return {
    setRoot(path: readonly PathKey[], value: unknown) {
      draft.value = setIn(draft.peek(), path, value);
    },
    setNode(key: string, path: readonly PathKey[], value: unknown) {
      editFlow((flow) => updateStep(flow, key, (s) => ({ ...s, node: setIn(s.node, path, value) as StepNode })));
    },
    renameNode(key: string, id: string) {
      editFlow((flow) => renameNode(flow, key, id));
    },
    openAdd(ref: ChainRef, index: number) {
      view.adding.value = { ref, index };
    },
    closeAdd() {
      view.adding.value = null;
    },
    addStep(ref: ChainRef, index: number, type: NodeType) {
      const flow = draft.peek().flow;
      const ui = nodeUi(type);
      const id = freeId(flow, ui.idBase);
      const key = newKey();
      // Where it lands decides which steps run before it; its default config may read them.
      const probe = insertStep(flow, ref, index, { key, node: { id, type, config: {} } as NodeInput });
      const node = { id, type, config: ui.defaultConfig(stepsBefore(probe, key).map((s) => s.node)) } as NodeInput;
      batch(() => {
        editFlow((f) => insertStep(f, ref, index, { key, node }));
        view.adding.value = null;
        view.selected.value = key;
        view.panel.value = "inspector";
        // Straight into the new step's form: that is what the user does next.
        view.focusId.value = `inspector-${key}`;
      });
    },
    removeStep(key: string) {
      const step = findStep(draft.peek().flow, key);
      if (!step) return;
      const inner = (step.then?.steps.length ?? 0) + (step.else?.steps.length ?? 0);
      const run = () =>
        batch(() => {
          editFlow((f) => removeStep(f, key));
          if (view.selected.peek() === key) view.selected.value = "trigger";
          view.confirm.value = null;
          view.focusId.value = "card-trigger";
        });
      if (inner > 0) {
        view.confirm.value = {
          title: `Remove “${step.node.name || step.node.id}”?`,
          text: `This condition has ${plural(inner, "step")} in its branches; they are removed with it.`,
          action: "Remove condition and branches",
          run,
        };
      } else run();
    },
    moveStep(key: string, dir: -1 | 1) {
      editFlow((f) => moveStep(f, key, dir));
      // Keep focus on the arrow that was pressed, so pressing again keeps moving; if the step
      // cannot move further that way, on the step itself.
      const can = moveOptions(draft.peek().flow, key);
      view.focusId.value = (dir === -1 ? can.up : can.down) ? `move-${dir === -1 ? "up" : "down"}-${key}` : `step-${key}`;
    },
  };
}
