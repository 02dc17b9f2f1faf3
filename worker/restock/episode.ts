import { z } from "zod";

/*
 * A restock episode as its RestockObject keeps it (and as GET /api/restocks shows it): the
 * trigger's settings, the progress of its waves and the cursor of the next subscription to read.
 */

// The statuses, end reasons and waves are the wire's too: defined with the API's shapes.
import { END_REASONS, EPISODE_STATUSES, WaveSchema } from "../contract/restock";
export { END_REASONS, EPISODE_STATUSES, WaveSchema, type Wave } from "../contract/restock";

/** What starts an episode: the consumer's detection of a crossing, for one workflow. */
export const EpisodeStartSchema = z.object({
  id: z.string().min(1),
  workflow_id: z.string().min(1),
  version: z.int().min(1),
  variant_id: z.string().min(1),
  /** Null: the subscriptions without a shop, counted against every shop's stock. */
  shop_id: z.string().nullable(),
  /** The stock event whose change crossed min_stock. */
  event_id: z.string().min(1),
  min_stock: z.int().min(1),
  per_unit: z.number().positive().nullable(),
  wave_minutes: z.int().min(1),
});
export type EpisodeStart = z.infer<typeof EpisodeStartSchema>;

export const EpisodeStateSchema = EpisodeStartSchema.extend({
  status: z.enum(EPISODE_STATUSES),
  end_reason: z.enum(END_REASONS).nullable(),
  started_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().nullable(),
  /** When the next wave is due (status waiting), epoch ms. */
  wake_at: z.number().nullable(),
  /** The (created_at, id) of the last subscription read: the next read starts after it. */
  cursor: z.tuple([z.string(), z.string()]),
  waves: z.array(WaveSchema),
  /** Runs started (or found started) over all waves. */
  notified: z.int().min(0),
  /** Pending subscriptions after the cursor, counted when a wave ends. */
  waiting: z.int().min(0),
  /** Subscriptions read whose trigger tags or conditions did not match: no run. */
  skipped: z.int().min(0),
  /** Starts that found their run already started: a page redone after a failed invocation. */
  refused: z.int().min(0),
});
export type EpisodeState = z.infer<typeof EpisodeStateSchema>;
