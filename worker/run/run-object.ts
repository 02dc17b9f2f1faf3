import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Definition } from "../contract/definition";
import type { RunView } from "../contract/run";
import { advance, type Effect, type RunEvent } from "../engine/run-machine";
import { initialState, isAwaiting, isTerminal, nextWake, resting, TriggerInfoSchema, type RunState } from "../engine/run-state";
import { planRetry } from "../engine/retry-plan";
import { StepSchema } from "../contract/run";
import { count } from "../lib/metrics";
import { logError, logLines } from "../log";
import { NODE_CATALOG } from "../nodes";
import { gateName, WAITING_FOR } from "../definition/controls";
import { getDefinitions, getWorkflow } from "../workflows/store";
import { db } from "../db/sql";
import { stepDeps } from "./deps";
import { INDEX_RETRY_MS, IndexWriter } from "./index-writer";
import { executeStep, type Execute } from "./step-harness";
import { RunStorage, type Artifact } from "./storage";
import { AwaitedEventSchema } from "../waits/port";
import { retryRunName, RetryRequestSchema, type RetryAnswer, type RetryRequest, type SignalAnswer } from "./retry";

/**
 * A run is pinned by reference: versions are immutable in D1 and every isolate caches them, so
 * the definition neither travels with each start nor is stored again per run.
 */
export const StartInputSchema = z.object({
  workflow_id: z.string().min(1),
  workflow_version: z.int().min(1),
  trigger: TriggerInfoSchema,
  test: z.boolean().default(false),
  /** A retry (SPEC §15): its original, the node it starts from, and the original's steps before it, reused. */
  retry: z.object({ of: z.object({ run_id: z.string(), from: z.string() }), reused: z.array(StepSchema) }).optional(),
});
export type StartInput = z.input<typeof StartInputSchema>;

/** What a flow-control gate tells a run (worker/flow/gate-object.ts): create it held, hold it, or let it start. */
export const GateSyncSchema = z.object({
  start: StartInputSchema,
  flow_key: z.string(),
  waiting_for: z.enum(WAITING_FOR).nullable(),
  /** A held run takes the newer event of `start.trigger` (debounce). */
  retrigger: z.boolean().default(false),
});
export type GateSync = z.input<typeof GateSyncSchema>;

/**
 * What the run answers an event delivered to a step waiting for events (`deliver`): "accepted",
 * it ended the wait; "refused", the step waits on; "queued", kept for a step still subscribing;
 * "gone", no step of this run waits for it any more.
 */
export type DeliverAnswer = "accepted" | "refused" | "queued" | "gone";

/** A run as the API shows it: the contract's view of the state, checked there against RunSchema. */
export type RunRecord = RunView;

/**
 * One run of one workflow version. Owns the run's state in its storage (storage.ts); the engine
 * decides, this shell persists, executes steps (step-harness.ts), keeps the D1 index row
 * (index-writer.ts) and arms one alarm for whatever is due next.
 *
 * Invariants: every state change is written (synchronously, in the turn that made it) before an
 * effect it leads to starts — the output gate holds the outgoing request until the write is
 * durable; at most one action executes at a time; the alarm is armed whenever something is due,
 * an action is in flight (at its deadline, which the state holds), or the D1 index lags behind a
 * run that sleeps or ended — so a restart of the runtime always resumes the run and never leaves
 * it out of the index. Reading the run (load, snapshot, cancel, artifact) performs no effect: only
 * start, the alarm, an action's result and a signal (an approval's decision) advance it.
 */
