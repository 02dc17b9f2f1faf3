import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { activeWorkflow, inboxMessage, inventoryEvent, runFor } from "../support/events";
import { api, json, uid } from "../support/api";

/*
 * Events that arrive after a newer one for the same entity (SPEC §5: the mirror keeps the newer
 * snapshot). They start no run unless a workflow opts in with `trigger.stale_events: "run"`, and
 * GET /api/events/stale lists them.
 */

type Event = ReturnType<typeof inventoryEvent>;

let seq = 2_000_000;
async function consume(events: Event[]) {
  const batch = createMessageBatch(
    "workflow-events",
    events.map((e) => inboxMessage(e, `m_${e.id}_${seq}`, seq++)),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
}

async function staleList(): Promise<{ event_id: string }[]> {
  return (await json(await api("/api/events/stale?limit=500"))).items;
}

/** A newer and an older event for one new entity, a minute apart. */
function pair(tag: string) {
  const item = uid("inv");
  const t = Date.now();
  const newer = inventoryEvent({ entity_id: item, occurred_at: new Date(t + 60_000).toISOString() }, { tags: [tag], on_hand: 7 });
  const older = inventoryEvent({ entity_id: item, occurred_at: new Date(t).toISOString() }, { tags: [tag], on_hand: 1 });
  return { item, newer, older };
}

describe("stale events", () => {
  it("starts no run for an event older than the snapshot held, and lists it under /api/events/stale", async () => {
    const tag = uid("t");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const { item, newer, older } = pair(tag);
    await consume([newer]);
    await consume([older]);
    expect((await runFor(wf, newer.id))?.status).toBe("completed");
    expect(await runFor(wf, older.id)).toBeNull();
    const listed = (await staleList()).find((s) => s.event_id === older.id);
    expect(listed).toEqual({
      event_id: older.id,
      type: "inventory_item.updated",
      entity: "inventory_item",
      entity_id: item,
      occurred_at: new Date(older.occurred_at).toISOString(),
      held_event_id: newer.id,
      held_occurred_at: new Date(newer.occurred_at).toISOString(),
      skipped_workflows: [wf],
      skipped_count: 1,
      recorded_at: expect.any(String),
    });
    expect((await staleList()).some((s) => s.event_id === newer.id)).toBe(false);
  });

  it("runs a stale event for a workflow that opts in, with the event's own data and no previous", async () => {
    const tag = uid("t");
    const skips = await activeWorkflow({ tags: { include: [tag] } });
    const runs = await activeWorkflow({ tags: { include: [tag] }, stale_events: "run" });
    const { item, newer, older } = pair(tag);
    await consume([newer]);
    await consume([older]);
    expect(await runFor(skips, older.id)).toBeNull();
    const run = await runFor(runs, older.id);
    expect(run?.status).toBe("completed");
    expect(run?.trigger).toMatchObject({ id: older.id, data: { id: item, on_hand: 1 }, previous: null });
    expect((await json(await api(`/api/workflows/${runs}`))).definition.trigger.stale_events).toBe("run");
    expect((await staleList()).find((s) => s.event_id === older.id)).toMatchObject({ skipped_workflows: [skips], skipped_count: 1 });
    // The mirror keeps the newer snapshot.
    expect(await json(await api(`/api/entities/inventory_item/${item}`))).toMatchObject({ on_hand: 7 });
  });

  it("does not take a redelivery of the same event for a stale one", async () => {
    const tag = uid("t");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const item = uid("inv");
    const t = Date.now();
    const first = inventoryEvent({ entity_id: item, occurred_at: new Date(t).toISOString() }, { tags: [tag], on_hand: 0 });
    const second = inventoryEvent({ entity_id: item, occurred_at: new Date(t + 1000).toISOString() }, { tags: [tag], on_hand: 3 });
    await consume([first]);
    await consume([second]);
    const run = await runFor(wf, second.id);
    await consume([second]);
    await consume([second, second]);
    expect(await runFor(wf, second.id)).toEqual(run);
    expect(run?.trigger.previous).toMatchObject({ on_hand: 0 });
    expect((await staleList()).some((s) => s.event_id === second.id)).toBe(false);
  });

  it("in one batch, takes an older event after a newer one for stale, and events in order for fresh", async () => {
    const tag = uid("t");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const late = pair(tag);
    await consume([late.newer, late.older]);
    expect(await runFor(wf, late.older.id)).toBeNull();
    expect((await staleList()).some((s) => s.event_id === late.older.id)).toBe(true);

    const inOrder = pair(tag);
    await consume([inOrder.older, inOrder.newer]);
    expect((await runFor(wf, inOrder.older.id))?.status).toBe("completed");
    expect((await runFor(wf, inOrder.newer.id))?.trigger.previous).toMatchObject({ on_hand: 1 });
  });

  it("pages newest first and refuses a cursor it did not give out", async () => {
    const tag = uid("t");
    await activeWorkflow({ tags: { include: [tag] } });
    for (let i = 0; i < 2; i++) {
      const { newer, older } = pair(tag);
      await consume([newer]);
      await consume([older]);
    }
    const first = await json(await api("/api/events/stale?limit=1"));
    expect(first.items).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json(await api(`/api/events/stale?limit=1&cursor=${first.next_cursor}`));
    expect(second.items).toHaveLength(1);
    const [a, b] = [first.items[0], second.items[0]];
    expect(a.recorded_at > b.recorded_at || (a.recorded_at === b.recorded_at && a.event_id > b.event_id)).toBe(true);
    const bad = await api("/api/events/stale?cursor=nope");
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe("bad_request");
    expect((await api("/api/events/stale", { token: null })).status).toBe(401);
  });

  it("keeps existing definitions working: a trigger without stale_events skips stale events", async () => {
    const res = await api("/api/workflows/validate", {
      method: "POST",
      json: { name: "x", trigger: { entity: "inventory_item", stale_events: "sometimes" }, start: "a", nodes: [{ id: "a", type: "wait", config: { until: { type: "relative", days: 1 } } }] },
    });
    const body = await json(res);
    expect(JSON.stringify(body)).toMatch(/stale_events/);
    const created = await json(
      await api("/api/workflows", { method: "POST", json: { name: uid("d"), trigger: { entity: "inventory_item" }, start: "a", nodes: [{ id: "a", type: "wait", config: { until: { type: "relative", days: 1 } } }] } }),
    );
    expect(created.definition.trigger.stale_events).toBe("skip");
  });
});
