import { z } from "zod";

/*
 * Every list of the API pages the same way: `?limit=&cursor=`, answered with the items and the
 * cursor of the next page (null after the last). Cursors are opaque to clients.
 */

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null when this was the last. */
  next_cursor: string | null;
}
