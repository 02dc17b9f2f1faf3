import { reachable, type FlowDefinition, type FlowNode } from "../definition/graph";
import { interpolate } from "../definition/interpolate";
import { utf8Bytes } from "../lib/json";
import { backoffDelay, DEFAULT_RETRY } from "./backoff";
import { stillMatches, type TriggerFilter } from "./trigger-match";
import type { WaitingFor } from "../definition/controls";
import { isAwaiting, isTerminal, nextWake, runLine, runScope, stepLine, type LogEntry, type LogLine, type RunState, type StepState, type TriggerInfo } from "./run-state";
import type { ActionResult, BranchOutput, NodeCatalog } from "./step";

/*
 * The run state machine. Pure: `advance(state, definition, event, clock, catalog)` returns the
 * next state, the effects the Durable Object shell must carry out and when to wake the run next;
 * it touches no binding and no clock of its own, and knows the node types only through the
 * catalog it is handed. The shell persists the returned state before it performs any effect, so
 * an effect is always preceded by the record of its attempt. Only events advance a run: loading
 * its state does nothing, and an attempt cut off by a restart is found by the alarm at its deadline.
 */

export type RunEvent =
  | { type: "start" }
  /** Something may be due: a retry, the end of a wait, the continuation of a long step. */
  | { type: "tick" }
  | { type: "result"; node_id: string; attempt: number; result: ActionResult; logs?: LogEntry[] }
  | { type: "cancel" }
  /** The gate holds a pending run (SPEC §14), for another reason or with a later event (debounce). */
  | { type: "hold"; waiting_for: WaitingFor; trigger?: TriggerInfo | undefined }
  /** The gate lets a held run start. */
  | { type: "release" }
  /** A signal for the awaiting step `node_id` (an approval's decision); one its module refuses changes nothing. */
  | { type: "signal"; node_id: string; signal: unknown }
  /** A run that retries this one started (SPEC §15): it joins `retried_by`. */
  | { type: "retried"; run_id: string };

export type Effect =
  | { type: "execute"; node_id: string; attempt: number; input: unknown; checkpoint: unknown; timeout_ms: number }
  | { type: "artifact"; node_id: string; name: string; content_type: string; content: string }
  | { type: "log"; line: LogLine };

export interface Clock {
  now: Date;
  random: () => number;
}

/** A step with no timeout of its own may run this long before it counts as failed (and retried). */
export const DEFAULT_STEP_TIMEOUT_MS = 120_000;
/**
 * How long past its timeout an invocation may stay open before it counts as interrupted. The
 * shell's own timer answers at the timeout; only a runtime that died, or a result that could not
 * be stored, leaves an attempt open longer.
 */
export const DEADLINE_MARGIN_MS = 15_000;
export const INTERRUPTED = "Interrupted: the attempt never reported back (the runtime stopped, or its result could not be stored)";
/**
 * The most a step's output (with its artifact) may hold, as JSON in UTF-8. Durable Object storage
 * refuses a value over 2 MB and a step's row also holds its input and logs; a larger output fails
 * the step instead of failing to be recorded.
 */
export const MAX_STEP_OUTPUT_BYTES = 1024 * 1024;

/** A definition as the engine runs it: the graph, and the trigger's filter a wait may re-check (SPEC §15). */
export type RunDefinition = FlowDefinition & { trigger: TriggerFilter };

/** Why a run that a wait's re-check stopped ended early (SPEC §15). */
export const TRIGGER_NO_LONGER_MATCHES = "trigger no longer matches";

/**
 * One event applied to a run. `wakeAt` is `nextWake` of the new state: when the shell must wake
 * the run (epoch ms), or null when nothing is scheduled.
 */
