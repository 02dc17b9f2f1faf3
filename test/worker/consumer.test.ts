import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../worker/index";
import { describe, expect, it, vi } from "vitest";
import { retryDelay, runName } from "../../worker/queue/consumer";
import type { RunRecord } from "../../worker/run-object";
import { api, json, uid } from "./helpers";
import { inventoryEvent, postEvents } from "./events-support";

/*
 * The queue consumer with real D1 and real run objects. Batches are built with
 * createMessageBatch (which records ack/retry but does not redeliver); redelivery and the
 * dead-letter queue go through the real EVENTS queue.
 */

type Event = ReturnType<typeof inventoryEvent>;

function normalise(e: Event) {
  const [entity, kind] = e.type.split(".");
  return { ...e, entity, kind, occurred_at: new Date(e.occurred_at).toISOString(), data: { ...e.data, id: e.entity_id } };
}

async function consume(events: Event[], attempts = 1) {
  const batch = createMessageBatch("workflow-events", events.map((e, i) => ({ id: `m${i}_${e.id}`, timestamp: new Date(), attempts, body: { v: 1, shard: 0, seq: 1_000_000 + i, event: normalise(e) } })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

async function activeWorkflow(trigger: Record<string, unknown>, nodes?: unknown[]) {
  const def = {
    name: uid("match"),
    trigger: { entity: "inventory_item", ...trigger },
    start: "done",
    nodes: nodes ?? [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "gte", right: 0 }] } }],
  };
  const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

/** The run a workflow has for an event, or null when none was started. */
async function runFor(workflowId: string, eventId: string): Promise<RunRecord | null> {
  const raw = await env.RUNS.get(env.RUNS.idFromName(runName(workflowId, eventId))).settled();
  return raw ? JSON.parse(raw) : null;
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

  it("starts one run when the consumer died before acknowledging (real queue redelivery)", async () => {
    const tag = uid("crash");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const e = inventoryEvent({}, { tags: [tag] });
    // First delivery ends with the runs started but without acknowledgement (as if the consumer died).
    await consume([e]);
    // The platform resends; the real queue delivers it to the real consumer again.
    expect((await postEvents(e)).status).toBe(202);
    await vi.waitFor(async () => {
      const m = await json(await api("/api/metrics"));
      expect(m.inbox.pending).toBe(0);
    }, { timeout: 10_000, interval: 50 });
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM runs WHERE workflow_id = ? AND event_id = ?").bind(wf, e.id).first<{ n: number }>();
    expect(rows?.n).toBe(1);
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
