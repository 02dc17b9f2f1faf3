/*
 * Conversion (SPEC §12), pure: which notified subscriptions an order converts and the revenue it
 * brings each. A subscription converts when it is `delivered` or `engaged`, is for a variant one
 * of the order's lines buys, and was notified within the attribution window before the order
 * (notified_at in [created_at − days, created_at]). Each line's revenue (quantity × price) goes to
 * one subscription only: of a customer's subscriptions for the same variant (one per shop, say),
 * the one notified last, which is the notification the customer most likely acted on.
 */

export const DEFAULT_ATTRIBUTION_DAYS = 7;
const DAY_MS = 86_400_000;

export interface OrderToAttribute {
  id: string;
  customer_id: string;
  created_at: string;
  lines: readonly { variant_id: string; quantity: number; price: number }[];
}

export interface CandidateSubscription {
  id: string;
  variant_id: string;
  status: string;
  notified_at: string | null;
}

export interface Conversion {
  order_id: string;
  subscription_id: string;
  customer_id: string;
  variant_id: string;
  revenue: number;
}

export const CONVERTIBLE = ["delivered", "engaged"] as const;

/** Rounded to cents, so that sums of float prices read as money. */
const money = (n: number) => Math.round(n * 100) / 100;

export function conversionsOf(order: OrderToAttribute, subscriptions: readonly CandidateSubscription[], attributionDays: number): Conversion[] {
  const at = Date.parse(order.created_at);
  const since = at - attributionDays * DAY_MS;
  const revenue = new Map<string, number>();
  for (const line of order.lines) revenue.set(line.variant_id, (revenue.get(line.variant_id) ?? 0) + line.quantity * line.price);

  const chosen = new Map<string, CandidateSubscription>();
  for (const s of subscriptions) {
    if (!(CONVERTIBLE as readonly string[]).includes(s.status) || s.notified_at === null || !revenue.has(s.variant_id)) continue;
    const notified = Date.parse(s.notified_at);
    if (!(notified >= since && notified <= at)) continue;
    const held = chosen.get(s.variant_id);
    // The latest notification wins; ties go to the smaller id, so the choice never depends on read order.
    if (held === undefined || s.notified_at > held.notified_at! || (s.notified_at === held.notified_at && s.id < held.id)) chosen.set(s.variant_id, s);
  }
  return [...chosen.values()].map((s) => ({
    order_id: order.id,
    subscription_id: s.id,
    customer_id: order.customer_id,
    variant_id: s.variant_id,
    revenue: money(revenue.get(s.variant_id)!),
  }));
}
