import { z } from "zod";
import { RUN_STATUSES, STEP_STATUSES, TriggerInfoSchema, type Attempt, type LogEntry, type RunState, type StepState } from "../engine/run-state";
import { SUMMARY_COUNTERS, type RunSummary, type SummaryCounter } from "../nodes";
import { DefinitionSchema, type Definition } from "./definition";
import { PageQuerySchema } from "./page";
import { WAITING_FOR } from "../definition/controls";

export const WaitingForSchema = z.enum(WAITING_FOR).describe("Why a pending run waits: a concurrency slot, the throttle's next period, or a quiet debounce window");

/*
 * Runs as the API shows them (SPEC §10). The engine keeps its own types (it may not import the
 * contract: the contract reaches the engine through the node registry), so each schema here is
 * checked against the engine's type in both directions: a field added to one and not the other
 * stops the build.
 */

export const RunStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatusSchema>;
export const StepStatusSchema = z.enum(STEP_STATUSES);
export type StepStatus = z.infer<typeof StepStatusSchema>;
export type { RunSummary, SummaryCounter };

/** `true` when A and B assign to each other; `Expect` then compiles only for `true`. */
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;

/** The counters the node types declare (SPEC §10), each a whole number; fromEntries loses the keys' type. */
export const SummarySchema = z.object(Object.fromEntries(SUMMARY_COUNTERS.map((c) => [c, z.int()])) as Record<SummaryCounter, z.ZodInt>);
export type SummaryAgrees = Expect<Agree<z.infer<typeof SummarySchema>, RunSummary>>;

export const AttemptSchema = z.object({ started_at: z.string(), finished_at: z.string().nullable(), error: z.string().nullable() });
export type AttemptAgrees = Expect<Agree<z.infer<typeof AttemptSchema>, Attempt>>;

export const LogEntrySchema = z.object({ at: z.string(), message: z.string() });
export type LogEntryAgrees = Expect<Agree<z.infer<typeof LogEntrySchema>, LogEntry>>;

/** The event a run started from, as `{{trigger.*}}` sees it: the engine's own schema. */
export { TriggerInfoSchema };
export type RunTrigger = z.infer<typeof TriggerInfoSchema>;

export const StepSchema = z.object({
  node_id: z.string(),
  type: z.string(),
  status: StepStatusSchema,
  /** The resolved config: interpolated, dates resolved; credential names only, never values. */
  input: z.unknown(),
  output: z.unknown(),
  logs: z.array(LogEntrySchema),
  attempts: z.array(AttemptSchema),
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  wake_at: z.string().nullable(),
  /** Copied from the run this one retries (`retry_of`): it ran there and was not executed again. */
  reused: z.literal(true).optional(),
});
export type StepRecord = z.infer<typeof StepSchema>;
/** A step as the API shows it: the engine's state without the bookkeeping of an attempt in flight. */
export type StepView = Omit<StepState, "checkpoint" | "deadline_at">;
export type StepAgrees = Expect<Agree<StepRecord, StepView>>;

export const RunSchema = z.object({
  id: z.string(),
  workflow_id: z.string(),
  workflow_version: z.int(),
  workflow_name: z.string(),
  status: RunStatusSchema,
  test: z.boolean(),
  trigger: TriggerInfoSchema,
  /** The pinned version's definition. */
  definition: DefinitionSchema,
  started_at: z.string(),
  finished_at: z.string().nullable(),
  error: z.string().nullable(),
  summary: SummarySchema,
  steps: z.array(StepSchema),
  /** Why a pending run has not started (SPEC §14); null when nothing holds it. */
  waiting_for: WaitingForSchema.nullable(),
  /** The value of the workflow's flow-control key for this run; null without per-key controls. */
  flow_key: z.string().nullable(),
  /** The run this one retries and the node it started from (SPEC §15); null for a run of its own. */
  retry_of: z.object({ run_id: z.string(), from: z.string() }).nullable(),
  /** The runs that retry this one, oldest first. */
  retried_by: z.array(z.string()),
  /** Why a completed run ended before its last step: "trigger no longer matches" when a wait re-checked its trigger (SPEC §15); null otherwise. */
  ended_early: z.string().nullable(),
});
export type RunRecord = z.infer<typeof RunSchema>;
/**
 * A run as the run object serves it: its state without the revision and the current node, with
 * the pinned definition. The engine keys the summary by the catalog's counters, which the
 * registry names (SUMMARY_COUNTERS): the contract says which.
 */
export type RunView = Omit<RunState, "current" | "steps" | "rev"> & { definition: Definition; steps: StepView[] };
export type RunAgrees = Expect<Agree<RunRecord, Omit<RunView, "summary"> & { summary: RunSummary }>>;

/** A run in a list, from the D1 run index. */
export const RunListItemSchema = z.object({
  id: z.string(),
  workflow_id: z.string(),
  /** The workflow's current name; null once the workflow is gone. */
  workflow_name: z.string().nullable(),
  workflow_version: z.int(),
  status: RunStatusSchema,
  test: z.boolean(),
  event_id: z.string().nullable(),
  entity: z.string().nullable(),
  entity_id: z.string().nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  error: z.string().nullable(),
  summary: SummarySchema.nullable(),
  /** Every step's status by node id. */
  steps: z.record(z.string(), StepStatusSchema),
  waiting_for: WaitingForSchema.nullable(),
  flow_key: z.string().nullable(),
});
export type RunListItem = z.infer<typeof RunListItemSchema>;

export const RunListQuerySchema = PageQuerySchema.extend({
  workflow_id: z.string().max(100).optional(),
  status: RunStatusSchema.optional(),
  test: z.enum(["true", "false"]).optional(),
});

export const StepMessageQuerySchema = z.object({ as: z.enum(["rfc822", "html"]).default("rfc822") });