export class RunObject extends DurableObject<Env> {
  private readonly store = new RunStorage(this.ctx.storage.kv);
  private readonly index = new IndexWriter(this.store, this.env.DB);
  private state: RunState | null | undefined;
  private definition: Definition | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** The alarm this instance last set; undefined until known. */
  private alarmAt: number | null | undefined;
  /** Aborts the action executing now, if any: a cancel stops waiting for it. */
  private inFlight: AbortController | undefined;
  /** Time and chance as inputs: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now(), random: () => Math.random() };

  /**
   * Starts the run unless this object already holds one (the same event delivered again). Throws
   * a plain Error naming the version when it does not exist (RPC keeps only the message).
   */
  async start(raw: StartInput): Promise<{ id: string; created: boolean; status: string }> {
    count("run_rpc_start");
    const input = StartInputSchema.parse(raw);
    await this.load();
    if (this.state) return { id: this.state.id, created: false, status: this.state.status };
    const definition = await this.pinned(input.workflow_id, input.workflow_version);
    // A concurrent start may have won while the definition was read.
    const raced = this.state as RunState | null | undefined;
    if (raced) return { id: raced.id, created: false, status: raced.status };
    const state = initialState({
      id: this.ctx.id.toString(),
      workflow_id: input.workflow_id,
      workflow_version: input.workflow_version,
      definition,
      trigger: input.trigger,
      test: input.test,
      now: new Date(this.clock.now()),
      catalog: NODE_CATALOG,
      retry: input.retry && { of: input.retry.of, reused: input.retry.reused.map((st) => ({ ...st, deadline_at: null })) },
    });
    this.definition = definition;
    this.alarmAt = null; // a new object has no alarm
    this.kick(this.apply({ type: "start" }, state));
    return { id: state.id, created: true, status: this.state!.status };
  }

  /**
   * Delivers a signal to the step `nodeId` of type `type` while it awaits one (an approval's
   * decision, SPEC §15), and goes on from it at once. Answers the run after the signal, or why
   * nothing changed: no such run or step, the step is not awaiting (not asked yet, decided, ended),
   * or its module refused the signal.
   */
  async signal(nodeId: string, type: string, signal: unknown): Promise<SignalAnswer> {
    await this.load();
    const state = this.state;
    if (!state) return { outcome: "no_run" };
    const step = state.steps.find((s) => s.node_id === nodeId && s.type === type);
    if (!step) return { outcome: "no_step" };
    if (state.current !== nodeId || !isAwaiting(step)) return { outcome: "not_waiting", status: step.status };
    const effects = this.apply({ type: "signal", node_id: nodeId, signal });
    if (isAwaiting(this.state!.steps.find((s) => s.node_id === nodeId)!)) return { outcome: "refused" };
    this.kick(effects);
    return { outcome: "accepted", run: JSON.stringify(this.record(this.state!)) };
  }

  /**
   * An event for the step `nodeId`, which waits for events (wait_for_event, SPEC §15), from the
   * queue consumer. A step that awaits takes it (the run goes on to `then`) or refuses it (its
   * match does not hold). A step still subscribing (its attempt in flight or waiting to retry, also
   * after a restart) keeps it in storage and is offered it the moment it awaits (`offerQueued`):
   * the consumer may find the subscription before the subscribing attempt reported back. "gone"
   * tells the consumer to forget the subscription: the step ended or never waited for events.
   */
  async deliver(nodeId: string, raw: unknown): Promise<DeliverAnswer> {
    count("run_rpc_deliver");
    const event = AwaitedEventSchema.parse(raw);
    await this.load();
    const state = this.state;
    const step = state?.current === nodeId ? state.steps.find((s) => s.node_id === nodeId) : undefined;
    const module = step && NODE_CATALOG.node(step.type);
    if (!step || step.status !== "running" || module?.kind !== "action" || !module.awaits) return "gone";
    if (!isAwaiting(step)) return this.store.queue(nodeId, event.id, event) ? "queued" : "refused";
    if (!module.awaits.receive(step.output, event, new Date(this.clock.now())).ok) return "refused";
    this.kick(this.apply({ type: "signal", node_id: nodeId, signal: event }));
    return "accepted";
  }

