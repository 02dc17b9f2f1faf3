import type { Issue } from "../lib/issues";
import type { RetryPolicy } from "./common";
import { checkPath, collectReferences, parsePath } from "./interpolate";

/**
 * A node as the graph rules and the engine see it, whatever its type: the schema of each type
 * (worker/contract/definition.ts, built from the node registry) gives a branching node `then` and
 * `else`, every other node `next`.
 */
export interface FlowNode {
  id: string;
  type: string;
  config: unknown;
  next?: string | undefined;
  then?: string | undefined;
  else?: string | undefined;
  retry?: RetryPolicy | undefined;
  timeout_ms?: number | undefined;
  on_error: "fail" | "continue";
}

/** A definition as the graph rules and the engine see it. */
export interface FlowDefinition {
  name: string;
  trigger: { conditions?: unknown };
  start: string;
  nodes: readonly FlowNode[];
}

/** The nodes a node may go to next, with the key that names each. */
export function successors(node: FlowNode): { key: "next" | "then" | "else"; id: string }[] {
  const out: { key: "next" | "then" | "else"; id: string }[] = [];
  if (node.then) out.push({ key: "then", id: node.then });
  if (node.else) out.push({ key: "else", id: node.else });
  if (node.next) out.push({ key: "next", id: node.next });
  return out;
}

/** Nodes reachable from `from`, itself included; ids that name no node are left out. */
export function reachable(from: string | undefined, byId: ReadonlyMap<string, FlowNode>): Set<string> {
  const seen = new Set<string>();
  const stack = from ? [from] : [];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id) || !byId.has(id)) continue;
    seen.add(id);
    for (const s of successors(byId.get(id)!)) stack.push(s.id);
  }
  return seen;
}

/**
 * Graph rules of SPEC §7 on a definition that already passed the schema: unique ids, every
 * reference names a node, no cycle, every node reachable from `start`, and every `{{path}}`
 * can resolve (`steps.x` only for a node that runs before). `localRoots` names the roots a node's
 * config may use besides the run's (its module's `localRoots`).
 */
export function graphIssues(def: FlowDefinition, localRoots: (node: FlowNode) => readonly string[] = () => []): Issue[] {
  const issues: Issue[] = [];
  const index = new Map<string, number>();
  def.nodes.forEach((node, i) => {
    const first = index.get(node.id);
    if (first !== undefined) {
      issues.push({ path: `nodes.${i}.id`, message: `Node id "${node.id}" is already used by nodes.${first}` });
    } else {
      index.set(node.id, i);
    }
  });

  if (!index.has(def.start)) {
    issues.push({ path: "start", message: `No node has the id "${def.start}"` });
  }
  def.nodes.forEach((node, i) => {
    for (const s of successors(node)) {
      if (s.id === node.id) issues.push({ path: `nodes.${i}.${s.key}`, message: "A node cannot lead to itself" });
      else if (!index.has(s.id)) issues.push({ path: `nodes.${i}.${s.key}`, message: `No node has the id "${s.id}"` });
    }
  });
  if (issues.length > 0) return issues;

  const byId = new Map(def.nodes.map((n) => [n.id, n]));
  const cycle = findCycle(def.start, byId);
  if (cycle) {
    const [from, key] = cycle.edge;
    issues.push({
      path: `nodes.${index.get(from)}.${key}`,
      message: `This makes a loop: ${cycle.path.join(" → ")}; a workflow must not come back to a node`,
    });
    return issues;
  }

  const reached = reachable(def.start, byId);
  def.nodes.forEach((node, i) => {
    if (!reached.has(node.id)) {
      issues.push({ path: `nodes.${i}`, message: `Node "${node.id}" cannot be reached from the start node` });
    }
  });

  // Cycles among unreachable nodes are reported as unreachable; ancestors only need the reachable part.
  const ancestors = ancestorSets(def.start, byId);
  def.nodes.forEach((node, i) => {
    for (const ref of collectReferences(node.config, ["config"])) {
      const at = `nodes.${i}.${ref.at.join(".")}`;
      const problem = checkPath(ref.path, localRoots(node));
      if (problem) {
        issues.push({ path: at, message: problem });
        continue;
      }
      const parts = parsePath(ref.path)!;
      if (parts[0] !== "steps") continue;
      const step = parts[1]!;
      if (!byId.has(step)) issues.push({ path: at, message: `"{{${ref.path}}}": no node has the id "${step}"` });
      else if (step === node.id) issues.push({ path: at, message: `"{{${ref.path}}}": a node cannot use its own output` });
      else if (reached.has(node.id) && !ancestors.get(node.id)?.has(step)) {
        issues.push({ path: at, message: `"{{${ref.path}}}": "${step}" does not run before "${node.id}"` });
      }
    }
  });
  for (const ref of collectReferences(def.trigger.conditions ?? {}, ["trigger", "conditions"])) {
    const at = ref.at.join(".");
    const problem = checkPath(ref.path);
    if (problem) issues.push({ path: at, message: problem });
    else if (ref.path.startsWith("steps") || ref.path.startsWith("run")) {
      issues.push({ path: at, message: `"{{${ref.path}}}": a trigger condition can only use trigger, workflow, now and today` });
    }
  }
  return issues;
}

function findCycle(
  start: string,
  byId: Map<string, FlowNode>,
): { path: string[]; edge: [string, string] } | undefined {
  const state = new Map<string, "open" | "done">();
  const trail: string[] = [];
  const visit = (id: string): { path: string[]; edge: [string, string] } | undefined => {
    state.set(id, "open");
    trail.push(id);
    for (const s of successors(byId.get(id)!)) {
      const seen = state.get(s.id);
      if (seen === "open") {
        return { path: [...trail.slice(trail.indexOf(s.id)), s.id], edge: [id, s.key] };
      }
      if (seen === undefined) {
        const found = visit(s.id);
        if (found) return found;
      }
    }
    trail.pop();
    state.set(id, "done");
    return undefined;
  };
  // Every node is visited from start as well as on its own, so loops off the main path are found too.
  return visit(start) ?? [...byId.keys()].reduce<ReturnType<typeof visit>>((found, id) => found ?? (state.has(id) ? undefined : visit(id)), undefined);
}

/** For every node reachable from start, the nodes that may have run before it. */
function ancestorSets(start: string, byId: Map<string, FlowNode>): Map<string, Set<string>> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const s of successors(byId.get(id)!)) visit(s.id);
    order.push(id);
  };
  visit(start);
  order.reverse(); // topological order
  const result = new Map<string, Set<string>>(order.map((id) => [id, new Set<string>()]));
  for (const id of order) {
    const mine = result.get(id)!;
    for (const s of successors(byId.get(id)!)) {
      const theirs = result.get(s.id)!;
      theirs.add(id);
      for (const a of mine) theirs.add(a);
    }
  }
  return result;
}
