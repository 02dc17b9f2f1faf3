import { z } from "zod";
import { prepareRows, type PreparedRow } from "../entities/store";
import { MAX_JSON_DEPTH, valueDepth } from "../lib/json";
import { issuesText } from "../lib/issues";
import { count } from "../lib/metrics";
import { logError } from "../log";
import type { EntityEvent } from "./envelope";
import { chunks, errorText, EventMessageSchema, INBOX_SEQS_PER_CALL, retry, type Item } from "./item";
import { inboxStub } from "./shards";

/** Stage 1: parses each message, fetches the bodies of events too large to travel inline, validates each event. */
export async function read(env: Env, messages: readonly Message<unknown>[]): Promise<Item[]> {
  const items = messages.map((msg): Item => {
    const parsed = EventMessageSchema.safeParse(msg.body);
    return {
      msg,
      body: parsed.success ? parsed.data : null,
      event: parsed.success ? (parsed.data.event ?? null) : null,
      row: null,
      trigger: null,
      tags: [],
      held: null,
      starts: [],
      skipped: [],
      outcome: parsed.success ? null : { kind: "dead", reason: "The queue message is not an event message" },
    };
  });

  // Events too large to travel inline wait in their inbox shard.
  const byShard = new Map<number, { item: Item; seq: number }[]>();
  for (const item of items) {
    if (item.outcome !== null || item.body === null || item.event !== null) continue;
    byShard.set(item.body.shard, [...(byShard.get(item.body.shard) ?? []), { item, seq: item.body.seq }]);
  }
  await Promise.all(
    [...byShard].map(async ([shard, list]) => {
      for (const part of chunks(list, INBOX_SEQS_PER_CALL)) {
        try {
          const bodies = await inboxStub(env, shard).bodies(part.map((p) => p.seq));
          for (const { item, seq } of part) {
            const event = bodies[seq];
            if (event) item.event = event;
            else item.outcome = { kind: "gone" };
          }
        } catch (err) {
          logError("inbox_bodies", err, { shard, events: part.length });
          for (const { item } of part) item.outcome = retry(`Reading the event from its inbox failed: ${errorText(err)}`);
        }
      }
    }),
  );
  for (const item of items) {
    if (item.outcome !== null || item.event === null) continue;
    const checked = validate(item.event);
    if ("reason" in checked) item.outcome = { kind: "dead", reason: checked.reason };
    else item.row = checked.row;
  }
  count("consumer_events", items.filter((i) => i.event !== null).length);
  return items;
}

/**
 * Holds the event to what the intake accepts: a message from before a rule, or a replay, may not
 * meet it, and no number of retries would change that.
 */
function validate(event: EntityEvent): { row: PreparedRow } | { reason: string } {
  if (valueDepth(event.data) > MAX_JSON_DEPTH) return { reason: `The event's data nests more than ${MAX_JSON_DEPTH} levels deep` };
  try {
    const [row] = prepareRows(event.entity, [{ data: event.data, occurredAt: event.occurred_at, eventId: event.id, deleted: event.kind === "deleted" }]);
    return row ? { row } : { reason: "The event holds no entity" };
  } catch (err) {
    if (!(err instanceof z.ZodError)) return { reason: errorText(err) };
    // prepareRows names the row first: [0, "data", ...].
    return { reason: `The event is not a valid ${event.entity}: ${issuesText(err, 1)}` };
  }
}