  /**
   * Starts a new run that retries this one (SPEC §15): on the pinned version or the one given,
   * from `from` (default: the step that stopped this run), the steps before it reused. The retry's
   * object is named from this run and how many retries it has, so a request repeated after a
   * failure, or two at once, start one run; it is then listed in `retried_by`. `once`: a run
   * retried already is not retried again (bulk retries). `dry_run`: the plan, nothing started.
   */
  async retry(raw: RetryRequest): Promise<RetryAnswer> {
    const input = RetryRequestSchema.parse(raw);
    await this.load();
    const state = this.state;
    if (!state) return { outcome: "no_run" };
    if (!isTerminal(state.status)) return { outcome: "not_ended", status: state.status };
    if (input.once && state.retried_by.length > 0) return { outcome: "retried_already", run_id: state.retried_by[0]! };
    const version = input.version === "latest" ? (await getWorkflow(db(this.env.DB), state.workflow_id))?.version : (input.version ?? state.workflow_version);
    if (version === undefined) return { outcome: "invalid", issue: { path: "version", message: `Workflow ${state.workflow_id} no longer exists` } };
    const target = version === state.workflow_version ? this.definition! : await this.pinned(state.workflow_id, version);
    const planned = planRetry(state, { ...target, version }, input.from, NODE_CATALOG, new Date(this.clock.now()));
    if (!planned.ok) return { outcome: "invalid", issue: planned.issue };
    const { from, reused, side_effects } = planned.plan;
    if (input.dry_run) return { outcome: "planned", from, version, side_effects };
    const name = retryRunName(state.id, this.state!.retried_by.length + 1);
    const started = await this.env.RUNS.get(this.env.RUNS.idFromName(name)).start({
      workflow_id: state.workflow_id,
      workflow_version: version,
      trigger: state.trigger,
      test: state.test,
      retry: { of: { run_id: state.id, from }, reused },
    });
    this.apply({ type: "retried", run_id: started.id });
    return { outcome: "started", run_id: started.id, created: started.created, from, version, side_effects };
  }

  /**
   * The gate's word on this run (SPEC §14): creates it held (`waiting_for`) or started, updates why
   * it waits (and its event, for debounce), or lets it start. Idempotent: the gate repeats a call
   * until it lands. `ended` tells the gate the run ended already (cancelled while it waited).
   */
  async gate(raw: GateSync): Promise<{ id: string; status: string; ended: boolean }> {
    count("run_rpc_gate");
    const input = GateSyncSchema.parse(raw);
    await this.load();
    if (!this.state) {
      const definition = await this.pinned(input.start.workflow_id, input.start.workflow_version);
      if (!this.state) {
        const state = initialState({
          id: this.ctx.id.toString(),
          workflow_id: input.start.workflow_id,
          workflow_version: input.start.workflow_version,
          definition,
          trigger: input.start.trigger,
          test: input.start.test,
          now: new Date(this.clock.now()),
          catalog: NODE_CATALOG,
          waiting_for: input.waiting_for,
          flow_key: input.flow_key,
        });
        this.definition = definition;
        this.alarmAt = null; // a new object has no alarm
        this.kick(this.apply({ type: "start" }, state));
        return { id: state.id, status: this.state!.status, ended: false };
      }
    }
    const state = this.state!;
    if (isTerminal(state.status)) return { id: state.id, status: state.status, ended: true };
    if (state.status === "pending") {
      if (input.waiting_for === null) {
        this.kick(this.apply({ type: "release" }));
      } else if (state.waiting_for !== input.waiting_for || input.retrigger) {
        this.apply({ type: "hold", waiting_for: input.waiting_for, trigger: input.retrigger ? input.start.trigger : undefined });
        await this.settle();
      }
    }
    return { id: state.id, status: this.state!.status, ended: false };
  }

  /** The run's status, or null when this object holds no run (the gate's lease check). */
  async status(): Promise<string | null> {
    await this.load();
    return this.state?.status ?? null;
  }

  /** The run as the API answers it, as JSON text (typed and checked at the route). */
  async snapshot(): Promise<string | null> {
    await this.load();
    return this.state ? JSON.stringify(this.record(this.state)) : null;
  }

