import { AppError } from "../errors";
import { log } from "../log";
import type { EntityEvent } from "./envelope";
import { inboxStub, pickShard } from "./shards";

/**
 * Records events in their inbox shard (durable) and hands them to the queue; the number accepted.
 * Refused whole, and nothing recorded, when the inbox is overloaded, unavailable or too far behind:
 * a 429 or 503 with Retry-After, so the sender tries again.
 */
export async function acceptEvents(env: Env, events: EntityEvent[]): Promise<number> {
  const shard = pickShard(events[0]!.id);
  let result;
  try {
    result = await inboxStub(env, shard).accept(shard, events);
  } catch (err) {
    // Durable Objects mark an error `overloaded` when the object refused the call for load.
    const overloaded = err instanceof Error && "overloaded" in err && Boolean(err.overloaded);
    log("events_refused", { shard, reason: overloaded ? "overloaded" : "unavailable", events: events.length });
    throw new AppError(overloaded ? "rate_limited" : "unavailable", "The engine cannot take events right now; nothing was recorded. Send them again shortly.", {
      headers: { "Retry-After": "2" },
    });
  }
  if ("busy" in result) {
    throw new AppError("rate_limited", `${result.pending} events are waiting to be processed; nothing was recorded. Slow down and send again.`, {
      headers: { "Retry-After": "5" },
    });
  }
  return result.accepted;
}
