import { z } from "zod";
import { END_REASONS, EPISODE_STATUSES, WaveSchema } from "../restock/episode";
import { PageQuerySchema } from "./page";

/** Back-in-stock restock episodes as the API shows them (SPEC §12). An episode as kept is restock's. */

export { END_REASONS, EPISODE_STATUSES, WaveSchema, type Wave } from "../restock/episode";

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