  /** The run once the action executing now (if any) has finished and its result is recorded. */
  async settled(): Promise<string | null> {
    await this.load();
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
    return this.state ? JSON.stringify(this.record(this.state)) : null;
  }

  /** Stops a run at once: a waiting or retrying step is cancelled with every pending one. */
  async cancel(): Promise<{ cancelled: boolean; status: string | null; run: string | null }> {
    await this.load();
    if (!this.state) return { cancelled: false, status: null, run: null };
    if (isTerminal(this.state.status)) return { cancelled: false, status: this.state.status, run: JSON.stringify(this.record(this.state)) };
    this.apply({ type: "cancel" });
    // Its result would be ignored (the attempt is closed); an action that heeds the signal stops.
    this.inFlight?.abort(new Error("cancelled"));
    await this.settle();
    return { cancelled: true, status: this.state.status, run: JSON.stringify(this.record(this.state)) };
  }

  async artifact(nodeId: string, name: string): Promise<Artifact | null> {
    return this.store.artifact(nodeId, name);
  }

  override async alarm(): Promise<void> {
    count("run_alarms");
    // workerd retries a throwing alarm only a few times and forgets them on restart: never throw.
    try {
      // The alarm that fired is gone; whatever is armed next is a new one.
      this.alarmAt = null;
      await this.load();
      if (!this.state) return;
      // An ended run has nothing due; an alarm left armed (see arm()) only brings its index and
      // gate up to date, if they lag.
      if (!isTerminal(this.state.status)) {
        this.kick(this.apply({ type: "tick" }));
        await this.chain;
      }
      await this.settle();
    } catch (err) {
      logError("run_alarm", err, { run_id: this.ctx.id.toString() });
      this.alarmAt = undefined;
      this.arm({ due: this.clock.now() + INDEX_RETRY_MS, fallback: false });
    }
  }

  private async pinned(workflowId: string, version: number): Promise<Definition> {
    const def = (await getDefinitions(this.env.DB, [{ workflowId, version }])).get(`${workflowId}@${version}`);
    if (def === undefined) throw new Error(`Workflow ${workflowId} has no version ${version}`);
    if (def instanceof Error) throw new Error(def.message);
    return def;
  }

  /**
   * Loads the run once per instance, and only reads: an attempt a previous instance left open is
   * settled by the alarm at its deadline, never by a read or a cancel.
   */
  private async load() {
    if (this.state !== undefined) return;
    const stored = this.store.read();
    if (!stored) {
      this.state = null;
      return;
    }
    const definition = await this.pinned(stored.workflow_id, stored.workflow_version);
    if (this.state !== undefined) return; // loaded meanwhile by another call
    this.state = stored;
    this.definition = definition;
  }

  /**
   * Runs the engine on one event and writes what changed — state, artifacts and the alarm — in
   * this synchronous turn, so they commit together before any effect leaves the object.
   */
  private apply(event: RunEvent, from: RunState | null = this.state ?? null): Effect[] {
    if (!from || !this.definition) return [];
    const now = this.clock.now();
    const { state, effects, wakeAt } = advance(from, this.definition, event, { now: new Date(now), random: this.clock.random }, NODE_CATALOG);
    // A tick that found nothing due (an alarm that fired early) changes nothing: no write.
    if (event.type === "tick" && effects.length === 0 && unchanged(from, state)) {
      this.arm(this.wakeFor(from, wakeAt));
      return [];
    }
    // If this write throws, nothing changed: storage still holds the attempt open at its
    // deadline, and the alarm armed when it began stands.
    this.store.write(state, from);
    for (const e of effects) {
      if (e.type === "artifact") this.store.putArtifact(e.node_id, e.name, { content_type: e.content_type, content: e.content });
    }
    if (isTerminal(state.status) && !isTerminal(from.status)) count(`runs_${state.status}`);
    this.state = state;
    this.arm(this.wakeFor(state, wakeAt));
    logLines(effects.flatMap((e) => (e.type === "log" ? [{ kind: String(e.line.kind), fields: e.line }] : [])));
    this.endSteps(from, state);
    return [...effects, ...this.offerQueued(from, state)];
  }