export function advance(
  state: RunState,
  def: RunDefinition,
  event: RunEvent,
  clock: Clock,
  catalog: NodeCatalog,
): { state: RunState; effects: Effect[]; wakeAt: number | null } {
  const m = new Machine(state, def, clock, catalog);
  switch (event.type) {
    case "start":
      m.start();
      break;
    case "tick":
      m.tick();
      break;
    case "result":
      m.result(event.node_id, event.attempt, event.result, event.logs);
      break;
    case "cancel":
      m.cancel();
      break;
    case "hold":
      m.hold(event.waiting_for, event.trigger);
      break;
    case "release":
      m.release();
      break;
    case "signal":
      m.signal(event.node_id, event.signal);
      break;
    case "retried":
      m.retried(event.run_id);
      break;
  }
  return { state: m.s, effects: m.effects, wakeAt: nextWake(m.s) };
}

class Machine {
  readonly s: RunState;
  readonly effects: Effect[] = [];
  private readonly nodes: Map<string, FlowNode>;
  private readonly position = new Map<string, number>();
  private readonly copied = new Set<number>();
  private readonly iso: string;

  constructor(
    state: RunState,
    private readonly def: RunDefinition,
    private readonly clock: Clock,
    private readonly catalog: NodeCatalog,
  ) {
    // Copy on write: untouched steps keep their identity, so the shell persists only what changed.
    this.s = { ...state, rev: state.rev + 1, steps: [...state.steps], summary: { ...state.summary } };
    this.nodes = new Map(def.nodes.map((n) => [n.id, n]));
    state.steps.forEach((st, i) => this.position.set(st.node_id, i));
    this.iso = clock.now.toISOString();
  }

  private peek(id: string): StepState {
    return this.s.steps[this.position.get(id)!]!;
  }

  private edit(id: string): StepState {
    const i = this.position.get(id)!;
    if (!this.copied.has(i)) {
      const st = this.s.steps[i]!;
      this.s.steps[i] = { ...st, logs: [...st.logs], attempts: [...st.attempts] };
      this.copied.add(i);
    }
    return this.s.steps[i]!;
  }

  private node(id: string): FlowNode {
    return this.nodes.get(id)!;
  }

  /** Whether a node branches to then / else (its type's module is a condition, or says it branches). */
  private branches(node: FlowNode): boolean {
    const module = this.catalog.node(node.type);
    return module.kind === "condition" || module.branches === true;
  }

  private logStep(st: StepState, extra: Record<string, string | number | null> = {}) {
    this.effects.push({ type: "log", line: stepLine(this.s, st, extra) });
  }

  private logRun() {
    this.effects.push({ type: "log", line: runLine(this.s) });
  }

  private addLog(st: StepState, message: string) {
    st.logs.push({ at: this.iso, message });
  }

  // ------------------------------------------------------------------ events

  start() {
    if (this.s.status !== "pending" || this.s.waiting_for) return;
    this.s.status = "running";
    this.logRun();
    // A retry starts at its `from`: the steps before it are the original's, reused.
    this.enter(this.s.retry_of?.from ?? this.def.start);
  }

  hold(waitingFor: WaitingFor, trigger: TriggerInfo | undefined) {
    if (this.s.status !== "pending") return;
    this.s.waiting_for = waitingFor;
    if (trigger) this.s.trigger = trigger;
  }

  release() {
    if (this.s.status !== "pending") return;
    this.s.waiting_for = null;
    this.start();
  }

  tick() {
    if (this.s.status === "pending") return this.start();
    if (this.s.status !== "running" || !this.s.current) return;
    const id = this.s.current;
    const st = this.peek(id);
    if (st.status !== "running") return;
    const now = this.clock.now.getTime();
    if (st.deadline_at) {
      // Still open at its deadline: nothing will report back for this attempt.
      if (Date.parse(st.deadline_at) <= now) this.result(id, st.attempts.length, { ok: false, error: INTERRUPTED, retryable: true });
    } else if (st.next_attempt_at && Date.parse(st.next_attempt_at) <= now) {
      this.beginAttempt(id);
    } else if (isAwaiting(st)) {
      if (Date.parse(st.wake_at!) <= now) this.timeOut(id);
    } else if (st.wake_at && Date.parse(st.wake_at) <= now) {
      const module = this.catalog.node(st.type);
      if (module.kind === "wait" && module.rechecks?.(this.node(id).config)) {
        this.addLog(this.edit(id), "Reading the trigger's entity again");
        this.beginAttempt(id); // its result is re-checked (recheck)
      } else if (module.kind === "wait") {
        const edit = this.edit(id);
        edit.output = { waited_until: st.wake_at };
        this.succeed(id);
      } else {
        this.execute(id); // a long step continues where its checkpoint says
      }
    }
  }

