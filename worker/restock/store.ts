import { sql } from "drizzle-orm";
import { z } from "zod";
import { and, batch, jsonColumn, jsonList, prepare } from "../db/sql";
import { RESTOCK_INDEX_ENTITY } from "../definition/trigger";
import { ANY_TAG } from "../definition/trigger";
import { EPISODE_STATUSES, END_REASONS, WaveSchema, type EpisodeState } from "./episode";

/*
 * What restocks read and write in D1: stock sums, pending subscriptions oldest first (keyset by
 * (created_at, id) on the subscriptions_variant_status index), the back-in-stock triggers indexed,
 * and the restock_episodes rows the API lists. Values are always bound.
 */

/** Available stock of a variant: the sum of on_hand over one shop, or every shop (null). */
export function stockStatement(d1: D1Database, variantId: string, shopId: string | null): D1PreparedStatement {
  return prepare(
    d1,
    sql`SELECT coalesce(sum(on_hand), 0) AS n FROM inventory_items WHERE variant_id = ${variantId} AND deleted = 0 AND (${shopId} IS NULL OR shop_id = ${shopId})`,
  );
}

const CountSchema = z.object({ n: z.number() });
export const readCount = (rows: { results: unknown[] }) => CountSchema.parse(rows.results[0] ?? { n: 0 }).n;

/** The active back-in-stock triggers: every one is a candidate for every stock change (restocks are found by variant). */
export function restockTriggersStatement(d1: D1Database): D1PreparedStatement {
  return prepare(d1, sql`SELECT workflow_id, version FROM trigger_index WHERE entity = ${RESTOCK_INDEX_ENTITY} AND tag = ${ANY_TAG}`);
}
export const RestockTriggerRowSchema = z.object({ workflow_id: z.string(), version: z.int() });

/**
 * The sum of on_hand per (variant, shop) of the variants of the inventory items given (read from
 * the mirror, so a deletion that carries only the id counts too). Read in the same D1 batch (one
 * transaction) as the upserts of those items: D1 serializes transactions, so the sums hold exactly
 * the changes committed before plus this batch's, and two consumers restocking one variant at
 * once cannot both take the other's change for stock that was there before. Reads nothing while no
 * back-in-stock trigger is active: every stock event pays for it otherwise.
 */
export function shopSumsStatement(d1: D1Database, inventoryItemIds: readonly string[]): D1PreparedStatement {
  return prepare(
    d1,
    sql`SELECT variant_id, shop_id, coalesce(sum(on_hand), 0) AS n FROM inventory_items
      WHERE variant_id IN (SELECT variant_id FROM inventory_items WHERE id IN (SELECT value FROM json_each(${jsonList(inventoryItemIds)}))) AND deleted = 0
        AND EXISTS (SELECT 1 FROM trigger_index WHERE entity = ${RESTOCK_INDEX_ENTITY} AND tag = ${ANY_TAG})
      GROUP BY variant_id, shop_id`,
  );
}
export const ShopSumRowSchema = z.object({ variant_id: z.string(), shop_id: z.string(), n: z.number() });

/** The workflow's version while its back-in-stock trigger is active; no row once it is not. */
export function indexedVersionStatement(d1: D1Database, workflowId: string): D1PreparedStatement {
  return prepare(d1, sql`SELECT version FROM trigger_index WHERE entity = ${RESTOCK_INDEX_ENTITY} AND tag = ${ANY_TAG} AND workflow_id = ${workflowId}`);
}
export const readVersion = (rows: { results: unknown[] }): number | undefined =>
  rows.results.length === 0 ? undefined : z.object({ version: z.int() }).parse(rows.results[0]).version;

const scope = (shopId: string | null) => (shopId === null ? sql`shop_id IS NULL` : sql`shop_id = ${shopId}`);

const PendingRowSchema = z.object({ id: z.string(), created_at: z.string(), tags: jsonColumn(z.array(z.string())), data: jsonColumn(z.record(z.string(), z.unknown())) });
export type PendingRow = z.output<typeof PendingRowSchema>;

