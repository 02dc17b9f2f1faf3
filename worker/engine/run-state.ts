import { z } from "zod";
import type { RunSummary } from "../actions/types";
import type { Scope } from "../definition/interpolate";
import type { Definition } from "../definition/schema";

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
  summary: RunSummary;
  /** One per node of the pinned version, in definition order, from the start of the run. */
  steps: StepState[];
  /** The node being executed or waited on; null before start and after the end. */
  current: string | null;
}

export const emptySummary = (): RunSummary => ({
  plans_created: 0,
  items_added: 0,
  items_skipped: 0,
  emails_sent: 0,
  webhooks_called: 0,
  errors: 0,
});

export function initialState(input: {
  id: string;
  workflow_id: string;
  workflow_version: number;
  definition: Definition;
  trigger: TriggerInfo;
  test: boolean;
  now: Date;
}): RunState {
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
    summary: emptySummary(),
    steps: input.definition.nodes.map((n) => ({
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
    })),
    current: null,
  };
}
