import { z } from "zod";
import { evaluateGroup, type ConditionOp } from "../definition/conditions";
import { utcDate } from "../definition/date-spec";
import type { FlowDefinition } from "../definition/graph";
import { interpolate, type Scope } from "../definition/interpolate";
import type { Trigger } from "../definition/trigger";
import type { NodeCatalog, PreviewContext, PreviewImpact } from "./step";

/*
 * The preview walker (SPEC §13): a workflow run on one trigger with no effect outside. Beside the
 * run machine, and as pure as it: it uses the modules' `decide` (conditions take their branch),
 * `until` (waits are reported, never slept: the preview's clock jumps to the wake time, so that
 * later dates resolve as they would) and `resolve` + `preview` (actions show what they would do
 * and give a plausible output that later steps read as `steps.<id>.output`). What it may read
 * comes in the context, which holds read ports only.
 */

export type PreviewStepStatus = "would_run" | "skipped" | "would_fail";

export interface PreviewStep {
  node_id: string;
  type: string;
  status: PreviewStepStatus;
  input: unknown;
  preview: unknown;
  error: string | null;
}

export interface RunPreview {
  steps: PreviewStep[];
  impact: PreviewImpact;
}

export const zeroImpact = (): PreviewImpact => ({ emails: 0, pushes: 0, webhooks: 0, discount_codes: 0, plan_lines: 0, units: 0, cost_value: 0, retail_value: 0 });

/** Adds `delta` into `sum` (money to the cent). */
export function addImpact(sum: PreviewImpact, delta: Partial<PreviewImpact>): void {
  for (const key of Object.keys(sum) as (keyof PreviewImpact)[]) {
    const v = delta[key];
    if (typeof v === "number" && Number.isFinite(v)) sum[key] = Math.round((sum[key] + v) * 100) / 100;
  }
}

/** What a preview reads (read ports only) and what its scope shows as the workflow. */
export type PreviewRunContext = Omit<PreviewContext, "trigger" | "steps"> & { workflow: Scope["workflow"] };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Walks the definition from its start on `trigger`. Every node on the path taken is `would_run`
 * or `would_fail`; every other node is `skipped`. A step that would fail stops the walk, unless
 * its node goes on after an error (`on_error: continue`; a condition then takes `else`). Steps
 * come in the order they would run, then the skipped ones in definition order.
 */
export async function previewRun(def: FlowDefinition, trigger: Scope["trigger"], catalog: NodeCatalog, ctx: PreviewRunContext): Promise<RunPreview> {
  const nodes = new Map(def.nodes.map((n) => [n.id, n]));
  const steps: Scope["steps"] = {};
  const out: PreviewStep[] = [];
  const impact = zeroImpact();
  let now = ctx.now;
  let id: string | undefined = def.start;
  const seen = new Set<string>();
  while (id !== undefined && !seen.has(id)) {
    seen.add(id);
    const node = nodes.get(id);
    if (!node) break;
    const module = catalog.node(node.type);
    const scope: Scope = { trigger, steps, workflow: ctx.workflow, run: { id: "preview" }, now: now.toISOString(), today: utcDate(now) };
    const step: PreviewStep = { node_id: id, type: node.type, status: "would_run", input: null, preview: null, error: null };
    out.push(step);
    const failed = (error: string) => {
      step.status = "would_fail";
      step.error = error;
    };
    if (module.kind === "condition") {
      try {
        const d = module.decide(node.config, scope);
        const output = { result: d.result, branch: d.result ? "then" : "else" };
        step.input = d.input;
        step.preview = output;
        steps[id] = { output };
        id = d.result ? node.then : node.else;
      } catch (err) {
        failed(message(err));
        id = node.on_error === "continue" ? node.else : undefined;
      }
      continue;
    }
    if (module.kind === "wait") {
      try {
        const until = module.until(node.config, scope, now);
        const iso = new Date(until).toISOString();
        step.input = { until: iso };
        const shown = await module.preview(step.input, { ...ctx, now, trigger, steps });
        step.preview = shown.previewable ? shown.output : { until: iso };
        steps[id] = { output: { waited_until: iso } };
        if (until > now.getTime()) now = new Date(until);
        id = node.next;
      } catch (err) {
        failed(message(err));
        id = node.on_error === "continue" ? node.next : undefined;
      }
      continue;
    }
    try {
      step.input = module.resolve ? module.resolve(node.config, scope, now) : interpolate(node.config, scope);
      const shown = await module.preview(step.input, { ...ctx, now, trigger, steps });
      if (!shown.previewable) {
        step.preview = { previewable: false, reason: shown.reason };
      } else {
        step.preview = shown.output;
        if (shown.error !== undefined) failed(shown.error);
        else {
          addImpact(impact, shown.impact ?? {});
          steps[id] = { output: shown.stepOutput ?? shown.output };
        }
      }
    } catch (err) {
      failed(step.input === null ? `Could not prepare the input: ${message(err)}` : message(err));
    }
    // An action that branches (an approval) follows the branch its previewed output takes; without one, `else`.
    const taken = z.object({ result: z.literal(true) }).safeParse(steps[node.id]?.output).success;
    const next = module.branches === true ? (taken ? node.then : node.else) : node.next;
    id = step.status === "would_fail" && node.on_error !== "continue" ? undefined : next;
  }
  for (const node of def.nodes) {
    if (!seen.has(node.id)) out.push({ node_id: node.id, type: node.type, status: "skipped", input: null, preview: null, error: null });
  }
  return { steps: out, impact };
}

