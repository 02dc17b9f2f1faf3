import { sql } from "drizzle-orm";
import { z } from "zod";
import { DiscountCodeSchema, DiscountTypeSchema, type DiscountCode, type DiscountCodeStatus } from "./discount";
import { and, batch, jsonColumn, prepare } from "../db/sql";
import { codeCandidates, codeStatus } from "./code";
import type { CodeOwner, NewDiscountCode } from "./port";

/*
 * Discount codes in D1 (tables discount_codes and discount_redemptions, worker/db/schema.ts).
 * D1 has no interactive transactions: each change is one batch of guarded statements, which D1
 * runs as one transaction, so concurrent requests are serialized and the guards see each other.
 */

/** A row as D1 gives it (snake_case columns, booleans as 0/1, variant ids as JSON text). */
const RowSchema = z.object({
  code: z.string(),
  type: DiscountTypeSchema,
  value: z.number(),
  currency: z.string().nullable(),
  expires_at: z.string(),
  usage_limit: z.int(),
  used: z.int(),
  customer_id: z.string().nullable(),
  variant_ids: jsonColumn(z.array(z.string())).nullable(),
  run_id: z.string(),
  node_id: z.string(),
  test: z.union([z.literal(0), z.literal(1)]).transform((t) => t === 1),
  created_at: z.string(),
});
type Row = z.output<typeof RowSchema>;

const toCode = (row: Row, now: Date): DiscountCode => DiscountCodeSchema.parse({ ...row, status: codeStatus(row, now) });

const selectCode = (d1: D1Database, code: string) => prepare(d1, sql`SELECT * FROM discount_codes WHERE code = ${code}`);

/**
 * Stores the step's code: the first candidate (code.ts) that is free or already the step's own.
 * INSERT … ON CONFLICT DO NOTHING and the read of the row in one batch: the row read is the
 * step's own (first attempt or retry) or another step's, whose code is then left alone and the
 * next, one symbol longer, tried.
 */
export async function createCode(d1: D1Database, key: CryptoKey, spec: NewDiscountCode, owner: CodeOwner, now: Date): Promise<DiscountCode> {
  for (const code of await codeCandidates(key, owner.stepKey, spec.prefix)) {
    const [, read] = await batch(d1, [
      prepare(
        d1,
        sql`INSERT INTO discount_codes (code, type, value, currency, expires_at, usage_limit, used, customer_id, variant_ids, run_id, node_id, test, created_at)
          VALUES (${code}, ${spec.type}, ${spec.value}, ${spec.currency}, ${spec.expires_at}, ${spec.usage_limit}, 0, ${spec.customer_id},
            ${spec.variant_ids === null ? null : JSON.stringify(spec.variant_ids)}, ${owner.runId}, ${owner.nodeId}, ${owner.test ? 1 : 0}, ${now.toISOString()})
          ON CONFLICT DO NOTHING`,
      ),
      selectCode(d1, code),
    ]);
    const row = RowSchema.parse(read?.results[0]);
    if (row.run_id === owner.runId && row.node_id === owner.nodeId) return toCode(row, now);
  }
  throw new Error(`Every code derived for step ${owner.stepKey} belongs to another step`);
}

export async function getCode(d1: D1Database, code: string, now: Date): Promise<DiscountCode | undefined> {
  const row = await selectCode(d1, code).first();
  return row === null ? undefined : toCode(RowSchema.parse(row), now);
}

export interface CodeFilter {
  customer_id?: string | undefined;
  status?: DiscountCodeStatus | undefined;
  test?: boolean | undefined;
  /** Exclusive (created_at, code) to continue after, newest first. */
  before?: readonly [string, string] | undefined;
  limit: number;
}

/** The SQL of a status at `now`, the same rule as codeStatus. */
function statusSql(status: DiscountCodeStatus, now: string) {
  switch (status) {
    case "used_up":
      return sql`used >= usage_limit`;
    case "expired":
      return sql`used < usage_limit AND expires_at < ${now}`;
    case "active":
      return sql`used < usage_limit AND expires_at >= ${now}`;
  }
}

/** Codes newest first (by created_at, then code), on the index of the customer when one is asked for. */
export async function listCodes(d1: D1Database, f: CodeFilter, now: Date): Promise<DiscountCode[]> {
  const where = and([
    f.customer_id !== undefined ? sql`customer_id = ${f.customer_id}` : undefined,
    f.status !== undefined ? statusSql(f.status, now.toISOString()) : undefined,
    f.test !== undefined ? sql`test = ${f.test ? 1 : 0}` : undefined,
    f.before ? sql`(created_at, code) < (${f.before[0]}, ${f.before[1]})` : undefined,
  ]);
  const { results } = await prepare(d1, sql`SELECT * FROM discount_codes WHERE ${where} ORDER BY created_at DESC, code DESC LIMIT ${f.limit}`).all();
  return results.map((r) => toCode(RowSchema.parse(r), now));
}

export type RedeemOutcome =
  | { ok: true; code: DiscountCode; redemption: { order_id: string; redeemed_at: string } }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "expired" | "used_up"; code: DiscountCode };

/**
 * Redeems a code for an order, idempotently and safely under concurrency, in one batch:
 *  1. the redemption row is inserted only while the code is active (a use left, not expired);
 *     the order's earlier redemption makes it a no-op (primary key (code, order_id));
 *  2. `used` goes up by one only when statement 1 inserted a row (changes() of the statement
 *     before it in the same transaction), so `used` always equals the code's redemption rows;
 *  3. the code is read back with this order's redemption, if it has one.
 * Two orders racing for the last use are serialized by D1: the second finds no use left.
 * An order that redeemed the code before gets it again, even once the code expired or is used up.
 */
export async function redeemCode(d1: D1Database, code: string, orderId: string, now: Date): Promise<RedeemOutcome> {
  const at = now.toISOString();
  const [, , read] = await batch(d1, [
    prepare(
      d1,
      sql`INSERT INTO discount_redemptions (code, order_id, redeemed_at)
        SELECT code, ${orderId}, ${at} FROM discount_codes WHERE code = ${code} AND used < usage_limit AND expires_at >= ${at}
        ON CONFLICT DO NOTHING`,
    ),
    prepare(d1, sql`UPDATE discount_codes SET used = used + 1 WHERE code = ${code} AND changes() = 1`),
    prepare(
      d1,
      sql`SELECT c.*, r.redeemed_at AS redeemed_at FROM discount_codes c
        LEFT JOIN discount_redemptions r ON r.code = c.code AND r.order_id = ${orderId} WHERE c.code = ${code}`,
    ),
  ]);
  const found = read?.results[0];
  if (found === undefined) return { ok: false, reason: "not_found" };
  const row = RowSchema.extend({ redeemed_at: z.string().nullable() }).parse(found);
  const current = toCode(row, now);
  if (row.redeemed_at !== null) return { ok: true, code: current, redemption: { order_id: orderId, redeemed_at: row.redeemed_at } };
  // Not redeemed by this order, so the guard refused: the code was not active.
  return { ok: false, reason: current.status === "used_up" ? "used_up" : "expired", code: current };
}
