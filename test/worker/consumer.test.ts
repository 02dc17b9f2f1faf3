import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../worker/index";
import { describe, expect, it, vi } from "vitest";
import { consumeBatch } from "../../worker/intake/consumer";
import { match } from "../../worker/intake/match";
import { mirror } from "../../worker/intake/mirror";
import { read } from "../../worker/intake/read";
import { MAX_ATTEMPTS, retryDelay } from "../../worker/intake/settle";
import { LIMITS, startRuns } from "../../worker/intake/start";
import { api, json, uid } from "../support/api";
import { activeWorkflow, inboxMessage, inventoryEvent, postEvents, runFor } from "../support/events";

/*
 * The queue consumer with real D1 and real run objects. Batches are built with
 * createMessageBatch (which records ack/retry but does not redeliver); redelivery and the
 * dead-letter queue go through the real EVENTS queue.
 */

type Event = Omit<ReturnType<typeof inventoryEvent>, "data"> & { data: Record<string, unknown> };

/** The i-th message of a batch. */
const message = (e: Event, i: number, attempts = 1, extra: Record<string, unknown> = {}) => inboxMessage(e, `m${i}_${e.id}`, 1_000_000 + i, attempts, extra);

async function consume(events: Event[], attempts = 1) {
  const batch = createMessageBatch("workflow-events", events.map((e, i) => message(e, i, attempts)));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

/** Runs the consumer on a batch with smaller limits; returns what it did and what it told the queue. */
async function consumeWith(messages: ReturnType<typeof message>[], limits = LIMITS) {
  const batch = createMessageBatch("workflow-events", messages);
  const summary = await consumeBatch(batch, env, limits);
  return { summary, result: await getQueueResult(batch, createExecutionContext()) };
}

/** How many rows of the run index a workflow has for an event (written when a quick run ends). */
async function indexedRuns(workflowId: string, eventId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM runs WHERE workflow_id = ? AND event_id = ?").bind(workflowId, eventId).first<{ n: number }>();
  return row?.n ?? 0;
}

async function deadEvent(eventId: string) {
  return vi.waitFor(
    async () => {
      const list = await json(await api("/api/events/dead?limit=500"));
      const found = list.items.find((d: { event_id: string }) => d.event_id === eventId);
      expect(found).toBeDefined();
      return found;
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe("matching", () => {
  it("starts a run for a matching event and acknowledges the message", async () => {
    const tag = uid("tag");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const e = inventoryEvent({}, { tags: [tag] });
    const result = await consume([e]);
    expect(result.explicitAcks).toEqual([`m0_${e.id}`]);
    expect(result.retryMessages).toEqual([]);
    const run = await runFor(wf, e.id);
    expect(run).toMatchObject({ status: "completed", workflow_id: wf, test: false, trigger: { id: e.id, entity_id: e.entity_id, type: "inventory_item.updated" } });
  });

  it("applies entity, event kind, tags (any, all, exclude) and conditions", async () => {
    const a = uid("a");
    const b = uid("b");
    const any = await activeWorkflow({ tags: { include: [a, b], match: "any" } });
    const all = await activeWorkflow({ tags: { include: [a, b], match: "all" } });
    const excluding = await activeWorkflow({ tags: { include: [a], exclude: ["discontinued"] } });
    const createdOnly = await activeWorkflow({ tags: { include: [a] }, events: ["created"] });
    const lowStock = await activeWorkflow({ tags: { include: [a] }, conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } });
    const products = await activeWorkflow({ entity: "product", tags: { include: [a] } });

    const onlyA = inventoryEvent({}, { tags: [a], on_hand: 2 });
    const both = inventoryEvent({}, { tags: [a, b], on_hand: 9 });
    const discontinued = inventoryEvent({}, { tags: [a, "discontinued"], on_hand: 1 });
    await consume([onlyA, both, discontinued]);

    const started = async (wf: string, e: Event) => (await runFor(wf, e.id)) !== null;
    expect([await started(any, onlyA), await started(any, both), await started(any, discontinued)]).toEqual([true, true, true]);
    expect([await started(all, onlyA), await started(all, both), await started(all, discontinued)]).toEqual([false, true, false]);
    expect([await started(excluding, onlyA), await started(excluding, both), await started(excluding, discontinued)]).toEqual([true, true, false]);
    expect([await started(createdOnly, onlyA), await started(createdOnly, both)]).toEqual([false, false]);
    expect([await started(lowStock, onlyA), await started(lowStock, both), await started(lowStock, discontinued)]).toEqual([true, false, true]);
    expect(await started(products, onlyA)).toBe(false);
  });

  it("ignores paused and draft workflows", async () => {
    const tag = uid("paused");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "paused" } });
    const e = inventoryEvent({}, { tags: [tag] });
    await consume([e]);
    expect(await runFor(wf, e.id)).toBeNull();
  });

  it("pins the run to the version that was active when the event came", async () => {
    const tag = uid("ver");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const current = await json(await api(`/api/workflows/${wf}`));
    await api(`/api/workflows/${wf}`, { method: "PUT", json: { ...current.definition, name: "Second version" } });
    const e = inventoryEvent({}, { tags: [tag] });
    await consume([e]);
    expect(await runFor(wf, e.id)).toMatchObject({ workflow_version: 2, workflow_name: "Second version" });
  });
});

