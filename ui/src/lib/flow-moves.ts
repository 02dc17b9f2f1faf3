/**
 * Moving a step up or down the builder's flow, across a condition's branches too. Pure and
 * structural: a step that carries `then` / `else` chains is a condition (the flow model gives
 * every condition both), so this module needs no node registry and runs in plain unit tests.
 *
 * The flow reads top to bottom as drawn: a chain, and under the condition that ends it, its
 * "then" branch beside its "else" branch. A step moves one place at a time in that order:
 * - within its chain, it swaps with its neighbour;
 * - down onto a condition, it enters the top of the condition's "then" branch;
 * - down from the bottom of a "then" branch, it goes to the top of the "else" branch;
 * - up from the top of an "else" branch, it goes to the bottom of the "then" branch;
 * - up from the top of a "then" branch, it leaves the branch to just above its condition.
 * A condition never moves (it carries its branches); a chain's `goto` stays with its chain.
 */

export interface MoveChain<S> {
  steps: S[];
  goto?: string | undefined;
}
export interface MoveStep<S> {
  key: string;
  then?: MoveChain<S> | undefined;
  else?: MoveChain<S> | undefined;
}
export interface MoveFlow<S> {
  root: MoveChain<S>;
  detached: MoveChain<S>[];
}

/** What pressing up or down does to a step; null when it cannot move that way. */
export type Move =
  | { kind: "swap" }
  /** Into the top of the "then" branch of the condition below it. */
  | { kind: "enter"; condition: string }
  /** From one branch of a condition to the other. */
  | { kind: "cross"; condition: string; to: "then" | "else" }
  /** Out of the top of a "then" branch, to just above its condition. */
  | { kind: "leave"; condition: string };

export interface MoveOptions {
  up: Move | null;
  down: Move | null;
}

const isCondition = <S extends MoveStep<S>>(s: S | undefined): boolean => s !== undefined && (s.then !== undefined || s.else !== undefined);

/** Where a chain sits: the condition and branch it belongs to, or none for a top-level chain. */
interface Place<S> {
  chain: MoveChain<S>;
  index: number;
  parent: { step: S; branch: "then" | "else" } | null;
}

function locate<S extends MoveStep<S>>(flow: MoveFlow<S>, key: string): Place<S> | null {
  const search = (chain: MoveChain<S>, parent: Place<S>["parent"]): Place<S> | null => {
    for (let i = 0; i < chain.steps.length; i++) {
      const s = chain.steps[i]!;
      if (s.key === key) return { chain, index: i, parent };
      for (const branch of ["then", "else"] as const) {
        const inner = s[branch];
        const found = inner ? search(inner, { step: s, branch }) : null;
        if (found) return found;
      }
    }
    return null;
  };
  return search(flow.root, null) ?? flow.detached.reduce<Place<S> | null>((hit, c) => hit ?? search(c, null), null);
}

export function moveOptions<S extends MoveStep<S>>(flow: MoveFlow<S>, key: string): MoveOptions {
  const at = locate(flow, key);
  if (!at) return { up: null, down: null };
  const { chain, index, parent } = at;
  if (isCondition(chain.steps[index])) return { up: null, down: null };
  let up: Move | null = null;
  if (index > 0) up = { kind: "swap" };
  else if (parent?.branch === "else") up = { kind: "cross", condition: parent.step.key, to: "then" };
  else if (parent?.branch === "then") up = { kind: "leave", condition: parent.step.key };
  let down: Move | null = null;
  const next = chain.steps[index + 1];
  if (next && isCondition(next)) down = { kind: "enter", condition: next.key };
  else if (next) down = { kind: "swap" };
  else if (parent?.branch === "then") down = { kind: "cross", condition: parent.step.key, to: "else" };
  return { up, down };
}

/** Rebuilds only the chains on the path to a change; everything else keeps its identity. */
function mapChain<S extends MoveStep<S>>(chain: MoveChain<S>, f: (c: MoveChain<S>) => MoveChain<S>): MoveChain<S> {
  let changed = false;
  const steps = chain.steps.map((s) => {
    if (!isCondition(s)) return s;
    const then = s.then ? mapChain(s.then, f) : undefined;
    const otherwise = s.else ? mapChain(s.else, f) : undefined;
    if (then === s.then && otherwise === s.else) return s;
    changed = true;
    return { ...s, then, else: otherwise };
  });
  return f(changed ? { ...chain, steps } : chain);
}

function mapFlow<S extends MoveStep<S>>(flow: MoveFlow<S>, f: (c: MoveChain<S>) => MoveChain<S>): MoveFlow<S> {
  return { ...flow, root: mapChain(flow.root, f), detached: flow.detached.map((c) => mapChain(c, f)) };
}

/** Edits the chains of one condition (by key) with `f`. */
function editCondition<S extends MoveStep<S>>(flow: MoveFlow<S>, condition: string, f: (then: MoveChain<S>, otherwise: MoveChain<S>) => [MoveChain<S>, MoveChain<S>]): MoveFlow<S> {
  return mapFlow(flow, (chain) => {
    const i = chain.steps.findIndex((s) => s.key === condition);
    if (i < 0) return chain;
    const c = chain.steps[i]!;
    const [then, otherwise] = f(c.then ?? { steps: [] }, c.else ?? { steps: [] });
    const steps = chain.steps.slice();
    steps[i] = { ...c, then, else: otherwise };
    return { ...chain, steps };
  });
}

/** The flow with `key` moved one place up (-1) or down (1); the same flow when it cannot move. */
export function moveStep<S extends MoveStep<S>>(flow: MoveFlow<S>, key: string, dir: -1 | 1): MoveFlow<S> {
  const move = dir === -1 ? moveOptions(flow, key).up : moveOptions(flow, key).down;
  const at = locate(flow, key);
  if (!move || !at) return flow;
  const step = at.chain.steps[at.index]!;
  const without = (c: MoveChain<S>) => ({ ...c, steps: c.steps.filter((s) => s.key !== key) });
  switch (move.kind) {
    case "swap":
      return mapFlow(flow, (chain) => {
        const i = chain.steps.findIndex((s) => s.key === key);
        if (i < 0) return chain;
        const steps = chain.steps.slice();
        [steps[i], steps[i + dir]] = [steps[i + dir]!, steps[i]!];
        return { ...chain, steps };
      });
    case "cross":
      return editCondition(flow, move.condition, (then, otherwise) =>
        move.to === "else" ? [without(then), { ...otherwise, steps: [step, ...otherwise.steps] }] : [{ ...then, steps: [...then.steps, step] }, without(otherwise)],
      );
    case "enter": {
      const entered = editCondition(flow, move.condition, (then, otherwise) => [{ ...then, steps: [step, ...then.steps] }, otherwise]);
      // Then take it out of the chain it left (the one holding the condition).
      return mapFlow(entered, (chain) => (chain.steps.some((s) => s.key === move.condition) ? without(chain) : chain));
    }
    case "leave": {
      const left = editCondition(flow, move.condition, (then, otherwise) => [without(then), otherwise]);
      return mapFlow(left, (chain) => {
        const i = chain.steps.findIndex((s) => s.key === move.condition);
        if (i < 0) return chain;
        const steps = chain.steps.slice();
        steps.splice(i, 0, step);
        return { ...chain, steps };
      });
    }
  }
}
