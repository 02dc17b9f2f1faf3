import { z } from "zod";
import { PageQuerySchema } from "./page";

/** Back-in-stock restock episodes as the API shows them (SPEC §12). An episode as its object keeps it is restock's (worker/restock/episode.ts), built on these. */

export const EPISODE_STATUSES = ["sending", "waiting", "ended"] as const;
/** `superseded`: the stock sold out and came back, and the newer episode of the same workflow, variant and shop scope took over. */
export const END_REASONS = ["no_waiting", "stock_below", "workflow_inactive", "superseded"] as const;

export const WaveSchema = z.object({
  /** 1 for the first wave. */
  n: z.int().min(1),
  started_at: z.string(),
  /** Stock counted when the wave started. */
  available: z.int(),
  /** At most this many notified; null: every waiting subscription (no per_unit). */
  size: z.int().nullable(),
  notified: z.int().min(0),
  /** When its last subscription was notified (or none were left). */
  ended_at: z.string().nullable(),
});
export type Wave = z.infer<typeof WaveSchema>;


export const RestockEpisodeSchema = z.object({
  id: z.string(),
  workflow_id: z.string(),
  version: z.int(),
  variant_id: z.string(),
  shop_id: z.string().nullable().describe("The shop whose stock counts; null: the subscriptions without a shop, against every shop's stock"),
  status: z.enum(EPISODE_STATUSES).describe("sending a wave, waiting for the next one, or ended"),
  end_reason: z.enum(END_REASONS).nullable(),
  min_stock: z.int(),
  per_unit: z.number().nullable(),
  wave_minutes: z.int(),
  notified: z.int().describe("Runs started over all waves"),
  waiting: z.int().describe("Pending subscriptions not yet notified in this episode, counted when the last wave ended"),
  waves: z.array(WaveSchema),
  event_id: z.string().describe("The stock event whose change crossed min_stock"),
  started_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().nullable(),
});
export type RestockEpisode = z.infer<typeof RestockEpisodeSchema>;

export const RestockListQuerySchema = PageQuerySchema.extend({
  variant_id: z.string().min(1).max(255).optional(),
});
