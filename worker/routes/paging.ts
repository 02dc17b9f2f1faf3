import type { z } from "zod";
import { AppError } from "../errors";

/*
 * Keyset paging for the API's lists (the page's shape is contract/page.ts). A cursor is the key
 * of the last row a page held, so a row inserted meanwhile neither repeats nor hides another.
 */

/** Cursors are opaque to clients: base64url of a JSON value the route chose. */
export function encodeCursor(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  try {
    const bin = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const parsed = schema.safeParse(JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new AppError("bad_request", "The cursor is not one this API gave out", {
    issues: [{ path: "cursor", message: "Use next_cursor from the previous page" }],
  });
}

/**
 * One page of a list in key order: `read` gets the key to continue after (undefined for the first
 * page) and is asked for one row more than the page holds, which tells whether another page
 * follows; the next cursor is then the key (`key.of`) of the page's last row. A cursor that does
 * not decode to a key (`key.schema`) is a 400.
 */
export async function readPage<Row, K>(
  page: { limit: number; cursor?: string | undefined },
  read: (after: K | undefined, limit: number) => Promise<Row[]>,
  key: { schema: z.ZodType<K>; of: (row: Row) => K },
): Promise<{ items: Row[]; next_cursor: string | null }> {
  const rows = await read(decodeCursor(page.cursor, key.schema), page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > page.limit && last !== undefined ? encodeCursor(key.of(last)) : null };
}
