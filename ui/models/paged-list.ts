import { signal } from "@preact/signals";
import { describeError, type Page } from "../src/api";

/**
 * A list that loads a page at a time from the API: rows and cursor (domain), progress and the
 * error in words (view). A later load wins over an earlier one still in flight.
 */
export function pagedList<T>(what: string, fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const data = {
    items: signal<T[]>([]),
    nextCursor: signal<string | null>(null),
    loaded: signal(false),
  };
  const loading = signal(false);
  const error = signal<string | null>(null);
  let seq = 0;
  async function load(more = false) {
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(more ? (data.nextCursor.peek() ?? undefined) : undefined);
      if (mine !== seq) return;
      data.items.value = more ? [...data.items.peek(), ...page.items] : page.items;
      data.nextCursor.value = page.next_cursor;
      data.loaded.value = true;
    } catch (err) {
      if (mine === seq) error.value = `Could not load ${what}: ${describeError(err)}`;
    } finally {
      if (mine === seq) loading.value = false;
    }
  }
  return { data, loading, error, load };
}
