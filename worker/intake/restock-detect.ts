import { z } from "zod";
import { isRestockTrigger } from "../definition/trigger";
import { errorText, pool, retry, type Item, type Mirrored } from "./item";
import { count } from "../lib/metrics";
import { log, logError } from "../log";
import { getDefinitions } from "../workflows/store";
import type { EpisodeStart } from "../restock/episode";
import { restockTriggersStatement, RestockTriggerRowSchema, shopSumsStatement, ShopSumRowSchema } from "../restock/store";
import { episodeId, findCrossings, type StockChange } from "../restock/waves";

/** Episode start calls in flight at once. */
const START_CONCURRENCY = 16;
/**
 * Episode starts one consumer invocation makes at most (each is a subrequest, besides the run
 * starts of start.ts): the events whose crossings do not fit are retried, and find them again.
 */
export const MAX_EPISODE_STARTS = 200;

/**
 * What the mirror read for restocks in the transaction that mirrored `items`: the active
 * back-in-stock triggers and the stock per (variant, shop) right after the items' upserts.
 */
export interface StockRead {
  items: Item[];
  results: { results: unknown[] }[];
}

/**
 * The statements the mirror adds to the D1 batch of `items` (after their upserts), none when no
 * item is an inventory item: the stock change and the sums are then read in one transaction.
 */
export function stockStatements(d1: D1Database, items: readonly { event: { entity: string; entity_id: string } }[]): D1PreparedStatement[] {
  const ids = [...new Set(items.filter((i) => i.event.entity === "inventory_item").map((i) => i.event.entity_id))];
  return ids.length === 0 ? [] : [restockTriggersStatement(d1), shopSumsStatement(d1, ids)];
}

const OnHand = z.object({ on_hand: z.number() });
const onHand = (data: unknown) => {
  const parsed = OnHand.safeParse(data);
  return parsed.success ? parsed.data.on_hand : 0;
};
const Located = z.object({ variant_id: z.string(), shop_id: z.string() });

/**
 * The on_hand change a mirrored inventory_item event made: none for a stale event (the mirror kept
 * a newer one). A deletion's data is the last snapshot the mirror held: its stock goes to 0.
 */
function stockChange(item: Mirrored): StockChange | undefined {
  if (item.event.entity !== "inventory_item" || item.held !== null) return undefined;
  const where = Located.safeParse(item.trigger.data);
  if (!where.success) return undefined;
  const deleted = item.event.kind === "deleted";
  const before = onHand(deleted ? item.trigger.data : item.trigger.previous);
  return { event_id: item.event.id, ...where.data, before, after: deleted ? 0 : onHand(item.trigger.data) };
}

/** Mirrored and not given up on by an earlier stage (done or deferred by the starts still count). */
const live = (i: Item): i is Mirrored =>
  i.trigger !== null && i.event !== null && i.body !== null && i.row !== null && (i.outcome === null || i.outcome.kind === "done" || i.outcome.kind === "defer");

/**
 * The consumer's back-in-stock stage (SPEC §12), after the starts: for each transaction the mirror
 * ran, finds every inventory change that lifted a shop's stock, or the variant's over all shops,
 * from below a back-in-stock trigger's min_stock to at least it (the sums before are the sums read
 * with the changes taken back), and starts one episode per (workflow, crossing): a RestockObject
 * named from both, so a redelivered event starts none. A failure retries the events that changed
 * stock; mirrored again as their own snapshot (same previous), they find the same crossings.
 */
export async function detectRestocks(env: Env, reads: readonly StockRead[]): Promise<void> {
  const starts: (EpisodeStart & { item: Mirrored })[] = [];
  const changed: Mirrored[] = [];
  try {
    for (const read of reads) {
      const withChange = read.items
        .filter(live)
        .map((item) => ({ item, change: stockChange(item) }))
        .filter((x): x is { item: Mirrored; change: StockChange } => x.change !== undefined && x.change.after !== x.change.before);
      if (withChange.length === 0) continue;
      changed.push(...withChange.map((x) => x.item));
      const triggers = z.array(RestockTriggerRowSchema).parse(read.results[0]!.results);
      if (triggers.length === 0) continue;
      const sums = new Map<string, Map<string, number>>();
      for (const r of z.array(ShopSumRowSchema).parse(read.results[1]!.results)) sums.set(r.variant_id, (sums.get(r.variant_id) ?? new Map()).set(r.shop_id, r.n));
      const defs = await getDefinitions(env.DB, triggers.map((t) => ({ workflowId: t.workflow_id, version: t.version })));
      const changes = withChange.map((x) => x.change);
      const itemOf = new Map(withChange.map((x) => [x.change.event_id, x.item]));
      for (const t of triggers) {
        const def = defs.get(`${t.workflow_id}@${t.version}`);
        if (def === undefined) continue; // deactivated since the index was read
        if (def instanceof Error) throw def;
        if (!isRestockTrigger(def.trigger)) continue;
        const r = def.trigger.restock;
        for (const c of findCrossings(changes, sums, r.min_stock)) {
          starts.push({
            id: await episodeId(t.workflow_id, c),
            workflow_id: t.workflow_id,
            version: t.version,
            variant_id: c.variant_id,
            shop_id: c.shop_id,
            event_id: c.event_id,
            min_stock: r.min_stock,
            per_unit: r.per_unit ?? null,
            wave_minutes: r.wave_minutes,
            item: itemOf.get(c.event_id)!,
          });
        }
      }
    }
    // Whole events within the bound, in batch order; the others go again.
    const order = new Map(changed.map((item, i) => [item, i]));
    starts.sort((a, b) => order.get(a.item)! - order.get(b.item)!);
    const cut = starts.length <= MAX_EPISODE_STARTS ? -1 : starts.findIndex((st, i) => i >= MAX_EPISODE_STARTS && st.item !== starts[i - 1]!.item);
    const now = cut === -1 ? starts : starts.slice(0, cut);
    for (const later of new Set(starts.slice(now.length).map((st) => st.item))) later.outcome = retry("Its restock episodes did not fit in this invocation");
    let created = 0;
    await pool(now, START_CONCURRENCY, async ({ item: _item, ...start }) => {
      const result = await env.RESTOCKS.get(env.RESTOCKS.idFromName(start.id)).start(start);
      if (result.created) created++;
    });
    count("restock_crossings", now.length);
    if (starts.length > 0) log("restock_detected", { crossings: starts.length, started: now.length, created });
  } catch (err) {
    logError("restock_detect", err, { events: changed.length });
    for (const item of changed) item.outcome = retry(`Detecting restocks failed: ${errorText(err)}`);
  }
}