/** Pending subscriptions of the scope after the cursor, oldest first. */
export async function readPending(d1: D1Database, e: Pick<EpisodeState, "variant_id" | "shop_id" | "cursor">, limit: number): Promise<PendingRow[]> {
  const [at, id] = e.cursor;
  const { results } = await prepare(
    d1,
    sql`SELECT id, created_at, tags, data FROM subscriptions
      WHERE variant_id = ${e.variant_id} AND status = 'pending' AND deleted = 0 AND ${scope(e.shop_id)} AND (created_at, id) > (${at}, ${id})
      ORDER BY created_at, id LIMIT ${limit}`,
  ).all();
  return results.map((r) => PendingRowSchema.parse(r));
}

/** Pending subscriptions of the scope still after the cursor: who this episode has yet to notify. */
export function waitingStatement(d1: D1Database, e: Pick<EpisodeState, "variant_id" | "shop_id" | "cursor">): D1PreparedStatement {
  const [at, id] = e.cursor;
  return prepare(
    d1,
    sql`SELECT count(*) AS n FROM subscriptions
      WHERE variant_id = ${e.variant_id} AND status = 'pending' AND deleted = 0 AND ${scope(e.shop_id)} AND (created_at, id) > (${at}, ${id})`,
  );
}

/** Writes the episode's row as the object holds it now (the object is its only writer). */
export async function writeEpisode(d1: D1Database, e: EpisodeState): Promise<void> {
  const waves = JSON.stringify(e.waves);
  await batch(d1, [
    prepare(
      d1,
      sql`INSERT INTO restock_episodes (id, workflow_id, version, variant_id, shop_id, status, end_reason, min_stock, per_unit, wave_minutes, notified, waiting, waves, event_id, started_at, updated_at, ended_at)
        VALUES (${e.id}, ${e.workflow_id}, ${e.version}, ${e.variant_id}, ${e.shop_id}, ${e.status}, ${e.end_reason}, ${e.min_stock}, ${e.per_unit}, ${e.wave_minutes},
          ${e.notified}, ${e.waiting}, ${waves}, ${e.event_id}, ${e.started_at}, ${e.updated_at}, ${e.ended_at})
        ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, end_reason = excluded.end_reason, notified = excluded.notified,
          waiting = excluded.waiting, waves = excluded.waves, updated_at = excluded.updated_at, ended_at = excluded.ended_at`,
    ),
  ]);
}

const EpisodeRowSchema = z.object({
  id: z.string(),
  workflow_id: z.string(),
  version: z.int(),
  variant_id: z.string(),
  shop_id: z.string().nullable(),
  status: z.enum(EPISODE_STATUSES),
  end_reason: z.enum(END_REASONS).nullable(),
  min_stock: z.int(),
  per_unit: z.number().nullable(),
  wave_minutes: z.int(),
  notified: z.int(),
  waiting: z.int(),
  waves: jsonColumn(z.array(WaveSchema)),
  event_id: z.string(),
  started_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().nullable(),
});
export type EpisodeRow = z.output<typeof EpisodeRowSchema>;

/** Episodes newest first, all or one variant's, after the keyset (started_at, id). */
export async function listEpisodes(d1: D1Database, f: { variant_id?: string | undefined; before?: [string, string] | undefined; limit: number }): Promise<EpisodeRow[]> {
  const where = and([
    f.variant_id !== undefined ? sql`variant_id = ${f.variant_id}` : undefined,
    f.before ? sql`(started_at, id) < (${f.before[0]}, ${f.before[1]})` : undefined,
  ]);
  const { results } = await prepare(d1, sql`SELECT * FROM restock_episodes WHERE ${where} ORDER BY started_at DESC, id DESC LIMIT ${f.limit}`).all();
  return results.map((r) => EpisodeRowSchema.parse(r));
}
