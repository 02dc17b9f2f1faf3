import { z } from "zod";
import { utcDate } from "../definition/date-spec";
import type { WaitingFor } from "../definition/controls";
import type { FlowDefinition } from "../definition/graph";
import type { Scope } from "../definition/interpolate";
import type { NodeCatalog } from "./step";

export const RUN_STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const STEP_STATUSES = ["pending", "running", "succeeded", "failed", "skipped", "cancelled"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const isTerminal = (s: RunStatus) => s === "completed" || s === "failed" || s === "cancelled";

export interface Attempt {
  started_at: string;
  finished_at: string | null;
  error: string | null;
}

export interface LogEntry {
  at: string;
  message: string;
}

export interface StepState {
  node_id: string;
  type: string;
  status: StepStatus;
  /** The resolved config: interpolated, dates resolved; credential names only, never values. */
  input: unknown;
  output: unknown;
  logs: LogEntry[];
  attempts: Attempt[];
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** Set while the step waits to retry. */
  next_attempt_at: string | null;
  /** Set while a wait step sleeps, or a long step waits to continue. */
  wake_at: string | null;
  /**
   * Set while an invocation of the action is in flight: the alarm stands at this time, and an
   * attempt still open then never reported back (the runtime stopped, or its result could not be
   * stored) and counts as interrupted. Kept out of the API record.
   */
  deadline_at: string | null;
  /** Progress a resumable action saved; kept across attempts of the step. */
  checkpoint?: unknown;
  /** Copied from the run this one retries (SPEC §15): it ran there, and was not executed again here. */
  reused?: true;
}

/** The event a run started from, as `{{trigger.*}}` sees it. */
export type TriggerInfo = Scope["trigger"];
export const TriggerInfoSchema = z.object({
  id: z.string(),
  type: z.string(),
  entity: z.string(),
  entity_id: z.string(),
  occurred_at: z.string(),
  data: z.unknown(),
  previous: z.unknown(),
  /** Related entities by kind (SPEC §11); absent on runs started before they existed. */
  related: z.record(z.string(), z.unknown()).optional(),
}) satisfies z.ZodType<TriggerInfo>;

export interface RunState {
  id: string;
  /**
   * Bumped on every state change and persisted with the state, so writes that describe the run
   * elsewhere (its D1 row) can be ordered: a write carrying an older revision never wins.
   */
  rev: number;
  workflow_id: string;
  workflow_version: number;
  workflow_name: string;
  status: RunStatus;
  test: boolean;
  trigger: TriggerInfo;
  started_at: string;
  finished_at: string | null;
  error: string | null;
  /** The counters of SPEC §10 by name: every counter of the node catalog the run started with. */
  summary: Record<string, number>;
  /** One per node of the pinned version, in definition order, from the start of the run. */
  steps: StepState[];
  /** The node being executed or waited on; null before start and after the end. */
  current: string | null;
  /** Why a pending run has not started (SPEC §14): its gate holds it; null when nothing does. */
  waiting_for: WaitingFor | null;
  /** The flow-control key the run holds a place under (SPEC §14); null for a workflow without per-key controls. */
  flow_key: string | null;
  /** The run this one retries, and the node it started from (SPEC §15); null for a run of its own. */
  retry_of: RetryOf | null;
  /** The runs that retry this one, oldest first. */
  retried_by: string[];
  /**
   * Why a completed run ended before its last step (SPEC §15): "trigger no longer matches" when a
   * wait's `recheck_trigger` found the trigger no longer holds; the steps left are skipped. Null otherwise.
   */
  ended_early: string | null;
}

/** A retry's link to its original: the steps before `from` were copied from it (`reused`). */
export interface RetryOf {
  run_id: string;
  from: string;
}

const pendingStep = (n: { id: string; type: string }): StepState => ({
  node_id: n.id,
  type: n.type,
  status: "pending",
  input: null,
  output: null,
  logs: [],
  attempts: [],
  error: null,
  started_at: null,
  finished_at: null,
  next_attempt_at: null,
  wake_at: null,
  deadline_at: null,
});

export function initialState(input: {
  id: string;
  workflow_id: string;
  workflow_version: number;
  definition: Pick<FlowDefinition, "name" | "nodes">;
  trigger: TriggerInfo;
  test: boolean;
  now: Date;
  catalog: NodeCatalog;
  waiting_for?: WaitingFor | null;
  flow_key?: string | null;
  /** A retry (SPEC §15): its original, where it starts, and the original's steps before that, reused as they are. */
  retry?: { of: RetryOf; reused: readonly StepState[] };
}): RunState {
  const reused = new Map((input.retry?.reused ?? []).map((st) => [st.node_id, st]));
  return {
    id: input.id,
    rev: 0,
    workflow_id: input.workflow_id,
    workflow_version: input.workflow_version,
    workflow_name: input.definition.name,
    status: "pending",
    test: input.test,
    trigger: input.trigger,
    started_at: input.now.toISOString(),
    finished_at: null,
    error: null,
    summary: Object.fromEntries(input.catalog.counters.map((c) => [c, 0])),
    steps: input.definition.nodes.map((n): StepState => {
      const copied = reused.get(n.id);
      return copied ? { ...copied, next_attempt_at: null, wake_at: null, deadline_at: null, reused: true } : pendingStep(n);
    }),
    current: null,
    waiting_for: input.waiting_for ?? null,
    flow_key: input.flow_key ?? null,
    retry_of: input.retry?.of ?? null,
    retried_by: [],
    ended_early: null,
  };
}

const currentStep = (state: RunState) => (state.current ? state.steps.find((s) => s.node_id === state.current) : undefined);

/**
 * When the shell must wake the run next (epoch ms), or null when nothing is scheduled: a retry,
 * the end of a wait, a continuation, or the deadline of an action in flight — so the alarm is
 * armed for as long as an attempt is open.
 */
export function nextWake(state: RunState): number | null {
  // A run its gate holds starts when the gate releases it, never by itself.
  if (state.status === "pending") return state.waiting_for ? null : 0;
  if (state.status !== "running") return null;
  const step = currentStep(state);
  const at = step?.next_attempt_at ?? step?.wake_at ?? step?.deadline_at;
  return at ? Date.parse(at) : null;
}

/**
 * A step that awaits a signal (ActionResult `await`): running, its last attempt done without
 * error, and the alarm set at its deadline (`wake_at`). A sleeping wait step has no attempt, a
 * step waiting to retry no `wake_at`, a long step waiting to continue an attempt still open.
 */
export function isAwaiting(st: StepState): boolean {
  const last = st.attempts.at(-1);
  return st.status === "running" && st.wake_at !== null && st.next_attempt_at === null && last !== undefined && last.finished_at !== null && last.error === null;
}

/** The run ended, or sleeps until a retry or a wake-up with no action in flight. */
export function resting(state: RunState): boolean {
  if (isTerminal(state.status) || (state.status === "pending" && state.waiting_for !== null)) return true;
  const step = currentStep(state);
  return state.status === "running" && !step?.deadline_at && nextWake(state) !== null;
}

/** The values `{{...}}` can reach while a run is at `now`. */
export function runScope(state: RunState, now: Date): Scope {
  const steps: Scope["steps"] = {};
  for (const s of state.steps) if (s.output !== null && s.output !== undefined) steps[s.node_id] = { output: s.output };
  return {
    trigger: state.trigger,
    steps,
    workflow: { id: state.workflow_id, name: state.workflow_name, version: state.workflow_version },
    run: { id: state.id },
    now: now.toISOString(),
    today: utcDate(now),
  };
}

/** The status every step has, for the D1 index. */
export function stepStatuses(state: RunState): Record<string, StepStatus> {
  return Object.fromEntries(state.steps.map((s) => [s.node_id, s.status]));
}

/** One line of the JSON log (README, "Following runs"). */
export type LogLine = Record<string, string | number | boolean | null>;

/** How a step's transition shows in the log: its status, attempt and how long the attempt took. */
export function stepLine(run: RunState, st: StepState, extra: Record<string, string | number | null> = {}): LogLine {
  const started = st.attempts.at(-1)?.started_at ?? st.started_at;
  const ms = st.finished_at && started ? Date.parse(st.finished_at) - Date.parse(started) : 0;
  return { kind: "step", run_id: run.id, workflow_id: run.workflow_id, node_id: st.node_id, status: st.status, attempt: st.attempts.length, ms, ...extra };
}

/** How a run's start and end show in the log. */
export function runLine(run: RunState): LogLine {
  return {
    kind: "run",
    run_id: run.id,
    workflow_id: run.workflow_id,
    status: run.status,
    test: run.test,
    ms: run.finished_at ? Date.parse(run.finished_at) - Date.parse(run.started_at) : 0,
    ...(run.error ? { error: run.error } : {}),
  };
}