describe("the entity mirror and trigger.previous", () => {
  it("records the previous snapshot so a condition can ask 'was out of stock, now is not'", async () => {
    const tag = uid("restocked");
    const wf = await activeWorkflow({
      tags: { include: [tag] },
      conditions: { all: [{ left: "{{trigger.previous.on_hand}}", op: "eq", right: 0 }, { left: "{{trigger.data.on_hand}}", op: "gt", right: 0 }] },
    });
    const item = uid("inv");
    const t = Date.now();
    const out = inventoryEvent({ entity_id: item, occurred_at: new Date(t).toISOString() }, { tags: [tag], on_hand: 0 });
    const back = inventoryEvent({ entity_id: item, occurred_at: new Date(t + 1000).toISOString() }, { tags: [tag], on_hand: 4 });
    await consume([out]);
    await consume([back]);
    expect(await runFor(wf, out.id)).toBeNull(); // no previous snapshot: the condition does not hold
    const run = await runFor(wf, back.id);
    expect(run?.trigger.previous).toMatchObject({ id: item, on_hand: 0 });
    expect(run?.trigger.data).toMatchObject({ on_hand: 4 });
    const mirror = await json(await api(`/api/entities/inventory_item/${item}`));
    expect(mirror).toMatchObject({ on_hand: 4 });
  });

  it("matches a deletion that carries only the id by the tags of the snapshot it deletes", async () => {
    const tag = uid("gone");
    const wf = await activeWorkflow({ tags: { include: [tag] }, events: ["deleted"] });
    const item = uid("inv");
    const t = Date.now();
    await consume([inventoryEvent({ entity_id: item, occurred_at: new Date(t).toISOString() }, { tags: [tag], on_hand: 5 })]);
    const del = { ...inventoryEvent({ entity_id: item, type: "inventory_item.deleted", occurred_at: new Date(t + 1000).toISOString() }), data: { id: item } };
    await consume([del]);
    expect(await runFor(wf, del.id)).toMatchObject({ status: "completed", trigger: { data: { id: item, on_hand: 5, tags: [tag] } } });
  });

  it("does not let an older event overwrite a newer snapshot", async () => {
    const item = uid("inv");
    const t = Date.now();
    const newer = inventoryEvent({ entity_id: item, occurred_at: new Date(t + 5000).toISOString() }, { on_hand: 7 });
    const older = inventoryEvent({ entity_id: item, occurred_at: new Date(t).toISOString() }, { on_hand: 1 });
    await consume([newer]);
    await consume([older]);
    expect(await json(await api(`/api/entities/inventory_item/${item}`))).toMatchObject({ on_hand: 7 });
  });
});

describe("exactly one run per workflow and event", () => {
  it("starts one run when the same event is delivered twice", async () => {
    const tag = uid("dup");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const e = inventoryEvent({}, { tags: [tag] });
    await consume([e]);
    const first = await runFor(wf, e.id);
    await consume([e], 2); // the platform sent it again, or the queue redelivered it
    await consume([e, e]);
    const after = await runFor(wf, e.id);
    expect(after!.started_at).toBe(first!.started_at);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM runs WHERE workflow_id = ? AND event_id = ?").bind(wf, e.id).first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("starts each run once and acknowledges the event when the consumer died after starting runs, before acknowledging", async () => {
    const tag = uid("crash");
    const first = await activeWorkflow({ tags: { include: [tag] } });
    const second = await activeWorkflow({ tags: { include: [tag] } });
    const e = inventoryEvent({}, { tags: [tag] });
    // The crash: the runtime dies between starting the runs and settling the batch, so neither the
    // queue message nor the inbox row is acknowledged. The steps run up to the starts, and stop.
    const crashed = createMessageBatch("workflow-events", [message(e, 0, 1)]);
    const items = await read(env, crashed.messages);
    await match(env, items, await mirror(env, items));
    expect(await startRuns(env, items, LIMITS)).toEqual({ calls: 2, created: 2 });
    const unsettled = await getQueueResult(crashed, createExecutionContext());
    expect(unsettled.explicitAcks).toEqual([]);
    expect(unsettled.retryMessages).toEqual([]);
    const before = [await runFor(first, e.id), await runFor(second, e.id)];
    expect(before.map((r) => r?.status)).toEqual(["completed", "completed"]);

    // The queue delivers the message again, one attempt later, to a fresh consumer.
    const { summary, result } = await consumeWith([message(e, 0, 2)]);
    expect(summary).toMatchObject({ start_calls: 2, created: 0, retried: 0 });
    expect(result.explicitAcks).toEqual([`m0_${e.id}`]);
    expect(result.retryMessages).toEqual([]);
    const after = [await runFor(first, e.id), await runFor(second, e.id)];
    expect(after.map((r) => r?.started_at)).toEqual(before.map((r) => r?.started_at));
    expect([await indexedRuns(first, e.id), await indexedRuns(second, e.id)]).toEqual([1, 1]);
  });
});