  result(nodeId: string, attempt: number, reported: ActionResult, logs: LogEntry[] = []) {
    if (this.s.status !== "running" || this.s.current !== nodeId) return;
    const current = this.peek(nodeId);
    const open = current.attempts.at(-1);
    // A late answer (after a timeout, a cancel or a restart) belongs to an attempt already closed.
    if (current.status !== "running" || current.attempts.length !== attempt || !open || open.finished_at) return;
    const st = this.edit(nodeId);
    st.deadline_at = null;
    st.logs.push(...logs);
    const r = storable(reported);
    if (r.ok === "continue") {
      st.checkpoint = r.checkpoint;
      st.wake_at = this.iso;
      return;
    }
    st.attempts[st.attempts.length - 1] = { ...open, finished_at: this.iso, error: r.ok ? null : r.error };
    if (r.ok) {
      st.output = r.output;
      delete st.checkpoint;
      if (r.artifact) {
        this.effects.push({ type: "artifact", node_id: nodeId, name: r.artifact.name, content_type: r.artifact.contentType, content: r.artifact.content });
      }
      this.addSummary(this.catalog.node(st.type).summary?.summarize(r.output) ?? {});
      if (r.ok === "await") return this.awaitSignal(nodeId, r.until);
      if (this.catalog.node(st.type).kind === "wait") return this.recheck(nodeId, r.output);
      this.succeed(nodeId);
      return;
    }
    st.output = r.output ?? null;
    st.error = r.error;
    const policy = this.node(nodeId).retry ?? DEFAULT_RETRY;
    if (r.retryable && st.attempts.length < policy.max_attempts) {
      const delay = backoffDelay(policy, st.attempts.length, this.clock.random, r.retryAfterMs);
      st.next_attempt_at = new Date(this.clock.now.getTime() + delay).toISOString();
      this.addLog(st, `Attempt ${st.attempts.length} failed: ${r.error}. Retrying in ${formatDelay(delay)}.`);
      this.logStep(st, { retry_in_ms: delay });
      return;
    }
    const why = r.retryable ? `${r.error} (gave up after ${st.attempts.length} attempts)` : r.error;
    this.fail(nodeId, why);
  }

  /** Ends an awaiting step with the signal, unless its module refuses it (the step waits on). */
  signal(nodeId: string, signal: unknown) {
    if (this.s.status !== "running" || this.s.current !== nodeId) return;
    const st = this.peek(nodeId);
    const module = this.catalog.node(st.type);
    if (!isAwaiting(st) || module.kind !== "action" || !module.awaits) return;
    const answer = module.awaits.receive(st.output, signal, this.clock.now);
    if (answer.ok) this.resolveAwait(nodeId, answer.output);
  }

  retried(runId: string) {
    if (!this.s.retried_by.includes(runId)) this.s.retried_by = [...this.s.retried_by, runId];
  }

  cancel() {
    if (isTerminal(this.s.status)) return;
    this.s.status = "cancelled";
    this.s.waiting_for = null;
    this.s.finished_at = this.iso;
    this.s.current = null;
    for (const st of this.s.steps) {
      if (st.status !== "pending" && st.status !== "running") continue;
      const edit = this.edit(st.node_id);
      const open = edit.attempts.at(-1);
      if (open && !open.finished_at) edit.attempts[edit.attempts.length - 1] = { ...open, finished_at: this.iso, error: "cancelled" };
      if (edit.status === "running") this.addLog(edit, "Cancelled while running");
      edit.status = "cancelled";
      edit.finished_at = this.iso;
      edit.next_attempt_at = null;
      edit.wake_at = null;
      edit.deadline_at = null;
      this.logStep(edit);
    }
    this.logRun();
  }

  // ------------------------------------------------------------------ transitions