// ---------------------------------------------------------------- the trigger, explained

const OP_TEXT: Record<ConditionOp, string> = {
  eq: "=",
  ne: "≠",
  lt: "<",
  lte: "≤",
  gt: ">",
  gte: "≥",
  in: "in",
  not_in: "not in",
  contains: "contains",
  not_contains: "does not contain",
  exists: "exists",
  not_exists: "does not exist",
};

/** An operand as a reason names it: a reference by its last segment (`{{trigger.data.on_hand}}` → on_hand), a value as JSON. */
function operandName(operand: unknown): string {
  if (typeof operand === "string") {
    const ref = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(operand);
    if (ref) return ref[1]!.split(".").at(-1)!;
  }
  return JSON.stringify(operand) ?? "null";
}

const valueText = (v: unknown) => (typeof v === "string" ? v : (JSON.stringify(v) ?? "missing"));

/**
 * Whether an event would start a run, with the reasons a merchant reads ("tag sneakers",
 * "on_hand 2 < 5"): the same rules as engine/trigger-match.ts (entity, event kind, tags, then
 * conditions under the missing-value rule), each step of the decision said in words. A reason
 * that does not hold starts with "not:".
 */
export function explainTrigger(trigger: Trigger, event: { entity: string; kind: string; tags: readonly string[]; scope: Scope }): { matches: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let matches = true;
  const say = (holds: boolean, text: string) => {
    reasons.push(holds ? text : `not: ${text}`);
    if (!holds) matches = false;
  };
  say(trigger.entity === event.entity, `entity ${trigger.entity}${trigger.entity === event.entity ? "" : ` (the event is about a ${event.entity})`}`);
  say((trigger.events as string[]).includes(event.kind), `event ${event.kind}${(trigger.events as string[]).includes(event.kind) ? "" : ` (the trigger listens to ${trigger.events.join(", ")})`}`);
  const have = new Set(event.tags);
  for (const t of trigger.tags.exclude) say(!have.has(t), `no tag ${t}`);
  const include = trigger.tags.include;
  if (include.length > 0) {
    const held = include.filter((t) => have.has(t));
    const ok = trigger.tags.match === "all" ? held.length === include.length : held.length > 0;
    if (ok) for (const t of held) reasons.push(`tag ${t}`);
    else say(false, `tag ${trigger.tags.match === "all" ? include.join(" and ") : include.join(" or ")}`);
  }
  if (trigger.conditions) {
    try {
      const group = trigger.conditions;
      const evaluated = evaluateGroup(group, (operand, missingOk) => interpolate(operand, event.scope, { missingOk }));
      const text = (c: { left: unknown; op: ConditionOp; right?: unknown; result: boolean; missing?: unknown }, source: { left: unknown }) =>
        `${operandName(source.left)} ${c.missing ? "missing" : valueText(c.left)} ${OP_TEXT[c.op]}${"right" in c ? ` ${valueText(c.right)}` : ""}`;
      evaluated.all.forEach((c, i) => say(c.result, text(c, group.all![i]!)));
      if (evaluated.any.length > 0) {
        const anyHolds = evaluated.any.some((c) => c.result);
        evaluated.any.forEach((c, i) => {
          if (c.result || !anyHolds) reasons.push(`${c.result ? "" : "not: "}${text(c, group.any![i]!)}`);
        });
        if (!anyHolds) matches = false;
      }
    } catch (err) {
      say(false, `the conditions cannot be evaluated: ${message(err)}`);
    }
  }
  return { matches, reasons };
}
