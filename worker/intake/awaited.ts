import { z } from "zod";
import { count } from "../lib/metrics";
import { log, logError } from "../log";
import type { DeliverAnswer } from "../run/run-object";
import { matchKey, valueAt, type AwaitedEvent } from "../waits/port";
import { findWaits, forgetWaits, logAwaited, MAX_WAITS_READ, type WaitProbe } from "../waits/store";
import { errorText, pool, retry, type Item, type Mirrored } from "./item";

/** Run calls in flight at once. */
const DELIVER_CONCURRENCY = 32;

/** A mirrored event whose starts are done or go on in a new message: its waiting runs may hear of it. */
const delivering = (i: Item): i is Mirrored =>
  i.body !== null && i.event !== null && i.row !== null && i.trigger !== null && (i.outcome === null || i.outcome.kind === "done" || i.outcome.kind === "defer");

const DataSchema = z.record(z.string(), z.unknown());

/** The event as a waiting run gets it: its entity as the mirror validated it (defaults applied; a deleted one's last snapshot). */
function envelope(i: Mirrored): AwaitedEvent {
  const e = i.event;
  const data = DataSchema.safeParse(i.trigger.data);
  return { id: e.id, type: e.type, entity: e.entity, entity_id: e.entity_id, occurred_at: e.occurred_at, data: data.success ? data.data : e.data };
}

/**
 * Stage 4b, after the starts: hands each event to the runs waiting for one like it (wait_for_event,
 * SPEC §15). The events of watched types are logged for the look-back of waits registered
 * meanwhile (worker/waits/port.ts), the waits each event's keys answer are read, and each run is
 * called. A failure retries the event: a run counts an event once, so delivering it again is
 * harmless. Subscriptions whose step no longer waits are forgotten. Answers how many runs took one.
 */
export async function deliverAwaited(env: Env, items: Item[]): Promise<{ delivered: number }> {
  const todo = items.filter(delivering);
  if (todo.length === 0) return { delivered: 0 };
  const events = todo.map(envelope);
  let found: Awaited<ReturnType<typeof findWaits>>;
  let probes: (WaitProbe & { event: number })[];
  try {
    const paths = await logAwaited(env.DB, events, new Date());
    probes = events.flatMap((e, k) =>
      (paths.get(e.type) ?? []).flatMap((path) => {
        const key = path === "" ? "" : matchKey(valueAt(e, path));
        return key === null ? [] : [{ type: e.type, key_path: path, key_value: key, occurred_at: e.occurred_at, event: k }];
      }),
    );
    found = await findWaits(
      env.DB,
      probes.map(({ event: _event, ...probe }) => probe),
    );
  } catch (err) {
    logError("consumer_awaited", err, { events: todo.length });
    for (const item of todo) item.outcome = retry(`Finding the runs waiting for the event failed: ${errorText(err)}`);
    return { delivered: 0 };
  }
  if (found.length === MAX_WAITS_READ) log("consumer_awaited_bound", { events: todo.length, waits: found.length });

  let delivered = 0;
  const gone: Parameters<typeof forgetWaits>[1][number][] = [];
  await pool(found, DELIVER_CONCURRENCY, async (w) => {
    const probe = probes[w.probe]!;
    const item = todo[probe.event]!;
    try {
      const answer: DeliverAnswer = await env.RUNS.get(env.RUNS.idFromString(w.run_id)).deliver(w.node_id, events[probe.event]!);
      count(`event_deliveries_${answer}`);
      if (answer === "accepted") delivered++;
      if (answer === "gone") gone.push({ event_type: probe.type, key_path: probe.key_path, key_value: probe.key_value, run_id: w.run_id, node_id: w.node_id });
    } catch (err) {
      logError("consumer_deliver", err, { event_id: item.event.id, run_id: w.run_id, node_id: w.node_id });
      item.outcome = retry(`Delivering the event to run ${w.run_id} failed: ${errorText(err)}`);
    }
  });
  // Not fatal: a subscription left behind is found gone again by the next event.
  await forgetWaits(env.DB, gone).catch((err: unknown) => logError("consumer_forget_waits", err, { waits: gone.length }));
  return { delivered };
}