  private enter(id: string): void {
    this.s.current = id;
    const node = this.node(id);
    const st = this.edit(id);
    st.status = "running";
    st.started_at = this.iso;
    const scope = runScope(this.s, this.clock.now);
    const module = this.catalog.node(node.type);
    if (module.kind === "condition") return this.decide(id, () => module.decide(node.config, scope));
    if (module.kind === "wait") return this.sleep(id, () => module.until(node.config, scope, this.clock.now));
    let input: unknown;
    try {
      input = module.resolve ? module.resolve(node.config, scope, this.clock.now) : interpolate(node.config, scope);
    } catch (err) {
      this.logStep(st);
      return this.fail(id, `Could not prepare the input: ${message(err)}`);
    }
    st.input = input;
    this.beginAttempt(id);
  }

  /** A condition step: decided at once, it succeeds with the branch taken. */
  private decide(id: string, evaluate: () => { input: unknown; result: boolean }): void {
    const st = this.edit(id);
    let decision: { input: unknown; result: boolean };
    try {
      decision = evaluate();
    } catch (err) {
      this.logStep(st);
      return this.fail(id, message(err));
    }
    st.input = decision.input;
    st.output = { result: decision.result, branch: decision.result ? "then" : "else" };
    this.succeed(id);
  }

  /** A wait step: sleeps until `until` (epoch ms) on the alarm, or succeeds at once when it has passed. */
  private sleep(id: string, wakeUp: () => number): void {
    const st = this.edit(id);
    let until: number;
    try {
      until = wakeUp();
    } catch (err) {
      this.logStep(st);
      return this.fail(id, message(err));
    }
    const wakeAt = new Date(until).toISOString();
    st.input = { until: wakeAt };
    if (until <= this.clock.now.getTime()) {
      st.output = { waited_until: wakeAt };
      return this.succeed(id);
    }
    st.wake_at = wakeAt;
    this.addLog(st, `Waiting until ${wakeAt}`);
    this.logStep(st, { wake_at: wakeAt });
  }

  /** The step's effect is done (its attempt closed); it awaits a signal until `until`, when the alarm ends it (timeOut). */
  private awaitSignal(id: string, until: string): void {
    const st = this.edit(id);
    const at = Date.parse(until);
    st.wake_at = new Date(Number.isNaN(at) ? this.clock.now.getTime() : at).toISOString();
    this.addLog(st, `Waiting for a signal until ${st.wake_at}`);
    this.logStep(st, { wake_at: st.wake_at });
  }

  /** No signal came by the deadline: the module says how the step ends. */
  private timeOut(id: string): void {
    const st = this.edit(id);
    const module = this.catalog.node(st.type);
    if (module.kind !== "action" || !module.awaits) return this.fail(id, `A ${st.type} step cannot await a signal`);
    this.addLog(st, `No signal by ${st.wake_at}`);
    this.resolveAwait(id, module.awaits.timeout(st.output, this.clock.now));
  }

  private resolveAwait(id: string, output: BranchOutput): void {
    this.edit(id).output = output;
    this.succeed(id);
  }

  private beginAttempt(id: string) {
    const st = this.edit(id);
    st.attempts.push({ started_at: this.iso, finished_at: null, error: null });
    st.next_attempt_at = null;
    this.logStep(st);
    this.execute(id);
  }

  private execute(id: string) {
    const st = this.edit(id);
    const timeoutMs = this.node(id).timeout_ms ?? DEFAULT_STEP_TIMEOUT_MS;
    st.wake_at = null;
    st.deadline_at = new Date(this.clock.now.getTime() + timeoutMs + DEADLINE_MARGIN_MS).toISOString();
    this.effects.push({
      type: "execute",
      node_id: id,
      attempt: st.attempts.length,
      input: st.input,
      checkpoint: st.checkpoint,
      timeout_ms: timeoutMs,
    });
  }

