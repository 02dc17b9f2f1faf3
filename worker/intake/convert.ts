import { z } from "zod";
import { config } from "../config";
import { convertOrder } from "../engagement/store";
import { count } from "../lib/metrics";
import { logError } from "../log";
import { errorText, mirrored, pool, retry, type Item } from "./item";

/** Orders converted at once (each is a few D1 round trips). */
const CONCURRENCY = 4;

const OrderSchema = z.object({
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  lines: z.array(z.object({ variant_id: z.string(), quantity: z.number(), price: z.number() })),
});

/**
 * The conversion hook (SPEC §12), after the mirror: an `order.created` converts the customer's
 * notified subscriptions for its variants (engagement/store.ts convertOrder). Idempotent per
 * (order, subscription), so a redelivered event attributes nothing twice. A D1 failure retries
 * the event (mirroring it again changes nothing); other events of the batch go on.
 */
export async function convertOrders(env: Env, items: Item[]): Promise<void> {
  const orders = mirrored(items).filter((i) => i.event.entity === "order" && i.event.kind === "created");
  if (orders.length === 0) return;
  const days = config(env).ATTRIBUTION_DAYS;
  await pool(orders, CONCURRENCY, async (item) => {
    const order = OrderSchema.safeParse(item.trigger.data);
    if (!order.success) return; // the mirror validated it; a deleted-then-recreated shape is not ours to judge
    try {
      const converted = await convertOrder(env.DB, order.data, days, new Date());
      count("conversions", converted.length);
    } catch (err) {
      logError("consumer_conversion", err, { event_id: item.event.id });
      item.outcome = retry(`Attributing the order failed: ${errorText(err)}`);
    }
  });
}
