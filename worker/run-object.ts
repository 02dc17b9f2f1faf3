import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { nodeModule } from "./actions";
import type { ActionContext, ActionDeps, ActionModule, ActionResult } from "./actions/types";
import { config } from "./config";
import { DefinitionSchema, type Definition } from "./definition/schema";
import { upsertRunStatement } from "./db/run-index";
import { advance, nextWake, stepStatuses, type Effect, type RunEvent } from "./engine/run-machine";
import { initialState, isTerminal, type LogEntry, type RunState, type StepState } from "./engine/run-state";
import { redact, secretForms } from "./lib/net";
import { count, track } from "./lib/metrics";
import { logError, logLines } from "./log";

export const TriggerInfoSchema = z.object({
  id: z.string(),
  type: z.string(),
  entity: z.string(),
  entity_id: z.string(),
  occurred_at: z.string(),
  data: z.unknown(),
  previous: z.unknown(),
});

export const StartInputSchema = z.object({
  workflow_id: z.string(),
  workflow_version: z.int(),
  definition: DefinitionSchema,
  trigger: TriggerInfoSchema,
  test: z.boolean().default(false),
});
export type StartInput = z.input<typeof StartInputSchema>;

/** A run as the API shows it: the state with its steps in definition order and the pinned definition. */
export type RunRecord = Omit<RunState, "current" | "steps"> & { definition: Definition; steps: Omit<StepState, "checkpoint">[] };

/** Extra time past a step's timeout before the safety alarm assumes the runtime died. */
const ALARM_MARGIN_MS = 15_000;
/** A run still busy after this long gets its "running" row in the D1 index. */
const INDEX_DELAY_MS = 1_000;
/** How soon to try again when writing the D1 index failed. */
const INDEX_RETRY_MS = 5_000;

interface Stored {
  run: Omit<RunState, "steps"> & { step_ids: string[] };
  indexed: string | null;
}

/**
 * One run of one workflow version. Owns the run's state in its SQLite storage; the engine decides,
 * this shell persists, performs effects and arms one alarm for whatever is due next.
 *
 * Invariants: every state change is written (synchronously, in the turn that made it) before an
 * effect it leads to starts — the output gate holds the outgoing request until the write is
 * durable; at most one action executes at a time; the alarm is armed whenever something is due or
 * an action is in flight, so a restart of the runtime always resumes the run.
 */
export class RunObject extends DurableObject<Env> {
  private state: RunState | null | undefined;
  private definition: Definition | undefined;
  private chain: Promise<void> = Promise.resolve();
  private indexTimer: ReturnType<typeof setTimeout> | undefined;
  /** The alarm this instance last set; undefined until it set one. */
  private alarmAt: number | null | undefined;
  /** Deadline of the action in flight, if any. */
  private safetyAt: number | undefined;
  /** Time and chance as inputs: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now(), random: () => Math.random() };

  /** Starts the run unless this object already holds one (the same event delivered again). */
  async start(raw: StartInput): Promise<{ id: string; created: boolean; status: string }> {
    count("run_rpc_start");
    const input = StartInputSchema.parse(raw);
    this.load();
    if (this.state) return { id: this.state.id, created: false, status: this.state.status };
    const state = initialState({
      id: this.ctx.id.toString(),
      workflow_id: input.workflow_id,
      workflow_version: input.workflow_version,
      definition: input.definition,
      trigger: input.trigger,
      test: input.test,
      now: new Date(this.clock.now()),
    });
    this.definition = input.definition;
    this.ctx.storage.kv.put("definition", input.definition);
    this.kick(this.apply({ type: "start" }, state, true));
    return { id: state.id, created: true, status: this.state!.status };
  }

  /** The run as the API answers it, as JSON text (ready to send, and typed at the route). */
  async snapshot(): Promise<string | null> {
    this.load();
    return this.state ? JSON.stringify(this.record(this.state)) : null;
  }

  /** The run once the action executing now (if any) has finished and its result is recorded. */
  async settled(): Promise<string | null> {
    this.load();
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
    return this.state ? JSON.stringify(this.record(this.state)) : null;
  }