  /**
   * Steps that ended in this change (however: a branch, a failure, a cancel): what their attempts
   * left outside the run is undone (the module's `cleanup`: a wait_for_event's subscription),
   * after this change is written and best effort — a subscription left behind is forgotten the
   * next time an event finds the step gone. Events kept for them are dropped.
   */
  private endSteps(from: RunState, to: RunState) {
    to.steps.forEach((st, i) => {
      if (from.steps[i]?.status !== "running" || st.status === "running") return;
      const module = NODE_CATALOG.node(st.type);
      if (module.kind !== "action") return;
      if (module.awaits) this.store.dropQueued(st.node_id);
      const cleanup = module.cleanup;
      if (!cleanup || st.attempts.length === 0) return;
      const step = { runId: to.id, nodeId: st.node_id };
      this.chain = this.chain
        .then(() => cleanup(st.input, step, stepDeps(this.env).deps))
        .catch((err: unknown) => logError("run_cleanup", err, { run_id: to.id, node_id: st.node_id }));
    });
  }

  /** Events kept while the current step subscribed (`deliver`), offered the moment it awaits: the first it takes ends the wait. */
  private offerQueued(from: RunState, to: RunState): Effect[] {
    const id = to.current;
    const st = id ? to.steps.find((s) => s.node_id === id) : undefined;
    const before = id ? from.steps.find((s) => s.node_id === id) : undefined;
    if (!id || !st || !isAwaiting(st) || (before && isAwaiting(before))) return [];
    const module = NODE_CATALOG.node(st.type);
    if (module.kind !== "action" || !module.awaits) return [];
    const queued = this.store.queued(id);
    if (queued.length === 0) return [];
    this.store.dropQueued(id);
    const now = new Date(this.clock.now());
    const awaits = module.awaits;
    const taken = queued.find((event) => awaits.receive(st.output, event, now).ok);
    return taken === undefined ? [] : this.apply({ type: "signal", node_id: id, signal: taken });
  }

  /**
   * What the alarm is for next: work due (`due`); or, when nothing is due but the D1 index lags
   * behind a run that sleeps or ended, or a gate was not yet told that the run ended, a fallback
   * (the index and the gate are brought up to date at once by settle(); the alarm only covers a
   * runtime that stops before that).
   */
  private wakeFor(state: RunState, due: number | null): { due: number | null; fallback: boolean } {
    const behind = (resting(state) && !this.index.isCurrent(state)) || this.owesGate(state);
    return { due, fallback: behind };
  }

  /** The run ended under a gate that has not yet acknowledged it: its slot is still taken. */
  private owesGate(state: RunState): boolean {
    return isTerminal(state.status) && state.flow_key !== null && !this.store.gateReleased();
  }

  /** Tells the gate the run ended; false when the call failed (the alarm tries again). */
  private async releaseGate(state: RunState): Promise<boolean> {
    try {
      await this.env.FLOW.get(this.env.FLOW.idFromName(gateName(state.workflow_id, state.flow_key!))).finished(state.id);
      this.store.putGateReleased();
      return true;
    } catch (err) {
      logError("run_gate_release", err, { run_id: state.id });
      return false;
    }
  }

  /**
   * Keeps the one alarm at or before what is due. Setting an alarm is a storage write, and an
   * alarm that fires early costs only a wake-up that writes nothing (see apply). So an alarm a
   * little earlier than needed is kept (the deadline of the next action, most of which end in
   * milliseconds: a run's first action arms it and the rest of the run usually writes no alarm),
   * an alarm far too early is moved (a long sleep would otherwise wake once for nothing and arm
   * again anyway), and an alarm is never deleted (an ended run's alarm fires once, harmlessly).
   * A fallback (index or gate behind) is satisfied by any alarm already armed.
   */
  private arm({ due, fallback }: { due: number | null; fallback: boolean }) {
    const armed = typeof this.alarmAt === "number" ? this.alarmAt : null;
    const target = due ?? (fallback ? this.clock.now() + INDEX_RETRY_MS : null);
    if (target === null) return;
    if (armed !== null && (due === null || (armed <= target && target - armed <= EARLY_ALARM_MS))) return;
    if (armed === target) return;
    this.alarmAt = target;
    count("run_alarm_writes");
    void this.ctx.storage.setAlarm(target);
  }

