import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { parseEvents, type EntityEvent } from "../../worker/intake/envelope";
import { bootId, InboxObject, INLINE_BYTES, MAX_PENDING } from "../../worker/intake/inbox-object";
import { snapshotCounters } from "../../worker/lib/metrics";
import { pickShard } from "../../worker/intake/shards";
import { runName } from "../../worker/intake/start";
import { json, uid } from "../support/api";
import { activeWorkflow, inventoryEvent, postEvents } from "../support/events";

const inbox = (shard: number) => env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`));
const encoder = new TextEncoder();

/** Events as the intake hands them to the inbox. */
function entityEvents(...raw: ReturnType<typeof inventoryEvent>[]): EntityEvent[] {
  const parsed = parseEvents({ events: raw });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.events;
}

/**
 * An inbox of this test alone. Its events name another shard in their queue messages, so the
 * consumer acknowledges and reads them there and never touches this one.
 */
function privateInbox() {
  const n = 1_000 + Math.floor(Math.random() * 1e9);
  return { stub: inbox(n), elsewhere: n + 1 };
}

const seqOf = (stub: DurableObjectStub<InboxObject>, eventId: string) =>
  runInDurableObject(stub, (_obj: InboxObject, state) =>
    state.storage.sql.exec<{ seq: number }>("SELECT seq FROM inbox WHERE event_id = ?", eventId).one().seq,
  );

/** Writes a row as a runtime would have, `bytes` as given (a correct size unless a test says otherwise). */
function insertRow(sql: SqlStorage, event: EntityEvent, opts: { sentBoot: string; receivedAt: number; nextSendAt: number; bytes?: number }) {
  const body = JSON.stringify(event);
  sql.exec(
    "INSERT INTO inbox (event_id, bytes, received_at, next_send_at, sent_boot, body) VALUES (?, ?, ?, ?, ?, ?)",
    event.id,
    opts.bytes ?? encoder.encode(body).byteLength,
    opts.receivedAt,
    opts.nextSendAt,
    opts.sentBoot,
    body,
  );
}

async function expectCompletedRun(workflowId: string, eventId: string) {
  await vi.waitFor(
    async () => {
      const run = await env.RUNS.get(env.RUNS.idFromName(runName(workflowId, eventId))).settled();
      expect(run && JSON.parse(run).status).toBe("completed");
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe("the inbox", () => {
  it("sends again, at its next sweep, an event whose queue message was lost with a previous runtime", async () => {
    const tag = uid("lost");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const [event] = entityEvents(inventoryEvent({}, { tags: [tag] }));
    const shard = pickShard(event!.id);
    // As if a runtime that has since died had recorded it and sent it to its in-memory queue.
    await runInDurableObject(inbox(shard), (_obj: InboxObject, state) => {
      state.storage.kv.put("shard", shard); // as accept() records it before any row
      insertRow(state.storage.sql, event!, { sentBoot: "a-dead-runtime", receivedAt: Date.now() - 10_000, nextSendAt: Date.now() + 3_600_000 });
      // The sweep alarm it had armed survives the restart.
      return state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(inbox(shard))).toBe(true);
    await expectCompletedRun(wf, event!.id);
  });

  it("does not send again what the queue accepted in this runtime, however slow the consumer", async () => {
    const [event] = entityEvents(inventoryEvent({}, { tags: ["nothing-matches"] }));
    const shard = pickShard(event!.id);
    const stub = inbox(shard);
    // Recorded and handed to the queue by this runtime half an hour ago, still not acknowledged.
    await runInDurableObject(stub, (_obj: InboxObject, state) => {
      state.storage.kv.put("shard", shard); // as accept() records it before any row
      insertRow(state.storage.sql, event!, { sentBoot: bootId(), receivedAt: Date.now() - 30 * 60_000, nextSendAt: Date.now() + 30 * 60_000 });
      return state.storage.setAlarm(Date.now());
    });
    const sentBefore = snapshotCounters().queue_messages_sent ?? 0;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(snapshotCounters().queue_messages_sent ?? 0).toBe(sentBefore);
    const row = await runInDurableObject(stub, (_obj: InboxObject, state) =>
      state.storage.sql.exec<{ sends: number }>("SELECT sends FROM inbox WHERE event_id = ?", event!.id).toArray()[0],
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

describe("inbox seqs", () => {
  it("acks by an id that is never reused, even once the inbox was empty", async () => {
    const { stub, elsewhere } = privateInbox();
    const [x, y] = entityEvents(inventoryEvent(), inventoryEvent());
    await stub.accept(elsewhere, [x!]);
    const seqX = await seqOf(stub, x!.id);
    await stub.ack([seqX]);
    expect((await stub.stats()).pending).toBe(0);

    await stub.accept(elsewhere, [y!]);
    const seqY = await seqOf(stub, y!.id);
    expect(seqY).toBeGreaterThan(seqX);
    // X's message arrives again late (a redelivery, a re-send): it must neither read nor finish Y.
    expect(await stub.bodies([seqX])).toEqual({});
    await stub.ack([seqX]);
    expect(await stub.bodies([seqY])).toEqual({ [seqY]: y });
    expect((await stub.stats()).pending).toBe(1);
  });

  it("migrates an inbox of the first shape: keeps its events and their seqs, and starts new seqs above any an old message could name", async () => {
    const { stub, elsewhere } = privateInbox();
    const [old1, old2, fresh] = entityEvents(inventoryEvent({}, { note: "€ 価格" }), inventoryEvent(), inventoryEvent());
    const startedAt = Date.now();
    const out = await runInDurableObject(stub, async (_obj: InboxObject, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE inbox");
      // The table as the first version created it: seqs reused once it was empty.
      sql.exec(`CREATE TABLE inbox (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        sends INTEGER NOT NULL DEFAULT 0,
        next_send_at INTEGER NOT NULL,
        sent_boot TEXT NOT NULL DEFAULT ''
      )`);
      sql.exec("CREATE INDEX inbox_next_send ON inbox (next_send_at)");
      for (const [seq, e] of [[1, old1!], [2, old2!]] as const) {
        sql.exec(
          "INSERT INTO inbox (seq, event_id, body, received_at, next_send_at, sent_boot) VALUES (?, ?, ?, ?, ?, ?)",
          seq,
          e.id,
          JSON.stringify(e),
          startedAt,
          startedAt + 3_600_000,
          bootId(),
        );
      }
      // The object as the new code constructs it after a deploy.
      const migrated = new InboxObject(state, env);
      const bodies = await migrated.bodies([1, 2]);
      await migrated.accept(elsewhere, [fresh!]);
      await migrated.ack([1]);
      return {
        bodies,
        stats: await migrated.stats(),
        rows: sql.exec<{ seq: number; event_id: string; bytes: number }>("SELECT seq, event_id, bytes FROM inbox ORDER BY seq").toArray(),
      };
    });
    expect(out.bodies).toEqual({ 1: old1, 2: old2 });
    expect(out.stats.pending).toBe(2);
    expect(out.rows).toHaveLength(2);
    expect(out.rows[0]).toEqual({ seq: 2, event_id: old2!.id, bytes: encoder.encode(JSON.stringify(old2)).byteLength });
    expect(out.rows[1]!.event_id).toBe(fresh!.id);
    expect(out.rows[1]!.seq).toBeGreaterThanOrEqual(startedAt * 1000);
    expect(Number.isSafeInteger(out.rows[1]!.seq)).toBe(true);
  });
});

describe("inbox sends within the queue's limits", () => {
  it("takes at most 500 events per call, each at most 1 MiB of JSON", async () => {
    const { stub, elsewhere } = privateInbox();
    const [event] = entityEvents(inventoryEvent());
    const huge = { ...event!, data: { ...event!.data, note: "€".repeat(350_000) } };
    const many = Array.from({ length: 501 }, (_, i) => ({ ...event!, id: `${event!.id}_${i}` }));
    await runInDurableObject(stub, async (obj: InboxObject) => {
      await expect(obj.accept(elsewhere, [huge])).rejects.toThrow(/at most 1048576/);
      await expect(obj.accept(elsewhere, many)).rejects.toThrow();
    });
    expect((await stub.stats()).accepted_total).toBe(0);
  });

  it("sends again, in batches the queue takes, a backlog of multi-byte events", async () => {
    const tag = uid("backlog");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const shard = 2;
    // 120 events of 3 KB each (1,000 CJK characters): 360 KB, more than one sendBatch may carry.
    const events: EntityEvent[] = [];
    while (events.length < 120) {
      const [e] = entityEvents(inventoryEvent({}, { tags: [tag], note: "在庫".repeat(500) }));
      if (pickShard(e!.id) === shard) events.push(e!);
    }
    await runInDurableObject(inbox(shard), (_obj: InboxObject, state) => {
      state.storage.kv.put("shard", shard); // as accept() records it before any row
      for (const e of events) insertRow(state.storage.sql, e, { sentBoot: "a-dead-runtime", receivedAt: Date.now(), nextSendAt: Date.now() + 3_600_000 });
      return state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(inbox(shard))).toBe(true);
    for (const e of events) await expectCompletedRun(wf, e.id);
  });

  it("does not let a message the queue refuses hold back the events sent with it", async () => {
    const tag = uid("refused");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const [large, small] = entityEvents(inventoryEvent({}, { tags: [tag], note: "€".repeat(50_000) }), inventoryEvent({}, { tags: [tag] }));
    const shard = pickShard(large!.id);
    await runInDurableObject(inbox(shard), (_obj: InboxObject, state) => {
      // A size misjudged (150,000 bytes recorded as 1,000): sent inline, the queue refuses the batch.
      state.storage.kv.put("shard", shard); // as accept() records it before any row
      insertRow(state.storage.sql, large!, { sentBoot: "a-dead-runtime", receivedAt: Date.now(), nextSendAt: Date.now() + 3_600_000, bytes: 1_000 });
      insertRow(state.storage.sql, small!, { sentBoot: "a-dead-runtime", receivedAt: Date.now(), nextSendAt: Date.now() + 3_600_000 });
      return state.storage.setAlarm(Date.now());
    });
    expect(encoder.encode(JSON.stringify(large)).byteLength).toBeGreaterThan(INLINE_BYTES);
    expect(await runDurableObjectAlarm(inbox(shard))).toBe(true);
    await expectCompletedRun(wf, large!.id);
    await expectCompletedRun(wf, small!.id);
  });
});