  /** Stops a run at once: a waiting or retrying step is cancelled with every pending one. */
  async cancel(): Promise<{ cancelled: boolean; status: string | null; run: string | null }> {
    this.load();
    if (!this.state) return { cancelled: false, status: null, run: null };
    if (isTerminal(this.state.status)) return { cancelled: false, status: this.state.status, run: JSON.stringify(this.record(this.state)) };
    this.apply({ type: "cancel" });
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
      this.load();
      if (!this.state) return;
      // The alarm that fired is gone; whatever apply() arms next is a new one.
      this.alarmAt = null;
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

  /** Loads the run once per instance; an attempt left open by a previous instance was cut off. */
  private load() {
    if (this.state !== undefined) return;
    const kv = this.ctx.storage.kv;
    const run = kv.get<Stored["run"]>("run");
    if (!run) {
      this.state = null;
      return;
    }
    const { step_ids, ...rest } = run;
    this.state = { ...rest, steps: step_ids.map((id) => kv.get<StepState>(`step:${id}`)!) };
    this.definition = kv.get<Definition>("definition")!;
    this.kick(this.apply({ type: "recover" }));
  }

  /**
   * Runs the engine on one event and writes what changed — state, artifacts and the alarm — in
   * this synchronous turn, so they commit together before any effect leaves the object.
   */
  private apply(event: RunEvent, from: RunState | null = this.state ?? null, writeAll = false): Effect[] {
    if (!from || !this.definition) return [];
    const now = this.clock.now();
    const { state, effects } = advance(from, this.definition, event, { now: new Date(now), random: this.clock.random });
    const kv = this.ctx.storage.kv;
    for (const e of effects) {
      if (e.type === "artifact") kv.put(`artifact:${e.node_id}:${e.name}`, { content_type: e.content_type, content: e.content });
    }
    const { steps, ...run } = state;
    kv.put("run", { ...run, step_ids: steps.map((s) => s.node_id) });
    let rows = 1;
    steps.forEach((st, i) => {
      if (writeAll || from.steps[i] !== st) {
        kv.put(`step:${st.node_id}`, st);
        rows += 1;
      }
    });
    count("run_storage_rows_written", rows);
    if (isTerminal(state.status) && !isTerminal(from.status)) count(`runs_${state.status}`);
    this.state = state;
    const exec = effects.find((e) => e.type === "execute");
    // While an action runs, the alarm stands past its timeout: if the runtime dies, the run resumes.
    if (exec) this.safetyAt = Math.max(this.safetyAt ?? 0, now + exec.timeout_ms + ALARM_MARGIN_MS);
    this.arm(nextWake(state));
    logLines(effects.flatMap((e) => (e.type === "log" ? [{ kind: String(e.line.kind), fields: e.line }] : [])));
    return effects;
  }

  /** Sets the one alarm to the earliest due time (or the safety deadline of a running action). */
  private arm(wake: number | null) {
    const at = this.safetyAt !== undefined ? Math.min(wake ?? Infinity, this.safetyAt) : wake;
    const target = at === null || !Number.isFinite(at) ? null : at;
    if (target === this.alarmAt) return;
    this.alarmAt = target;
    count("run_alarm_writes");
    void (target === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(target));
  }

  /** Executes the actions the engine asked for, one at a time, feeding each result back. */
  private kick(effects: Effect[]) {
    const first = effects.find((e) => e.type === "execute");
    if (!first) {
      this.chain = this.chain.then(() => this.settle()).catch((err) => logError("run_settle", err, { run_id: this.ctx.id.toString() }));
      return;
    }
    this.chain = this.chain
      .then(async () => {
        let exec: Effect | undefined = first;
        while (exec?.type === "execute") {
          const { result, logs } = await this.execute(exec);
          const done: Effect = exec;
          this.safetyAt = undefined;
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
    }
    // Defence in depth: actions keep secrets out, but nothing a server echoes may reach a record.
    const forms = secretForms(cfg.credentials.values());
    return { result: redact(result, forms) as ActionResult, logs: redact(logs, forms) as LogEntry[] };
  }

  // ------------------------------------------------------------------ alarm and index

  /** After a burst of work: bring the D1 index up to date when the run ended or sleeps. */
  private async settle() {
    const state = this.state;
    if (!state) return;
    const wake = nextWake(state);
    if (!isTerminal(state.status) && wake === null) return;
    if (!(await this.writeIndex())) this.arm(Math.min(wake ?? Infinity, this.clock.now() + INDEX_RETRY_MS));
  }

  private indexKey(state: RunState): string {
    return `${state.status}|${JSON.stringify(stepStatuses(state))}`;
  }

  private indexed(state: RunState): boolean {
    return this.ctx.storage.kv.get<string>("indexed") === this.indexKey(state);
  }

  /** Writes the run's row in the D1 index when it changed; false when D1 refused. */
  private async writeIndex(): Promise<boolean> {
    if (this.indexTimer !== undefined) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    const state = this.state;
    if (!state) return true;
    const key = this.indexKey(state);
    if (this.ctx.storage.kv.get<string>("indexed") === key) return true;
    try {
      track(await upsertRunStatement(this.env.DB, {
        id: state.id,
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
      }).run());
      this.ctx.storage.kv.put("indexed", key);
      return true;
    } catch (err) {
      logError("run_index", err, { run_id: state.id });
      return false;
    }
  }

  private record(state: RunState): RunRecord {
    const { current: _current, steps, ...rest } = state;
    return {
      ...rest,
      definition: this.definition!,
      steps: steps.map(({ checkpoint: _checkpoint, ...st }) => st),
    };
  }
}
