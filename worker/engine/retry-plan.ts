import { reachable, type FlowDefinition, type FlowNode } from "../definition/graph";
import type { RunState, StepState } from "./run-state";
import type { NodeCatalog } from "./step";

/*
 * Retry from a step (SPEC §15), decided without effects: which of the original run's steps a new
 * run reuses as they are, where it starts, and what the original already did outside. The new run
 * follows `target` (the pinned version, or the latest): from its start to `from`, every node must
 * have run in the original as the same type and let the run go on (succeeded, or failed with
 * `on_error: continue`), and a branching node leads on the way the original went. So `from` is a
 * node the original reached; a node only a branch not taken leads to, or one past the step that
 * stopped the run, is refused with the reason.
 */

/** Something the original run did outside that a retry does not undo, nor do again. */
export interface SideEffect {
  node_id: string;
  type: string;
  status: StepState["status"];
  /** Its output in one line: "status: 200", "plan_id: pl_…, created: true". */
  summary: string;
  /** What it added to the run's summary counters. */
  counters: Record<string, number>;
}

export interface RetryPlan {
  from: string;
  /** The original's steps before `from`, in the order they ran, each with a log line saying so. */
  reused: StepState[];
  side_effects: SideEffect[];
}

export type RetryIssue = { path: "from" | "version"; message: string };

/** The step that stopped a run that failed or was cancelled: the last to start among those that failed or were cut off. */
export function stoppedAt(run: RunState): string | undefined {
  const stopped = run.steps.filter((s) => (s.status === "failed" || s.status === "cancelled") && s.started_at !== null);
  stopped.sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
  return stopped.at(-1)?.node_id;
}

export function planRetry(
  original: RunState,
  target: FlowDefinition & { version: number },
  from: string | undefined,
  catalog: NodeCatalog,
  now: Date,
): { ok: true; plan: RetryPlan } | { ok: false; issue: RetryIssue } {
  const refuse = (message: string) => ({ ok: false as const, issue: { path: "from" as const, message } });
  // A completed run stopped nowhere: where to start again is the caller's word.
  const start = from ?? (original.status === "completed" ? undefined : stoppedAt(original));
  if (start === undefined) return refuse(`Run ${original.id} did not fail: name the step to retry from`);
  const nodes = new Map(target.nodes.map((n) => [n.id, n]));
  if (!nodes.has(start)) return refuse(`Version ${target.version} has no node "${start}"`);
  const ran = new Map(original.steps.map((s) => [s.node_id, s]));
  const reused: StepState[] = [];
  const seen = new Set<string>();
  let id: string | undefined = target.start;
  while (id !== start) {
    if (id === undefined || seen.has(id)) return refuse(`The run never reached "${start}": a branch not taken leads to it`);
    seen.add(id);
    const node: FlowNode = nodes.get(id)!;
    const step = ran.get(id);
    if (!step || step.type !== node.type || step.status === "pending") {
      return refuse(`"${id}" comes before "${start}" in version ${target.version}, and the run did not run it${step && step.type !== node.type ? ` as a ${node.type} step` : ""}: retry from "${id}" or before`);
    }
    const goesOn = step.status === "succeeded" || (step.status === "failed" && node.on_error === "continue");
    if (!goesOn) {
      // Stopped here: `start` lies ahead on the way the run went, or on a branch it did not take.
      if (step.status === "skipped" || !reachable(id, nodes).has(start)) return refuse(`The run never reached "${start}": a branch not taken leads to it`);
      return refuse(`"${start}" comes after "${id}", which ${step.status === "failed" ? "failed" : "was cancelled"}: retry from "${id}" or before`);
    }
    reused.push({ ...step, logs: [...step.logs, { at: now.toISOString(), message: `Reused from run ${original.id}: not executed again` }] });
    const module = catalog.node(node.type);
    if (module.kind === "condition" || module.branches === true) {
      const taken = step.status === "succeeded" && (step.output as { result?: unknown } | null)?.result === true;
      id = taken ? node.then : node.else;
    } else {
      id = node.next;
    }
  }
  const side_effects = reused
    .filter((s) => catalog.node(s.type).kind === "action" && s.attempts.length > 0)
    .map((s) => ({
      node_id: s.node_id,
      type: s.type,
      status: s.status,
      summary: outputSummary(s.output),
      counters: s.status === "succeeded" ? pickNumbers(catalog.node(s.type).summary?.summarize(s.output) ?? {}) : {},
    }));
  return { ok: true, plan: { from: start, reused, side_effects } };
}

const pickNumbers = (o: Partial<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === "number" && e[1] !== 0));

/** An output's plain fields in one line, at most 200 characters: lists by their items, objects by name only. */
export function outputSummary(output: unknown): string {
  if (output === null || output === undefined) return "no output";
  if (typeof output !== "object" || Array.isArray(output)) return clip(JSON.stringify(output) ?? "");
  const parts: string[] = [];
  for (const [k, v] of Object.entries(output)) {
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) parts.push(`${k}: ${String(v)}`);
    else if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) parts.push(`${k}: ${v.join(", ")}`);
  }
  return clip(parts.join(", ") || Object.keys(output).join(", "));
}

const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 199)}…` : s);
