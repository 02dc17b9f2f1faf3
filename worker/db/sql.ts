import { sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { track } from "../lib/metrics";

/**
 * How the modules talk to D1: drizzle's query builder over the tables of schema.ts, and raw SQL
 * composed with drizzle's `sql` template (values always bound, never spliced) run on the binding,
 * whose batch and meta (rows read and written) we need; with the helpers that keep a statement
 * inside D1's limits.
 */

/** The query builder over a D1 binding; cheap to make, so made where it is needed. */
export const db = (d1: D1Database) => drizzle(d1);
export type Db = ReturnType<typeof db>;

const dialect = new SQLiteSyncDialect();

/** D1 binds at most 100 parameters per statement. */
export const MAX_PARAMS = 100;

export function prepare(d1: D1Database, query: SQL): D1PreparedStatement {
  const { sql: text, params } = dialect.sqlToQuery(query);
  if (params.length > MAX_PARAMS) throw new Error(`A statement binds ${params.length} parameters; D1 allows ${MAX_PARAMS}`);
  return d1.prepare(text).bind(...params);
}

/** What this module reads of a D1 result (named here: the UI type-checks these files without the Workers types). */
export interface Rows {
  results: unknown[];
  meta: { changes?: number; rows_read?: number; rows_written?: number };
}

/** Runs statements as one D1 batch (one transaction), counted for GET /api/metrics. */
export async function batch(d1: D1Database, statements: D1PreparedStatement[]): Promise<Rows[]> {
  if (statements.length === 0) return [];
  const results: Rows[] = await d1.batch(statements);
  return track(results);
}

/** `x AND y AND ...` of the fragments given, `1` when none. */
export function and(parts: (SQL | undefined)[]): SQL {
  const present = parts.filter((p): p is SQL => p !== undefined);
  return present.length === 0 ? sql`1` : sql.join(present, sql` AND `);
}

/** A JSON array bound as one parameter and read with json_each: any number of values in one `?`. */
export const jsonList = (values: readonly unknown[]) => JSON.stringify(values);

/** Parses a JSON text column (json_array(...) built in SQL) with a schema. */
export const jsonColumn = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.output<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "not JSON" });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const encoder = new TextEncoder();
/** SQLite compares TEXT as UTF-8 bytes; JavaScript compares UTF-16 units. They differ above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
export const sortUtf8 = (ids: readonly string[]) => [...new Set(ids)].sort(compareUtf8);
