/**
 * The builder's picture of a definition: a chain of steps under the trigger, where a condition
 * ends its chain and carries two branch chains. A definition's graph may also join (two paths
 * leading to the same node); the second arrival becomes a `goto` at the end of a chain, so every
 * definition round-trips. Pure functions; the builder model holds the Flow in a signal.
 */
import type { DefinitionInput } from "../api";
import { nodeUi } from "../nodes";
import type { NodeInput } from "./catalog";
import * as moves from "./flow-moves";
import type { Move, MoveOptions } from "./flow-moves";
export type { Move, MoveOptions };

/** A node without its links; links come from where the step sits. */
export type StepNode = NodeInput;

export interface FlowStep {
  /** Stable while the user renames the node id; keys the UI and maps API issues back. */
  key: string;
  node: StepNode;
  /** Present on conditions only. */
  then?: Chain;
  else?: Chain;
}

export interface Chain {
  steps: FlowStep[];
  /** The node this chain continues at when that node sits elsewhere (a join), or a dangling id. */
  goto?: string | undefined;
}

export interface Flow {
  root: Chain;
  /** Nodes no path from `start` reaches (possible in imported JSON); kept so nothing is lost. */
  detached: Chain[];
}

export type ChainRef = { kind: "root" } | { kind: "branch"; key: string; branch: "then" | "else" } | { kind: "detached"; index: number };
export const ROOT: ChainRef = { kind: "root" };

let counter = 0;
export const newKey = () => `k${++counter}`;

type Links = { next?: string; then?: string; else?: string };

/** A node that ends its chain with two branch chains (a condition) instead of a `next`. */
export const branches = (node: NodeInput) => nodeUi(node.type).branches === true;

function stripLinks(node: NodeInput): StepNode {
  const copy = { ...node } as NodeInput & Links;
  delete copy.next;
  delete copy.then;
  delete copy.else;
  return copy;
}

export function fromDefinition(def: Pick<DefinitionInput, "start" | "nodes">): Flow {
  const nodes = Array.isArray(def.nodes) ? def.nodes : [];
  const byId = new Map(nodes.map((n) => [n.id, n as NodeInput & Links]));
  const placed = new Set<string>();
  const build = (startId: string | undefined): Chain => {
    const steps: FlowStep[] = [];
    let id = startId;
    while (id !== undefined && id !== "") {
      const node = byId.get(id);
      if (!node || placed.has(id)) return { steps, goto: id };
      placed.add(id);
      if (branches(node)) {
        steps.push({ key: newKey(), node: stripLinks(node), then: build(node.then), else: build(node.else) });
        return { steps };
      }
      steps.push({ key: newKey(), node: stripLinks(node) });
      id = node.next;
    }
    return { steps };
  };
  const root = build(def.start);
  const detached: Chain[] = [];
  for (const n of nodes) if (!placed.has(n.id)) detached.push(build(n.id));
  return { root, detached };
}

export const firstId = (chain: Chain): string | undefined => chain.steps[0]?.node.id ?? chain.goto;

/** The definition's `start` and `nodes`, and for each index of `nodes` the key of its step. */
export function toNodes(flow: Flow): { start: string; nodes: NodeInput[]; keys: string[] } {
  const nodes: NodeInput[] = [];
  const keys: string[] = [];
  const emit = (chain: Chain) => {
    chain.steps.forEach((step, i) => {
      keys.push(step.key);
      if (branches(step.node)) {
        const then = step.then ? firstId(step.then) : undefined;
        const otherwise = step.else ? firstId(step.else) : undefined;
        nodes.push({ ...step.node, ...(then ? { then } : {}), ...(otherwise ? { else: otherwise } : {}) });
        if (step.then) emit(step.then);
        if (step.else) emit(step.else);
      } else {
        const next = i + 1 < chain.steps.length ? chain.steps[i + 1]!.node.id : chain.goto;
        nodes.push({ ...step.node, ...(next ? { next } : {}) } as NodeInput);
      }
    });
  };
  emit(flow.root);
  flow.detached.forEach(emit);
  return { start: firstId(flow.root) ?? "", nodes, keys };
}

// ---- walking and editing (immutable: unchanged parts keep their identity) ----

function mapChain(chain: Chain, ref: ChainRef, f: (c: Chain, ref: ChainRef) => Chain): Chain {
  let changed = false;
  const steps = chain.steps.map((s) => {
    if (!s.then && !s.else) return s;
    const then = s.then ? mapChain(s.then, { kind: "branch", key: s.key, branch: "then" }, f) : undefined;
    const otherwise = s.else ? mapChain(s.else, { kind: "branch", key: s.key, branch: "else" }, f) : undefined;
    if (then === s.then && otherwise === s.else) return s;
    changed = true;
    return { ...s, then, else: otherwise };
  });
  return f(changed ? { ...chain, steps } : chain, ref);
}

