import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Definition } from "../contract/definition";
import type { RunView } from "../contract/run";
import { advance, type Effect, type RunEvent } from "../engine/run-machine";
import { initialState, isTerminal, nextWake, resting, TriggerInfoSchema, type RunState } from "../engine/run-state";
import { count } from "../lib/metrics";
import { logError, logLines } from "../log";
import { NODE_CATALOG } from "../nodes";
import { getDefinitions } from "../workflows/store";
import { stepDeps } from "./deps";
import { INDEX_RETRY_MS, IndexWriter } from "./index-writer";
import { executeStep, type Execute } from "./step-harness";
import { RunStorage, type Artifact } from "./storage";

/**
 * A run is pinned by reference: versions are immutable in D1 and every isolate caches them, so
 * the definition neither travels with each start nor is stored again per run.
 */
export const StartInputSchema = z.object({
  workflow_id: z.string().min(1),
  workflow_version: z.int().min(1),
  trigger: TriggerInfoSchema,
  test: z.boolean().default(false),
});
export type StartInput = z.input<typeof StartInputSchema>;

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
 * start, the alarm and an action's result advance it.
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
    });
    this.definition = definition;
    this.alarmAt = null; // a new object has no alarm
    this.kick(this.apply({ type: "start" }, state));
    return { id: state.id, created: true, status: this.state!.status };
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
      this.kick(this.apply({ type: "tick" }));
      await this.chain;
      await this.settle();
    } catch (err) {
      logError("run_alarm", err, { run_id: this.ctx.id.toString() });
      this.alarmAt = undefined;
      this.arm(this.clock.now() + INDEX_RETRY_MS);
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
    // If this write throws, nothing changed: storage still holds the attempt open at its
    // deadline, and the alarm armed when it began stands.
    this.store.write(state, from);
    for (const e of effects) {
      if (e.type === "artifact") this.store.putArtifact(e.node_id, e.name, { content_type: e.content_type, content: e.content });
    }
    if (isTerminal(state.status) && !isTerminal(from.status)) count(`runs_${state.status}`);
    this.state = state;
    this.arm(this.wakeFor(state, wakeAt, now));
    logLines(effects.flatMap((e) => (e.type === "log" ? [{ kind: String(e.line.kind), fields: e.line }] : [])));
    return effects;
  }

  /** What the alarm is for next: work due (`due`), or a D1 index that lags behind a run that sleeps or ended. */
  private wakeFor(state: RunState, due: number | null, now: number): number | null {
    const needsIndex = resting(state) && !this.index.isCurrent(state);
    return needsIndex ? Math.min(due ?? Infinity, now + INDEX_RETRY_MS) : due;
  }

  /** Sets the one alarm to the earliest due time, or removes it when nothing is due. */
  private arm(target: number | null) {
    if (target === this.alarmAt) return;
    this.alarmAt = target;
    count("run_alarm_writes");
    void (target === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(target));
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
      // The engine asks to execute actions only; conditions and waits it settles itself.
      if (module.kind !== "action") throw new Error(`A ${step.type} step is not executed`);
      return await executeStep({ run: state, exec, module, deps, secretForms, now: new Date(this.clock.now()), controller });
    } finally {
      this.inFlight = undefined;
    }
  }

  /** After a burst of work: bring the D1 index up to date when the run ended or sleeps. */
  private async settle() {
    const state = this.state;
    if (!state || !resting(state)) return;
    if (await this.index.write(state)) this.arm(this.wakeFor(state, nextWake(state), this.clock.now()));
  }

  private record(state: RunState): RunRecord {
    const { current: _current, rev: _rev, steps, ...rest } = state;
    return {
      ...rest,
      definition: this.definition!,
      steps: steps.map(({ checkpoint: _checkpoint, deadline_at: _deadline, ...st }) => st),
    };
  }
}
