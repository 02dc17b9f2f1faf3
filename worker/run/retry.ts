import { z } from "zod";
import type { RetryIssue, SideEffect } from "../engine/retry-plan";

/* What the run object's retry and signal calls take and answer (worker/run/run-object.ts). */

export const RetryRequestSchema = z.object({
  /** The node to start from; absent: the step that stopped the run. */
  from: z.string().optional(),
  /** The workflow version to run: a number, the workflow's current one ("latest"), or absent: the run's pinned version. */
  version: z.union([z.int().min(1), z.literal("latest")]).optional(),
  /** Answer the run's first retry instead of starting another (bulk retries). */
  once: z.boolean().default(false),
  /** Plan only: where it would start and the side effects already made; nothing is started. */
  dry_run: z.boolean().default(false),
});
export type RetryRequest = z.input<typeof RetryRequestSchema>;

export type RetryAnswer =
  | { outcome: "no_run" }
  | { outcome: "not_ended"; status: string }
  | { outcome: "retried_already"; run_id: string }
  | { outcome: "invalid"; issue: RetryIssue }
  | { outcome: "planned"; from: string; version: number; side_effects: SideEffect[] }
  | { outcome: "started"; run_id: string; created: boolean; from: string; version: number; side_effects: SideEffect[] };

export type SignalAnswer =
  | { outcome: "no_run" }
  | { outcome: "no_step" }
  | { outcome: "not_waiting"; status: string }
  | { outcome: "refused" }
  | { outcome: "accepted"; run: string };

/** The object name of the `n`th retry of a run: the same request repeated finds the same run. */
export const retryRunName = (runId: string, n: number) => `retry:${runId}:${n}`;