export function mapChains(flow: Flow, f: (c: Chain, ref: ChainRef) => Chain): Flow {
  const root = mapChain(flow.root, ROOT, f);
  let changed = root !== flow.root;
  const detached = flow.detached.map((c, index) => {
    const m = mapChain(c, { kind: "detached", index }, f);
    if (m !== c) changed = true;
    return m;
  });
  return changed ? { root, detached } : flow;
}

const sameRef = (a: ChainRef, b: ChainRef) =>
  a.kind === b.kind &&
  (a.kind !== "branch" || (b.kind === "branch" && a.key === b.key && a.branch === b.branch)) &&
  (a.kind !== "detached" || (b.kind === "detached" && a.index === b.index));

/** Every step, depth first, in the order `toNodes` emits them. */
export function allSteps(flow: Flow): FlowStep[] {
  const out: FlowStep[] = [];
  const walk = (c: Chain) =>
    c.steps.forEach((s) => {
      out.push(s);
      if (s.then) walk(s.then);
      if (s.else) walk(s.else);
    });
  walk(flow.root);
  flow.detached.forEach(walk);
  return out;
}

export function findStep(flow: Flow, key: string): FlowStep | undefined {
  return allSteps(flow).find((s) => s.key === key);
}

export function updateStep(flow: Flow, key: string, f: (s: FlowStep) => FlowStep): Flow {
  return mapChains(flow, (chain) => {
    const i = chain.steps.findIndex((s) => s.key === key);
    if (i < 0) return chain;
    const steps = chain.steps.slice();
    steps[i] = f(steps[i]!);
    return { ...chain, steps };
  });
}

export function insertStep(flow: Flow, ref: ChainRef, index: number, step: FlowStep): Flow {
  return mapChains(flow, (chain, r) => {
    if (!sameRef(r, ref)) return chain;
    // A condition ends its chain: what followed the insertion point moves into its "then" branch.
    if (branches(step.node)) {
      const rest: Chain = { steps: chain.steps.slice(index), goto: chain.goto };
      return { steps: [...chain.steps.slice(0, index), { ...step, then: rest, else: step.else ?? { steps: [] } }] };
    }
    const steps = chain.steps.slice();
    steps.splice(index, 0, step);
    return { ...chain, steps };
  });
}

export function removeStep(flow: Flow, key: string): Flow {
  return mapChains(flow, (chain) => {
    const i = chain.steps.findIndex((s) => s.key === key);
    if (i < 0) return chain;
    return { ...chain, steps: chain.steps.filter((s) => s.key !== key) };
  });
}

/** Where a step may move, across a condition's branches too (see flow-moves.ts). */
export const moveOptions = (flow: Flow, key: string): MoveOptions => moves.moveOptions(flow, key);

export const moveStep = (flow: Flow, key: string, dir: -1 | 1): Flow => moves.moveStep(flow, key, dir);

/** The steps that always run before `key` on its path (what its templates may read). */
export function stepsBefore(flow: Flow, key: string): FlowStep[] {
  const search = (chain: Chain, before: FlowStep[]): FlowStep[] | undefined => {
    for (let i = 0; i < chain.steps.length; i++) {
      const s = chain.steps[i]!;
      if (s.key === key) return [...before, ...chain.steps.slice(0, i)];
      const prefix = [...before, ...chain.steps.slice(0, i + 1)];
      const found = (s.then && search(s.then, prefix)) ?? (s.else && search(s.else, prefix));
      if (found) return found;
    }
    return undefined;
  };
  return search(flow.root, []) ?? flow.detached.map((c) => search(c, [])).find(Boolean) ?? [];
}

/** Every string inside a JSON value rewritten by f. */
export function mapStrings<T>(value: T, f: (s: string) => string): T {
  if (typeof value === "string") return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)])) as T;
  }
  return value;
}

/** Renames a node and every `steps.<old>.` reference and jump to it. */
export function renameNode(flow: Flow, key: string, newId: string): Flow {
  const step = findStep(flow, key);
  if (!step) return flow;
  const oldId = step.node.id;
  if (oldId === newId) return flow;
  const pattern = new RegExp(`(\\{\\{\\s*steps\\.)${oldId.replace(/[^a-z0-9_]/g, "")}(\\.)`, "g");
  const rewrite = (s: string) => s.replace(pattern, `$1${newId}$2`);
  let next = mapChains(flow, (chain) => (chain.goto === oldId ? { ...chain, goto: newId } : chain));
  for (const s of allSteps(next)) {
    next = updateStep(next, s.key, (st) => ({
      ...st,
      node: { ...st.node, ...(st.key === key ? { id: newId } : {}), config: mapStrings(st.node.config, rewrite) } as StepNode,
    }));
  }
  return next;
}

/** A node id not used yet, from a base like "plan". */
export function freeId(flow: Flow, base: string): string {
  const used = new Set(allSteps(flow).map((s) => s.node.id));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}_${n}`)) return `${base}_${n}`;
}
