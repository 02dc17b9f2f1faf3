import { z } from "zod";

/*
 * Backfills and schedules on the wire (SPEC §15): `POST /api/workflows/{id}/backfill`, its
 * progress, and the next times of a cron expression for the builder.
 */

/** The most runs one backfill (or one tick of a per-entity schedule) starts. */
export const MAX_BACKFILL_RUNS = 100_000;

export const BACKFILL_STATUSES = ["running", "done", "cancelled", "failed"] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

export const BackfillRequestSchema = z.strictObject({
  limit: z
    .int()
    .min(1)
    .max(MAX_BACKFILL_RUNS)
    .optional()
    .describe(`The most runs to start (default and at most ${MAX_BACKFILL_RUNS}); the entities that match first, in id order`),
});
export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

export const BackfillSchema = z.object({
  id: z.string(),
  workflow_id: z.string(),
  /** The version the runs start on: the active one when the backfill was asked. */
  version: z.int(),
  /** `running` while entities are walked; `done` once all were (runs may still be going); `cancelled`; `failed` when the mirror could not be read. */
  status: z.enum(BACKFILL_STATUSES),
  limit: z.int(),
  /** Entities of the trigger's kind read so far. */
  examined: z.int(),
  /** Of those, the ones that matched the trigger's tags and conditions. */
  matched: z.int(),
  /**
   * Runs started, or handed to the workflow's flow-control gate (SPEC §14), which holds them
   * (concurrency, throttle), folds them (debounce) or suppresses them (cooldown) as its controls say.
   */
  started: z.int(),
  /** Matched entities a run had been started for already (by an earlier backfill of this version). */
  duplicates: z.int(),
  /** Matched entities whose run could not be started (logged); a new backfill starts just those. */
  errors: z.int(),
  /** Runs of this backfill that completed, failed or were cancelled so far (from the runs index). */
  completed: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  /** More entities matched than `limit` allowed. */
  limit_reached: z.boolean(),
  created_at: z.iso.datetime(),
  finished_at: z.iso.datetime().nullable(),
  /** Why it stopped before walking every entity: cancelled, the workflow no longer active, a failure. */
  reason: z.string().nullable(),
});
export type Backfill = z.infer<typeof BackfillSchema>;

export const CronTimesQuerySchema = z.object({
  cron: z.string().min(1).max(200).describe('A five-field UTC cron expression, e.g. "0 6 * * 1"'),
  count: z.coerce.number().int().min(1).max(20).default(5),
});

export const CronTimesSchema = z.object({
  cron: z.string(),
  /** The next times it runs (UTC, ISO), after now. */
  next: z.array(z.iso.datetime()),
});
export type CronTimes = z.infer<typeof CronTimesSchema>;
