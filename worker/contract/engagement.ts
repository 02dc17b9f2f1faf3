import { z } from "zod";

/* Engagement and conversion on the wire (SPEC §12): a run's tracked links with their clicks, and the back-in-stock summary. */

/** One link a `track_links` step rewrote, with its clicks (a step's output is final, so clicks live beside it). */
export const TrackedLinkSchema = z.object({
  node_id: z.string(),
  /** The original URL the tracked link redirects to. */
  url: z.string(),
  /** The run's trigger subscription, moved from delivered to engaged by a click; null for none. */
  subscription_id: z.string().nullable(),
  /** Written by a test run: test data. */
  test: z.boolean(),
  clicks: z.int(),
  first_click_at: z.string().nullable(),
  last_click_at: z.string().nullable(),
  created_at: z.string(),
});
export type TrackedLink = z.infer<typeof TrackedLinkSchema>;
export const RunClicksSchema = z.object({ data: z.array(TrackedLinkSchema) });
export type RunClicks = z.infer<typeof RunClicksSchema>;

export const BackInStockCountsSchema = z.object({
  /** Pending subscriptions now (the demand), whatever the window. */
  waiting: z.int(),
  /** Subscriptions notified in the window. */
  notified: z.int(),
  /** Of those, the ones that clicked a tracked link (or are engaged). */
  engaged: z.int(),
  /** Of those, the ones an order converted (or marked converted). */
  converted: z.int(),
  /** converted / notified; null when none was notified. */
  conversion_rate: z.number().nullable(),
  /** Revenue of the order lines attributed to them. */
  attributed_revenue: z.number(),
});
export type BackInStockCounts = z.infer<typeof BackInStockCountsSchema>;

export const BackInStockVariantSchema = BackInStockCountsSchema.extend({
  variant_id: z.string(),
  product_id: z.string().nullable(),
  product_name: z.string().nullable(),
  size: z.string().nullable(),
});
export type BackInStockVariant = z.infer<typeof BackInStockVariantSchema>;

export const BackInStockSummarySchema = z.object({
  from: z.string(),
  to: z.string(),
  attribution_days: z.int(),
  /** Most waiting first (the most wanted variants), at most `limit`. */
  variants: z.array(BackInStockVariantSchema),
  /** Variants in the summary, listed or not. */
  variant_count: z.int(),
  totals: BackInStockCountsSchema,
});
export type BackInStockSummary = z.infer<typeof BackInStockSummarySchema>;
