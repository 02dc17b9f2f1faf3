import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { nodeModule } from "./actions";
import type { ActionContext, ActionDeps, ActionModule, ActionResult } from "./actions/types";
import { config } from "./config";
import { upsertRunStatement } from "./db/run-index";
import { getDefinitions } from "./db/workflow-store";
import type { Definition } from "./definition/schema";
import { advance, nextWake, resting, stepStatuses, type Effect, type RunEvent } from "./engine/run-machine";
import { initialState, isTerminal, TriggerInfoSchema, type LogEntry, type RunState, type StepState } from "./engine/run-state";
import { count, track } from "./lib/metrics";
import { redact, secretForms } from "./lib/net";
import { logError, logLines } from "./log";

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

/** A run as the API shows it: the state with its steps in definition order and the pinned definition. */
export type RunRecord = Omit<RunState, "current" | "steps" | "rev"> & {
  definition: Definition;
  steps: Omit<StepState, "checkpoint" | "deadline_at">[];
};

/** A run still busy after this long gets its "running" row in the D1 index. */
const INDEX_DELAY_MS = 1_000;
/** How soon to try again when writing the D1 index did not happen or failed. */
const INDEX_RETRY_MS = 5_000;

/** Storage keys. The whole state is one row ("run"); "split" is the layout for very large runs. */
const RUN = "run";
/** The last D1 index row written: the revision and the content (status, step statuses) it carried. */
const INDEXED = "index";
type IndexMark = { rev: number; key: string };
const stepKey = (id: string) => `step:${id}`;
const SINGLE_ROW_LIMIT = 1024 * 1024;
type Stored = (RunState & { layout?: "single" }) | (Omit<RunState, "steps"> & { layout: "split"; step_ids: string[] });

export class StartError extends Error {}

