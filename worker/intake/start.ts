import { count } from "../lib/metrics";
import { log, logError } from "../log";
import { startRun } from "../flow/admit";
import { errorText, mirrored, pool, retry, type Item, type Mirrored, type Start } from "./item";

/**
 * Durable Object start calls one invocation makes at most. Workers (paid plan) allow 1,000
 * subrequests per invocation, and every Durable Object call, D1 round trip and queue send counts.
 * Besides the starts, a batch of at most 100 messages (the Queues maximum) makes about 200 at most:
 * a D1 round trip per event when the batch falls back to one event at a time, a few for triggers,
 * definitions and stale events, an inbox call per shard for bodies and for acks, and a queue send
 * per ~200 KiB of dead letters and of continuations. Starts beyond the bound continue in a new
 * message (see `after`).
 */
export const MAX_STARTS_PER_INVOCATION = 500;
/** Start calls in flight at once; more only queue up inside workerd. */
const START_CONCURRENCY = 32;

export interface Limits {
  maxStarts: number;
}
export const LIMITS: Limits = { maxStarts: MAX_STARTS_PER_INVOCATION };

import { runName } from "../lib/ids";
export { runName };

/**
 * Stage 4: starts the matched runs, at most `limits.maxStarts` of them. Each event's starts go in
 * workflow id order, so an event whose starts do not all fit goes on from where it stopped
 * (`after`). Messages delivered before go first.
 */
export async function startRuns(env: Env, items: Item[], limits: Limits): Promise<{ calls: number; created: number }> {
  let budget = limits.maxStarts;
  const calls: { item: Mirrored; start: Start }[] = [];
  for (const item of mirrored(items).sort((a, b) => b.msg.attempts - a.msg.attempts)) {
    const after = item.body.after;
    const todo = item.starts.filter((s) => after === undefined || s.workflowId > after).sort((a, b) => (a.workflowId < b.workflowId ? -1 : 1));
    const now = todo.slice(0, Math.max(0, budget));
    budget -= now.length;
    item.outcome = now.length < todo.length ? { kind: "defer", after: now.at(-1)?.workflowId ?? after } : { kind: "done" };
    calls.push(...now.map((start) => ({ item, start })));
  }
  let created = 0;
  await pool(calls, START_CONCURRENCY, async ({ item, start }) => {
    try {
      const result = await startRun(env, { workflowId: start.workflowId, version: start.version, controls: start.controls, trigger: item.trigger });
      count("run_start_calls");
      if (result.created) created++;
      else {
        count("run_duplicates_refused");
        log("run_duplicate", { run_name: runName(start.workflowId, item.event.id), event_id: item.event.id, workflow_id: start.workflowId });
      }
    } catch (err) {
      // Typically the runtime is short of resources: slow down and try this event again later.
      logError("run_start", err, { event_id: item.event.id, workflow_id: start.workflowId });
      item.outcome = retry(`Starting the run of ${start.workflowId} failed: ${errorText(err)}`);
    }
  });
  return { calls: calls.length, created };
}