describe("one bad event among good ones", () => {
  async function goodEvents(n: number) {
    const tag = uid("good");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    return { wf, events: Array.from({ length: n }, () => inventoryEvent({}, { tags: [tag] })) };
  }

  it("dead-letters at once an event that can never be processed, with its reason, and starts the runs of the 20 delivered with it", async () => {
    const { wf, events } = await goodEvents(20);
    let nested: unknown = 0;
    for (let i = 0; i < 1500; i++) nested = { d: nested };
    // Both bypass the intake (which refuses them now), as an old message or a replay would.
    const deep = inventoryEvent({}, { tags: ["deep"], nested });
    const huge = inventoryEvent({}, { tags: ["huge"], note: "x".repeat(1_500_000) });
    const all = [...events.slice(0, 10), deep, ...events.slice(10), huge];
    const result = await consume(all);
    expect(result.retryMessages).toEqual([]);
    expect([...result.explicitAcks].sort()).toEqual(all.map((e, i) => `m${i}_${e.id}`).sort());
    for (const e of events) expect((await runFor(wf, e.id))?.status).toBe("completed");

    const deadDeep = await deadEvent(deep.id);
    expect(deadDeep).toMatchObject({ id: deep.id, attempts: 1, event: null });
    expect(deadDeep.error).toMatch(/nests more than 64 levels/);
    const deadHuge = await deadEvent(huge.id);
    expect(deadHuge).toMatchObject({ id: huge.id, attempts: 1, event: null });
    expect(deadHuge.error).toMatch(/at most 256 KiB/);
  });

  it("retries only the event D1 refuses, then dead-letters it with its reason and its own attempts", async () => {
    const { wf, events } = await goodEvents(20);
    // A real D1 failure for one entity only, as a row over a D1 limit would give.
    const poisoned = uid("poisoned");
    await env.DB.prepare(
      `CREATE TRIGGER refuse_${poisoned} BEFORE INSERT ON inventory_items WHEN NEW.id = '${poisoned}' BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`,
    ).run();
    const bad = inventoryEvent({ entity_id: poisoned }, { tags: [] });
    const all = [...events.slice(0, 7), bad, ...events.slice(7)];

    const first = await consume(all);
    expect(first.retryMessages).toEqual([{ msgId: `m7_${bad.id}` }]);
    expect(first.explicitAcks).toHaveLength(20);
    for (const e of events) expect((await runFor(wf, e.id))?.status).toBe("completed");

    // Its own attempts: it keeps failing alone until the consumer gives up on it.
    const last = await consume([bad], MAX_ATTEMPTS);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual([`m0_${bad.id}`]);
    const dead = await deadEvent(bad.id);
    expect(dead).toMatchObject({ id: bad.id, attempts: MAX_ATTEMPTS, event: { id: bad.id, entity_id: poisoned } });
    expect(dead.error).toMatch(/refused by the test trigger/);
  });
});

