import type { Restock } from "../definition/trigger";

/*
 * The pure parts of back-in-stock restocks (SPEC §12): when a stock change starts an episode, and
 * how many subscriptions a wave notifies. No bindings: the consumer (detect.ts) and the episode's
 * object (restock-object.ts) bring the numbers.
 */

/** Whether a stock change crosses the trigger's threshold: from below min_stock to at least it. */
export function crosses(before: number, after: number, minStock: number): boolean {
  return before < minStock && after >= minStock;
}

/**
 * Subscriptions one wave notifies at most: ceil(available × per_unit), null (no bound) without
 * per_unit. Never 0 while stock is at least min_stock ≥ 1 (per_unit > 0), so an episode always
 * moves on.
 */
export function waveSize(available: number, restock: Pick<Restock, "per_unit">): number | null {
  if (restock.per_unit === undefined) return null;
  // Rounded to 1e-9 first: 10 × 0.3 is 3.0000000000000004 in floating point, and is 3.
  return Math.max(1, Math.ceil(Math.round(available * restock.per_unit * 1e9) / 1e9));
}

/** How many to read next: what the wave still needs, within the page and the invocation's budget. */
export function nextPageSize(opts: { quota: number | null; notified: number; page: number; budget: number }): number {
  const left = opts.quota === null ? Infinity : Math.max(0, opts.quota - opts.notified);
  return Math.max(0, Math.min(left, opts.page, opts.budget));
}

/** One stock event on a variant, in the order the consumer saw them, with its on_hand before and after. */
export interface StockChange {
  event_id: string;
  variant_id: string;
  shop_id: string;
  before: number;
  after: number;
}

/** Where a restock is counted: one shop's stock, or every shop's (shop_id null) for subscriptions without a shop. */
export interface Crossing {
  event_id: string;
  variant_id: string;
  shop_id: string | null;
  /** The available stock after the crossing event. */
  available: number;
}

/**
 * The crossings of min_stock that a batch of stock changes makes, given each (variant, shop)'s sum
 * of on_hand now (after the batch was mirrored): the sums before the batch are derived by taking
 * the batch's changes back, then the changes are replayed in order, and every change that lifts a
 * shop's sum, or the variant's sum over all shops, from below min_stock to at least it is a
 * crossing of that scope. A change that lifts nothing above the threshold (0 → 0, 3 → 5 with
 * min_stock 2) is none.
 */
export function findCrossings(changes: readonly StockChange[], sumsNow: ReadonlyMap<string, ReadonlyMap<string, number>>, minStock: number): Crossing[] {
  const shop = new Map<string, number>();
  const total = new Map<string, number>();
  const key = (v: string, s: string) => `${v}\u0000${s}`;
  for (const [variant, shops] of sumsNow) {
    let sum = 0;
    for (const [s, n] of shops) {
      shop.set(key(variant, s), n);
      sum += n;
    }
    total.set(variant, sum);
  }
  // Back to the sums before the batch.
  for (const c of changes) {
    const k = key(c.variant_id, c.shop_id);
    shop.set(k, (shop.get(k) ?? 0) - (c.after - c.before));
    total.set(c.variant_id, (total.get(c.variant_id) ?? 0) - (c.after - c.before));
  }
  const out: Crossing[] = [];
  for (const c of changes) {
    const k = key(c.variant_id, c.shop_id);
    const delta = c.after - c.before;
    const [s0, t0] = [shop.get(k) ?? 0, total.get(c.variant_id) ?? 0];
    const [s1, t1] = [s0 + delta, t0 + delta];
    shop.set(k, s1);
    total.set(c.variant_id, t1);
    if (crosses(s0, s1, minStock)) out.push({ event_id: c.event_id, variant_id: c.variant_id, shop_id: c.shop_id, available: s1 });
    if (crosses(t0, t1, minStock)) out.push({ event_id: c.event_id, variant_id: c.variant_id, shop_id: null, available: t1 });
  }
  return out;
}

/**
 * The episode's id, the name of its RestockObject: deterministic in (workflow, variant, shop
 * scope, the stock event that crossed), so a redelivered stock event finds the same episode and
 * starts no second one.
 */
export async function episodeId(workflowId: string, c: Pick<Crossing, "event_id" | "variant_id" | "shop_id">): Promise<string> {
  const text = JSON.stringify([workflowId, c.variant_id, c.shop_id, c.event_id]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `rst_${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * The name of a scope's RestockObject, which knows the scope's current episode (restock-object.ts
 * claim): one per workflow, variant and shop scope. Never an episode's name (those begin `rst_`).
 */
export const episodeScope = (e: { workflow_id: string; variant_id: string; shop_id: string | null }) =>
  `scope:${JSON.stringify([e.workflow_id, e.variant_id, e.shop_id])}`;

/**
 * The `subscription.back_in_stock` event id of one subscription in one episode (which names the
 * variant): its run is named from workflow and this id, so no wave, retried alarm or redelivered
 * stock event notifies the subscription twice in the episode.
 */
export const backInStockEventId = (episode: string, subscriptionId: string) => `${episode}:${subscriptionId}`;
