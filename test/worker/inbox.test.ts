import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { bootId, InboxObject, MAX_PENDING } from "../../worker/inbox-object";
import { snapshotCounters } from "../../worker/lib/metrics";
import { pickShard, runName } from "../../worker/queue/consumer";
import { api, json, uid } from "./helpers";
import { inventoryEvent, postEvents } from "./events-support";

const inbox = (shard: number) => env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`));

async function activeWorkflow(tag: string) {
  const wf = await json(
    await api("/api/workflows", {
      method: "POST",
      json: {
        name: uid("inbox"),
        trigger: { entity: "inventory_item", tags: { include: [tag] } },
        start: "done",
        nodes: [{ id: "done", type: "wait", config: { until: { type: "absolute", date: "2020-01-01" } } }],
      },
    }),
  );
  await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } });
  return wf.id as string;
}

describe("the inbox", () => {
  it("sends again, at its next sweep, an event whose queue message was lost with a previous runtime", async () => {
    const tag = uid("lost");
    const wf = await activeWorkflow(tag);
    const event = inventoryEvent({}, { tags: [tag] });
    const shard = pickShard(event.id);
    // As if a runtime that has since died had recorded it and sent it to its in-memory queue.
    await runInDurableObject(inbox(shard), (_obj: InboxObject, state) => {
      const body = JSON.stringify({ ...event, entity: "inventory_item", kind: "updated", occurred_at: new Date(event.occurred_at).toISOString() });
      state.storage.sql.exec(
        "INSERT INTO inbox (event_id, body, received_at, next_send_at, sent_boot) VALUES (?, ?, ?, ?, 'a-dead-runtime')",
        event.id,
        body,
        Date.now() - 10_000,
        Date.now() + 3_600_000,
      );
      // The sweep alarm it had armed survives the restart.
      return state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(inbox(shard))).toBe(true);
    await vi.waitFor(
      async () => {
        const run = await env.RUNS.get(env.RUNS.idFromName(runName(wf, event.id))).settled();
        expect(run && JSON.parse(run).status).toBe("completed");
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it("does not send again what the queue accepted in this runtime, however slow the consumer", async () => {
    const event = inventoryEvent({}, { tags: ["nothing-matches"] });
    const shard = pickShard(event.id);
    const stub = inbox(shard);
    // Recorded and handed to the queue by this runtime half an hour ago, still not acknowledged.
    await runInDurableObject(stub, (_obj: InboxObject, state) => {
      state.storage.sql.exec(
        "INSERT INTO inbox (event_id, body, received_at, next_send_at, sent_boot) VALUES (?, ?, ?, ?, ?)",
        event.id,
        JSON.stringify({ ...event, entity: "inventory_item", kind: "updated" }),
        Date.now() - 30 * 60_000,
        Date.now() + 30 * 60_000,
        bootId(),
      );
      return state.storage.setAlarm(Date.now());
    });
    const sentBefore = snapshotCounters().queue_messages_sent ?? 0;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(snapshotCounters().queue_messages_sent ?? 0).toBe(sentBefore);
    const row = await runInDurableObject(stub, (_obj: InboxObject, state) =>
      state.storage.sql.exec<{ sends: number }>("SELECT sends FROM inbox WHERE event_id = ?", event.id).toArray()[0],
    );
    expect(row).toEqual({ sends: 0 });
  });

  it("answers 429 with Retry-After when too many events wait, and records none of them", async () => {
    const event = inventoryEvent();
    const shard = pickShard(event.id);
    const stub = inbox(shard);
    await runInDurableObject(stub, (obj: InboxObject) => {
      (obj as unknown as { pending: number }).pending += MAX_PENDING;
    });
    try {
      const before = (await stub.stats()).accepted_total;
      const res = await postEvents(event);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("5");
      expect((await json(res)).error.code).toBe("rate_limited");
      expect((await stub.stats()).accepted_total).toBe(before);
    } finally {
      await runInDurableObject(stub, (obj: InboxObject) => {
        (obj as unknown as { pending: number }).pending -= MAX_PENDING;
      });
    }
    expect((await postEvents(event)).status).toBe(202);
  });
});