describe("staying inside Worker limits", () => {
  it("starts every run exactly once when a batch matches more workflows than one invocation may start", async () => {
    const tag = uid("fan");
    const wfs: string[] = [];
    for (let i = 0; i < 4; i++) wfs.push(await activeWorkflow({ tags: { include: [tag] } }));
    const events = Array.from({ length: 3 }, () => inventoryEvent({}, { tags: [tag] }));
    const { summary, result } = await consumeWith(events.map((e, i) => message(e, i)), { maxStarts: 5 });
    expect(summary.start_calls).toBe(5);
    expect(summary.deferred.length).toBeGreaterThan(0);
    // Not a failure: nothing is retried, so no message spends an attempt for it.
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(3);
    // The rest go on in new messages, which the real queue delivers.
    await vi.waitFor(
      async () => {
        for (const wf of wfs) for (const e of events) expect(await indexedRuns(wf, e.id)).toBe(1);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it("goes on from where it stopped when one event matches more workflows than one invocation may start", async () => {
    const tag = uid("wide");
    const wfs: string[] = [];
    for (let i = 0; i < 7; i++) wfs.push(await activeWorkflow({ tags: { include: [tag] } }));
    const sorted = [...wfs].sort();
    const e = inventoryEvent({}, { tags: [tag] });
    const limits = { maxStarts: 3 };
    const one = await consumeWith([message(e, 0)], limits);
    expect(one.summary).toMatchObject({ start_calls: 3, deferred: [{ event_id: e.id, after: sorted[2] }] });
    const two = await consumeWith([message(e, 0, 1, { after: sorted[2] })], limits);
    expect(two.summary).toMatchObject({ start_calls: 3, deferred: [{ event_id: e.id, after: sorted[5] }] });
    const three = await consumeWith([message(e, 0, 1, { after: sorted[5] })], limits);
    expect(three.summary).toMatchObject({ start_calls: 1, deferred: [] });
    for (const r of [one, two, three]) expect(r.result.explicitAcks).toEqual([`m0_${e.id}`]);
    await vi.waitFor(
      async () => {
        for (const wf of wfs) expect(await indexedRuns(wf, e.id)).toBe(1);
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});

describe("failures and the dead-letter queue", () => {
  async function brokenWorkflow(tag: string) {
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    // A version whose definition cannot start a run: every start fails.
    await env.DB.prepare("UPDATE workflow_versions SET definition = ? WHERE workflow_id = ?").bind(JSON.stringify({ name: "broken" }), wf).run();
    return wf;
  }

  it("retries a message whose runs could not start, with a back-off, and acknowledges the others", async () => {
    const tag = uid("broken");
    await brokenWorkflow(tag);
    const bad = inventoryEvent({}, { tags: [tag] });
    const fine = inventoryEvent({}, { tags: ["nothing-matches"] });
    const result = await consume([bad, fine], 3);
    // (getQueueResult records which messages were retried, not their delay: retryDelay is tested below.)
    expect(result.retryMessages).toEqual([{ msgId: `m0_${bad.id}` }]);
    expect(result.explicitAcks).toEqual([`m1_${fine.id}`]);
  });

  it("backs off 2 s, doubling per attempt, at most 5 minutes", () => {
    expect([1, 2, 3, 4, 8, 9, 20].map(retryDelay)).toEqual([2, 4, 8, 16, 256, 300, 300]);
  });

  it("sends a message that keeps failing to the dead-letter queue, lists it, and replays it", async () => {
    const tag = uid("dlq");
    const wf = await brokenWorkflow(tag);
    const e = inventoryEvent({}, { tags: [tag] });
    expect((await postEvents(e)).status).toBe(202);
    const dead = await vi.waitFor(
      async () => {
        const list = await json(await api("/api/events/dead?limit=500"));
        const found = list.items.find((d: { event_id: string }) => d.event_id === e.id);
        expect(found).toBeDefined();
        return found;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(dead).toMatchObject({ id: e.id, event: { id: e.id, entity_id: e.entity_id } });
    expect(dead.attempts).toBeGreaterThanOrEqual(1);
    // Fixed: the workflow gets a good version again, then the event is replayed.
    const good = { name: "fixed", trigger: { entity: "inventory_item", tags: { include: [tag] } }, start: "done", nodes: [{ id: "done", type: "wait", config: { until: { type: "absolute", date: "2020-01-01" } } }] };
    await api(`/api/workflows/${wf}`, { method: "PUT", json: good });
    const replay = await api(`/api/events/dead/${encodeURIComponent(dead.id)}/replay`, { method: "POST" });
    expect(replay.status).toBe(202);
    await vi.waitFor(async () => expect((await runFor(wf, e.id))?.status).toBe("completed"), { timeout: 10_000, interval: 50 });
    const list = await json(await api("/api/events/dead?limit=500"));
    expect(list.items.some((d: { event_id: string }) => d.event_id === e.id)).toBe(false);
    expect((await api(`/api/events/dead/${encodeURIComponent(dead.id)}/replay`, { method: "POST" })).status).toBe(409);
    expect((await api("/api/events/dead/nope/replay", { method: "POST" })).status).toBe(404);
  });

  it("sends a malformed queue message straight to the dead-letter queue", async () => {
    const marker = uid("garbage");
    await env.EVENTS.send({ garbage: marker });
    await vi.waitFor(
      async () => {
        const row = await env.DB.prepare("SELECT body FROM dead_events WHERE body LIKE ?").bind(`%${marker}%`).first<{ body: string }>();
        expect(row).not.toBeNull();
        expect(JSON.parse(row!.body).error).toBe("The queue message is not an event message");
      },
      { timeout: 10_000, interval: 50 },
    );
  });
});
