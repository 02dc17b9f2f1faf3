import type { BuilderModel } from "../../../models/builder";
import { ROOT_KEY, type PlacedIssue } from "../../../models/draft";
import { ENTITY_FIELDS, humanize, RELATED_KINDS, type TriggerInput } from "../../lib/catalog";
import { stepsBefore, type FlowStep } from "../../lib/flow";
import { getIn, type PathKey } from "../../lib/util";
import { nodeUi } from "../../nodes";
import type { Binder, VarGroup } from "../common/fields";

export type Builder = InstanceType<typeof BuilderModel>;

function issuesAt(list: PlacedIssue[], path: readonly PathKey[], exact = false): string[] {
  const p = path.join(".");
  return list.filter((i) => (exact ? i.rest === p : i.rest === p || i.rest.startsWith(`${p}.`))).map((i) => i.message);
}

/**
 * Variables a template may use: the trigger entity's fields, the entities it points to
 * (trigger.related, SPEC §11) with their fields, then the event, the workflow and the time.
 */
export function triggerVars(t: TriggerInput, inTrigger: boolean): VarGroup[] {
  const fields = ["id", "tags", ...ENTITY_FIELDS[t.entity]];
  const related: VarGroup[] = RELATED_KINDS[t.entity].map((kind) => ({
    // A subscription that names no shop waits in every shop: it has no related shop.
    label: `Its ${humanize(kind)} (trigger.related.${kind})${t.entity === "subscription" && kind === "shop" ? ", when it names one" : ""}`,
    items: ["id", "tags", ...ENTITY_FIELDS[kind]].map((f) => ({ path: `trigger.related.${kind}.${f}` })),
  }));
  const groups: VarGroup[] = [
    { label: `The ${humanize(t.entity)} (trigger.data)`, items: fields.map((f) => ({ path: `trigger.data.${f}` })) },
    ...related,
    { label: "Before the change (trigger.previous)", items: fields.map((f) => ({ path: `trigger.previous.${f}` })) },
    {
      label: "The event",
      items: [
        { path: "trigger.type", hint: "e.g. inventory_item.updated" },
        { path: "trigger.entity_id" },
        { path: "trigger.occurred_at" },
        { path: "trigger.id", hint: "event id" },
      ],
    },
    {
      label: "Workflow and time",
      items: [
        { path: "workflow.name" },
        { path: "workflow.id" },
        { path: "workflow.version" },
        ...(inTrigger ? [] : [{ path: "run.id" }]),
        { path: "today", hint: "YYYY-MM-DD (UTC)" },
        { path: "now", hint: "ISO timestamp" },
      ],
    },
  ];
  return groups;
}

export function stepVars(m: Builder, key: string): VarGroup[] {
  const draft = m.data.draft.value;
  const earlier = stepsBefore(draft.flow, key).filter((s) => nodeUi(s.node.type).outputs.length > 0);
  const steps: VarGroup[] = earlier.reverse().map((s) => ({
    label: `Step “${s.node.name || s.node.id}” output`,
    items: nodeUi(s.node.type).outputs.map((f) => ({ path: `steps.${s.node.id}.output.${f}` })),
  }));
  return [...steps, ...triggerVars(draft.trigger, false)];
}

export function rootBinder(m: Builder): Binder {
  return {
    prefix: "f-root",
    get: (path) => getIn(m.data.draft.value, path),
    set: (path, v) => m.setRoot(path, v),
    issues: (path, exact) => issuesAt(m.data.issues.value.filter((i) => i.key === ROOT_KEY), path, exact),
    warnings: (path, exact) => issuesAt(m.data.warnings.value.filter((i) => i.key === ROOT_KEY), path, exact),
    vars: triggerVars(m.data.draft.value.trigger, true),
    localError: (id, msg) => m.setLocalError(id, msg),
  };
}

export function nodeBinder(m: Builder, step: FlowStep): Binder {
  return {
    prefix: `f-${step.key}`,
    get: (path) => getIn(step.node, path),
    set: (path, v) => m.setNode(step.key, path, v),
    issues: (path, exact) => issuesAt(m.data.issues.value.filter((i) => i.key === step.key), path, exact),
    warnings: (path, exact) => issuesAt(m.data.warnings.value.filter((i) => i.key === step.key), path, exact),
    vars: stepVars(m, step.key),
    localError: (id, msg) => m.setLocalError(id, msg),
  };
}
