import { z } from "zod";
import { NodeIdSchema } from "../definition/common";
import { StepStatusSchema } from "./run";

/* Retry from a step (SPEC §15): the requests and what they answer. */

export const RetryVersionSchema = z.enum(["pinned", "latest"]).describe("Run the original's pinned version, or the workflow's current one");

export const RetryBodySchema = z.strictObject({
  /** The node to start from; absent: the step that stopped the run (a completed run needs one). */
  from: NodeIdSchema.optional(),
  version: RetryVersionSchema.default("pinned"),
  /** Answer the plan (where it starts, the side effects already made) and start nothing. */
  dry_run: z.boolean().default(false),
});
export type RetryBody = z.input<typeof RetryBodySchema>;

export const SideEffectSchema = z.object({
  node_id: z.string(),
  type: z.string(),
  status: StepStatusSchema,
  /** Its output in one line. */
  summary: z.string(),
  /** What it added to the original's summary counters. */
  counters: z.record(z.string(), z.number()),
});
export type SideEffect = z.infer<typeof SideEffectSchema>;

export const RetryAnswerSchema = z.object({
  /** The new run; null for a dry run. */
  run_id: z.string().nullable(),
  retry_of: z.string(),
  from: z.string(),
  workflow_version: z.int(),
  /** What the original run already did outside, before `from`: not done again. */
  side_effects: z.array(SideEffectSchema),
});
export type RetryAnswer = z.infer<typeof RetryAnswerSchema>;

/** The most runs one bulk request retries; `next_cursor` goes on from there. */
export const BULK_RETRY_MAX = 500;

export const BulkRetryBodySchema = z.strictObject({
  workflow_id: z.string().min(1).max(100),
  status: z.enum(["failed", "cancelled"]).default("failed"),
  /** Runs started at or after this time (ISO 8601). */
  since: z.iso.datetime({ offset: true }),
  /** Runs started before this time; absent: now. */
  until: z.iso.datetime({ offset: true }).optional(),
  /** `true`: test runs only; `false`: real runs only; absent: both. */
  test: z.boolean().optional(),
  version: RetryVersionSchema.default("pinned"),
  limit: z.int().min(1).max(BULK_RETRY_MAX).default(BULK_RETRY_MAX),
  cursor: z.string().max(500).optional(),
});
export type BulkRetryBody = z.input<typeof BulkRetryBodySchema>;

export const BulkRetryAnswerSchema = z.object({
  /** Each run retried now, with its new run. */
  items: z.array(z.object({ run_id: z.string(), retry_id: z.string() })),
  /** Runs left alone, and why: retried before, or a retry from their failed step is not possible. */
  skipped: z.array(z.object({ run_id: z.string(), reason: z.string() })),
  /** More runs match: send the same request with this cursor. */
  next_cursor: z.string().nullable(),
});
export type BulkRetryAnswer = z.infer<typeof BulkRetryAnswerSchema>;
