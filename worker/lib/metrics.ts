/**
 * Counters of this isolate since it started, for the benchmark (GET /api/metrics): D1 rows read
 * and written, Durable Object calls and storage rows written, queue messages. Only the code on
 * the event and run paths reports here. Locally one isolate runs the Worker and its objects.
 */
const counters = new Map<string, number>();

export function count(name: string, n = 1): void {
  counters.set(name, (counters.get(name) ?? 0) + n);
}

type WithMeta = { meta?: { rows_read?: number; rows_written?: number } };

/** Adds what D1 reports of its work (rows read and written, per statement) to the counters. */
export function track<T extends WithMeta | WithMeta[]>(result: T): T {
  for (const r of Array.isArray(result) ? result : [result]) {
    count("d1_statements");
    count("d1_rows_read", r.meta?.rows_read ?? 0);
    count("d1_rows_written", r.meta?.rows_written ?? 0);
  }
  return result;
}

export function snapshotCounters(): Record<string, number> {
  return Object.fromEntries([...counters].sort(([a], [b]) => a.localeCompare(b)));
}
