import { count } from "../lib/metrics";
import { log } from "../log";
import { deliverAwaited } from "./awaited";
import { convertOrders } from "./convert";
import { match } from "./match";
import { mirror } from "./mirror";
import { read } from "./read";
import { detectRestocks } from "./restock-detect";
import { settle, type BatchSummary } from "./settle";
import { LIMITS, startRuns, type Limits } from "./start";

/*
 * The EVENTS queue consumer, in five stages: read each message's event (read.ts), mirror the
 * entities and find candidate workflows in one D1 round trip (mirror.ts), match triggers
 * (match.ts), start one run per matching workflow (start.ts) — and hand each event to the runs
 * waiting for one like it (awaited.ts) — then settle every message:
 * acknowledge, retry, dead-letter or continue it (settle.ts).
 *
 * Every message ends with its own outcome: one bad event never fails the events delivered with
 * it. Starting is idempotent (the run object is named from workflow and event id), so a message
 * delivered again never starts a second run.
 */

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await consumeBatch(batch, env);
}

export async function consumeBatch(batch: MessageBatch<unknown>, env: Env, limits: Limits = LIMITS): Promise<BatchSummary> {
  const t0 = performance.now();
  const items = await read(env, batch.messages);
  const tRead = performance.now();
  const first = await mirror(env, items);
  // Conversion (SPEC §12) right after the mirror: it needs the order mirrored, nothing after.
  await convertOrders(env, items);
  const t1 = performance.now();
  await match(env, items, first);
  const t2 = performance.now();
  const starts = await startRuns(env, items, limits);
  // Runs waiting for an event (wait_for_event, SPEC §15) hear of it once it is mirrored.
  await deliverAwaited(env, items);
  // Back-in-stock episodes (SPEC §12): after the starts, so a failure here retries events whose runs are started (idempotently).
  await detectRestocks(env, first.stock);
  const t3 = performance.now();
  const summary = await settle(env, items, starts);
  count("consumer_batches");
  count("consumer_match_ms", t2 - tRead);
  log("consumer_batch", {
    ...summary,
    deferred: summary.deferred.length,
    ms: Math.round(performance.now() - t0),
    mirror_ms: Math.round(t1 - t0),
    match_ms: Math.round(t2 - t1),
    start_ms: Math.round(t3 - t2),
  });
  return summary;
}