  private succeed(id: string): void {
    const st = this.edit(id);
    st.status = "succeeded";
    st.finished_at = this.iso;
    st.error = null;
    st.next_attempt_at = null;
    st.wake_at = null;
    this.logStep(st);
    const node = this.node(id);
    if (this.branches(node)) {
      const taken = (st.output as { result: boolean }).result ? node.then : node.else;
      const other = (st.output as { result: boolean }).result ? node.else : node.then;
      this.skipBranch(other, taken);
      return this.goTo(taken);
    }
    this.goTo(node.next);
  }

  private fail(id: string, error: string): void {
    const st = this.edit(id);
    st.status = "failed";
    st.error = error;
    st.finished_at = this.iso;
    st.next_attempt_at = null;
    st.wake_at = null;
    this.s.summary.errors = (this.s.summary.errors ?? 0) + 1;
    this.addLog(st, `Failed: ${error}`);
    this.logStep(st);
    const node = this.node(id);
    if (node.on_error === "continue") {
      // A condition that cannot be evaluated goes on as if it were false.
      if (!this.branches(node)) return this.goTo(node.next);
      this.skipBranch(node.then, node.else);
      return this.goTo(node.else);
    }
    this.finish("failed", `Step "${id}" failed: ${error}`);
  }

  /** Nodes only the branch not taken leads to will not run: they are recorded as skipped. */
  private skipBranch(notTaken: string | undefined, taken: string | undefined) {
    const keep = reachable(taken, this.nodes);
    for (const id of reachable(notTaken, this.nodes)) {
      if (keep.has(id) || this.peek(id).status !== "pending") continue;
      this.markSkipped(id);
    }
  }

  private markSkipped(id: string) {
    const st = this.edit(id);
    st.status = "skipped";
    this.logStep(st);
  }

  private goTo(next: string | undefined): void {
    if (next) return this.enter(next);
    this.finish("completed", null);
  }

  /**
   * A wait woke and read its trigger's entity again (`recheck_trigger`): the run goes on when the
   * trigger's tags and conditions still hold on it, else it completes here, the rest skipped.
   */
  private recheck(id: string, read: unknown): void {
    const st = this.edit(id);
    const entity = read !== null && typeof read === "object" && "entity" in read ? read.entity : null;
    const current = entity !== null && typeof entity === "object" ? entity : null;
    const holds = stillMatches(this.def.trigger, current, runScope(this.s, this.clock.now));
    const until = st.input !== null && typeof st.input === "object" && "until" in st.input ? st.input.until : null;
    // The entity as read: later steps may use it (`steps.<id>.output.entity`); the trigger stays the event.
    st.output = { waited_until: until, trigger_matches: holds, entity: current };
    if (holds) return this.succeed(id);
    this.addLog(st, current === null ? "The trigger's entity is gone: the run ends here" : "The trigger no longer matches: the run ends here");
    st.status = "succeeded";
    st.finished_at = this.iso;
    st.wake_at = null;
    this.logStep(st);
    this.s.ended_early = TRIGGER_NO_LONGER_MATCHES;
    this.finish("completed", null);
  }

  private finish(status: "completed" | "failed", error: string | null): void {
    this.s.status = status;
    this.s.error = error;
    this.s.finished_at = this.iso;
    this.s.current = null;
    // What never ran on the path taken did not happen: skipped, not pending forever.
    for (const st of this.s.steps) if (st.status === "pending") this.markSkipped(st.node_id);
    this.logRun();
  }

  private addSummary(delta: Partial<Record<string, number>>) {
    for (const [k, v] of Object.entries(delta)) this.s.summary[k] = (this.s.summary[k] ?? 0) + (v ?? 0);
  }
}

/** A result as it can be recorded: an output too large to store fails the step (retrying would not shrink it). */
function storable(r: ActionResult): ActionResult {
  if (r.ok === "continue") return r;
  const artifact = r.ok ? (r.artifact?.content ?? "") : "";
  const bytes = (r.output === undefined ? 0 : utf8Bytes(JSON.stringify(r.output) ?? "")) + utf8Bytes(artifact);
  if (bytes <= MAX_STEP_OUTPUT_BYTES) return r;
  return { ok: false, error: `The step's output is ${bytes} bytes; at most ${MAX_STEP_OUTPUT_BYTES} can be stored`, retryable: false };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatDelay(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