/**
 * One run of one workflow version. Owns the run's state in its SQLite storage; the engine decides,
 * this shell persists, performs effects and arms one alarm for whatever is due next.
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
  private state: RunState | null | undefined;
  private definition: Definition | undefined;
  /** Whole-state rows until a run outgrows one row (2 MB); then a row per step. */
  private layout: "single" | "split" = "single";
  private chain: Promise<void> = Promise.resolve();
  private indexTimer: ReturnType<typeof setTimeout> | undefined;
  /** The alarm this instance last set; undefined until known. */
  private alarmAt: number | null | undefined;
  /** Aborts the action executing now, if any: a cancel stops waiting for it. */
  private inFlight: AbortController | undefined;
  /** Time and chance as inputs: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now(), random: () => Math.random() };

  /** Starts the run unless this object already holds one (the same event delivered again). */
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

  async artifact(nodeId: string, name: string): Promise<{ content_type: string; content: string } | null> {
    return this.ctx.storage.kv.get<{ content_type: string; content: string }>(`artifact:${nodeId}:${name}`) ?? null;
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

  // ------------------------------------------------------------------ state

  private async pinned(workflowId: string, version: number): Promise<Definition> {
    const def = (await getDefinitions(this.env.DB, [{ workflowId, version }])).get(`${workflowId}@${version}`);
    if (def === undefined) throw new StartError(`Workflow ${workflowId} has no version ${version}`);
    if (def instanceof Error) throw new StartError(def.message);
    return def;
  }

  /**
   * Loads the run once per instance, and only reads: an attempt a previous instance left open is
   * settled by the alarm at its deadline, never by a read or a cancel.
   */
  private async load() {
    if (this.state !== undefined) return;
    const kv = this.ctx.storage.kv;
    const stored = kv.get<Stored>(RUN);
    if (!stored) {
      this.state = null;
      return;
    }
    const definition = await this.pinned(stored.workflow_id, stored.workflow_version);
    if (this.state !== undefined) return; // loaded meanwhile by another call
    let state: RunState;
    if (stored.layout === "split") {
      const { layout: _layout, step_ids, ...rest } = stored;
      state = { ...rest, steps: step_ids.map((id) => kv.get<StepState>(stepKey(id))!) };
      this.layout = "split";
    } else {
      const { layout: _layout, ...rest } = stored;
      state = rest;
    }
    this.state = { ...state, rev: state.rev ?? 0 }; // rows written before revisions existed
    this.definition = definition;
  }

  /**
   * Runs the engine on one event and writes what changed — state, artifacts and the alarm — in
   * this synchronous turn, so they commit together before any effect leaves the object.
   */
  private apply(event: RunEvent, from: RunState | null = this.state ?? null): Effect[] {
    if (!from || !this.definition) return [];
    const now = this.clock.now();
    const { state, effects } = advance(from, this.definition, event, { now: new Date(now), random: this.clock.random });
    // If this write throws, nothing changed: storage still holds the attempt open at its
    // deadline, and the alarm armed when it began stands.
    this.persist(state, from);
    const kv = this.ctx.storage.kv;
    for (const e of effects) {
      if (e.type === "artifact") kv.put(`artifact:${e.node_id}:${e.name}`, { content_type: e.content_type, content: e.content });
    }
    if (isTerminal(state.status) && !isTerminal(from.status)) count(`runs_${state.status}`);
    this.state = state;
    this.arm(this.wakeFor(state, now));
    logLines(effects.flatMap((e) => (e.type === "log" ? [{ kind: String(e.line.kind), fields: e.line }] : [])));
    return effects;
  }

  /**
   * One row for the whole run. A run that outgrows one row (a value may hold 2 MB; we switch at
   * 1 MiB of JSON) moves to a row per step for good, and then writes only the steps that changed.
   */
  private persist(state: RunState, from: RunState) {
    const kv = this.ctx.storage.kv;
    if (this.layout === "single") {
      if (JSON.stringify(state).length <= SINGLE_ROW_LIMIT) {
        kv.put(RUN, { ...state, layout: "single" });
        count("run_storage_rows_written");
        return;
      }
      this.layout = "split";
      from = { ...from, steps: [] }; // every step is written below
    }
    const { steps, ...run } = state;
    kv.put(RUN, { ...run, layout: "split", step_ids: steps.map((s) => s.node_id) });
    let rows = 1;
    steps.forEach((st, i) => {
      if (from.steps[i] !== st) {
        kv.put(stepKey(st.node_id), st);
        rows += 1;
      }
    });
    count("run_storage_rows_written", rows);
  }

  /** What the alarm is for next: work due, or a D1 index that lags behind a run that sleeps or ended. */
  private wakeFor(state: RunState, now: number): number | null {
    const due = nextWake(state);
    const needsIndex = resting(state) && !this.indexed(state);
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

  private async execute(exec: Extract<Effect, { type: "execute" }>): Promise<{ result: ActionResult; logs: LogEntry[] }> {
    const state = this.state!;
    const cfg = config(this.env);
    const logs: LogEntry[] = [];
    const controller = new AbortController();
    this.inFlight = controller;
    const ctx: ActionContext = {
      runId: state.id,
      workflowId: state.workflow_id,
      nodeId: exec.node_id,
      attempt: exec.attempt,
      idempotencyKey: `${state.id}:${exec.node_id}`,
      now: new Date(this.clock.now()),
      signal: controller.signal,
      trigger: state.trigger,
      checkpoint: exec.checkpoint,
      log: (message) => logs.push({ at: new Date().toISOString(), message }),
    };
    const deps: ActionDeps = { config: cfg, db: this.env.DB, email: this.env.EMAIL, fetch: (input, init) => fetch(input, init) };
    const step = state.steps.find((s) => s.node_id === exec.node_id)!;
    const module = nodeModule(step.type) as ActionModule;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<ActionResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error("timeout"));
        resolve({ ok: false, error: `Timed out after ${exec.timeout_ms} ms`, retryable: true });
      }, exec.timeout_ms);
    });
    if (!this.indexed(state)) this.indexTimer ??= setTimeout(() => void this.writeIndex(), INDEX_DELAY_MS);
    let result: ActionResult;
    try {
      result = await Promise.race([module.execute(exec.input, ctx, deps), timeout]);
    } catch (err) {
      // An action that throws had a bug or met an unexpected failure; retrying is the safe default.
      result = { ok: false, error: err instanceof Error ? err.message : String(err), retryable: true };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.inFlight = undefined;
    }
    // Defence in depth: actions keep secrets out, but nothing a server echoes may reach a record.
    const forms = secretForms(cfg.credentials.values());
    return { result: redact(result, forms) as ActionResult, logs: redact(logs, forms) as LogEntry[] };
  }

  // ------------------------------------------------------------------ the D1 index

  /** After a burst of work: bring the D1 index up to date when the run ended or sleeps. */
  private async settle() {
    const state = this.state;
    if (!state || !resting(state)) return;
    if (await this.writeIndex()) this.arm(this.wakeFor(state, this.clock.now()));
  }

  private indexKey(state: RunState): string {
    return `${state.status}|${JSON.stringify(stepStatuses(state))}`;
  }

  private indexed(state: RunState): boolean {
    return this.ctx.storage.kv.get<IndexMark>(INDEXED)?.key === this.indexKey(state);
  }

  /**
   * Writes the run's row in the D1 index when it changed; false when D1 refused. Two writes may
   * be in flight at once and finish in any order: the row and the mark both keep the newest
   * revision, never the last to arrive.
   */
  private async writeIndex(): Promise<boolean> {
    if (this.indexTimer !== undefined) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    const state = this.state;
    if (!state) return true;
    const key = this.indexKey(state);
    const kv = this.ctx.storage.kv;
    if (kv.get<IndexMark>(INDEXED)?.key === key) return true;
    try {
      track(
        await upsertRunStatement(this.env.DB, {
          id: state.id,
          rev: state.rev,
          workflow_id: state.workflow_id,
          workflow_version: state.workflow_version,
          status: state.status,
          test: state.test,
          event_id: state.test ? null : state.trigger.id,
          entity: state.trigger.entity,
          entity_id: state.trigger.entity_id,
          started_at: Date.parse(state.started_at),
          finished_at: state.finished_at ? Date.parse(state.finished_at) : null,
          error: state.error,
          summary: state.summary,
          steps: stepStatuses(state),
        }).run(),
      );
      const mark = kv.get<IndexMark>(INDEXED);
      if (!mark || mark.rev < state.rev) {
        kv.put(INDEXED, { rev: state.rev, key } satisfies IndexMark);
        count("run_storage_rows_written");
      }
      return true;
    } catch (err) {
      logError("run_index", err, { run_id: state.id });
      return false;
    }
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