  /** Executes the actions the engine asked for, one at a time, feeding each result back. */
  private kick(effects: Effect[]) {
    const first = effects.find((e) => e.type === "execute");
    this.chain = this.chain
      .then(async () => {
        let exec: Effect | undefined = first;
        while (exec?.type === "execute") {
          const { result, logs } = await this.execute(exec);
          const done: Effect = exec;
          exec = this.apply({ type: "result", node_id: done.node_id, attempt: done.attempt, result, logs }).find((e) => e.type === "execute");
        }
        await this.settle();
      })
      .catch((err) => logError("run_execute", err, { run_id: this.ctx.id.toString() }));
  }

  private async execute(exec: Execute) {
    const state = this.state!;
    const step = state.steps.find((s) => s.node_id === exec.node_id)!;
    const controller = new AbortController();
    this.inFlight = controller;
    // A step that takes a while shows the run as running in the index.
    this.index.writeSoon(() => this.state ?? null);
    try {
      const { deps, secretForms } = stepDeps(this.env);
      const module = NODE_CATALOG.node(step.type);
      // The engine asks to execute actions, and waits that re-check their trigger; conditions it settles itself.
      const executable = module.kind === "action" || module.kind === "wait" ? module.execute : undefined;
      if (!executable) throw new Error(`A ${step.type} step is not executed`);
      return await executeStep({ run: state, exec, module: { execute: executable }, deps, secretForms, now: new Date(this.clock.now()), controller, caps: this.definition?.controls?.caps?.per_day });
    } finally {
      this.inFlight = undefined;
    }
  }

  /** After a burst of work: bring the D1 index up to date when the run ended or sleeps. */
  private async settle() {
    const state = this.state;
    if (!state || !resting(state)) return;
    let current = await this.index.write(state);
    if (this.owesGate(state)) current = (await this.releaseGate(state)) && current;
    if (current) this.arm(this.wakeFor(state, nextWake(state)));
  }

  private record(state: RunState): RunRecord {
    const { current: _current, rev: _rev, steps, ...rest } = state;
    return {
      ...rest,
      definition: this.definition!,
      steps: steps.map(({ checkpoint: _checkpoint, deadline_at: _deadline, ...st }) => st),
    };
  }

  /**
   * Retention (SPEC §16): deletes everything this object stores, its alarm included, once the run
   * has ended. A run that has not (pending, running, sleeping in a wait, held by its gate) or that
   * still owes its gate the news that it ended is refused: purged false, nothing deleted. An empty
   * object answers purged true, so a pass that died between this call and deleting the D1 row
   * finishes the next time. Reads the stored state only: no definition is needed to delete it.
   */
  async purge(): Promise<{ purged: boolean }> {
    const state = this.state === undefined ? this.store.read() : this.state;
    if (state && (!isTerminal(state.status) || this.owesGate(state))) return { purged: false };
    // An ended run executes nothing more, but a cancelled action may still be returning: let it
    // finish first, so that no write of it lands after the deletion.
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.state = null;
    this.definition = undefined;
    this.alarmAt = null;
    return { purged: true };
  }
}

/** How much earlier than needed an armed alarm may stay (see RunObject.arm). */
const EARLY_ALARM_MS = 5 * 60_000;

/** Whether a new state differs from the one it came from only in its revision. */
function unchanged(from: RunState, to: RunState): boolean {
  return JSON.stringify({ ...from, rev: 0 }) === JSON.stringify({ ...to, rev: 0 });
}
