import { z } from "zod";

/*
 * Runs over time and step failures (issue 14), counted in D1 from the run index. Test runs are
 * left out: they say how a workflow is being built, not how it does.
 */

export const RUN_STATS_BUCKET_MS = 3_600_000;

export const RunStatsQuerySchema = z.object({
  hours: z.coerce.number().int().min(1).max(168).default(24).describe("The window, in hours up to now (at most 7 days)"),
  workflow_id: z.string().min(1).max(100).optional().describe("Only this workflow's runs"),
});

/** Runs started in one hour (UTC), by their status now. */
export const RunStatsBucketSchema = z.object({
  /** The hour's first instant, ISO 8601. */
  start: z.string(),
  completed: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  /** Pending or running. */
  running: z.int(),
});
export type RunStatsBucket = z.infer<typeof RunStatsBucketSchema>;

const CountsSchema = RunStatsBucketSchema.omit({ start: true });

export const RunStatsSchema = z.object({
  workflow_id: z.string().nullable(),
  hours: z.int(),
  /** The first bucket's start and the end of the window (now). */
  from: z.string(),
  to: z.string(),
  bucket_ms: z.int(),
  /** One per hour of the window, oldest first; hours without runs count zeros. */
  buckets: z.array(RunStatsBucketSchema),
  totals: CountsSchema,
});
export type RunStats = z.infer<typeof RunStatsSchema>;

export const StepFailuresQuerySchema = z.object({
  hours: z.coerce.number().int().min(1).max(720).default(168).describe("The window, in hours up to now (at most 30 days)"),
});

export const StepFailureSchema = z.object({
  node_id: z.string(),
  /** The step's name and type in the workflow's current version; null when it no longer has the step. */
  name: z.string().nullable(),
  type: z.string().nullable(),
  /** Runs in which the step finished: succeeded or failed. */
  runs: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  /** failed / runs, 0 to 1. */
  failure_rate: z.number(),
});
export type StepFailure = z.infer<typeof StepFailureSchema>;

export const StepFailuresSchema = z.object({
  workflow_id: z.string(),
  hours: z.int(),
  from: z.string(),
  to: z.string(),
  /** Runs started in the window (test runs aside). */
  runs: z.int(),
  /** In the order of the current version's steps; steps it no longer has last. */
  steps: z.array(StepFailureSchema),
});
export type StepFailures = z.infer<typeof StepFailuresSchema>;
