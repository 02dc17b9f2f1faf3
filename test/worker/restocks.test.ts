import { createMessageBatch, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { consumeBatch } from "../../worker/intake/consumer";
import type { EpisodeState } from "../../worker/restock/episode";
import type { RestockObject } from "../../worker/restock/restock-object";
import { backInStockEventId, episodeId, episodeScope } from "../../worker/restock/waves";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor } from "../support/events";

/*
 * Back-in-stock events in waves (SPEC §12), through the real consumer, RestockObjects, run objects
 * and D1. Every episode's clock starts a year ahead, so its alarms never fire by themselves: the
 * test runs each one (runDurableObjectAlarm) and moves the clock over wave_minutes.
 */

const YEAR = 365 * 86_400_000;
const MINUTE = 60_000;
let seq = 7_000_000;

/** An active workflow started by back_in_stock, whose runs complete at once. */
async function backInStockWorkflow(restock: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const def = {
    name: uid("bis"),
    trigger: { entity: "subscription", events: ["back_in_stock"], restock, ...extra },
    start: "done",
    nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.variant_id}}", op: "ne", right: "" }] } }],
  };
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  const wf = await json(res);
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

/** `n` pending subscriptions of the variant, oldest first by one second each; their ids in that order. */
async function subscribe(variantId: string, n: number, over: Record<string, unknown> = {}): Promise<string[]> {
  const base = Date.parse("2026-11-01T00:00:00Z");
  const prefix = uid("sub");
  const subs = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}_${String(i).padStart(5, "0")}`,
    customer_id: `cust_${i}`,
    variant_id: variantId,
    status: "pending",
    channel: "email",
    created_at: new Date(base + i * 1000).toISOString(),
    ...over,
  }));
  for (let i = 0; i < subs.length; i += 500) {
    const res = await api("/api/entities/subscription", { method: "PUT", json: subs.slice(i, i + 500) });
    expect(res.status).toBe(200);
  }
  return subs.map((s) => s.id);
}

/** A stock event through the consumer, as the inbox delivers it. */
async function stock(item: { id: string; variant_id: string; shop_id: string; on_hand: number }, eventId = `evt_${crypto.randomUUID()}`, occurredAt = new Date().toISOString()) {
  const event = inventoryEvent({ id: eventId, entity_id: item.id, occurred_at: occurredAt }, { variant_id: item.variant_id, shop_id: item.shop_id, on_hand: item.on_hand, tags: [] });
  await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(event, uid("m"), seq++)]), env);
  return event;
}

const stubOf = (id: string) => env.RESTOCKS.get(env.RESTOCKS.idFromName(id));

/** Sets the episode's clock (a year ahead) before the consumer starts it, so its alarms wait for the test. */
async function clockAt(id: string, at: number) {
  await runInDurableObject(stubOf(id), (o: RestockObject) => {
    o.clock.now = () => at;
  });
}

async function limit(id: string, limits: RestockObject["limits"]) {
  await runInDurableObject(stubOf(id), (o: RestockObject) => {
    o.limits = limits;
  });
}

const stateOf = async (id: string) => (await stubOf(id).snapshot()) as EpisodeState | null;

/** Runs the episode's alarms until it waits for its next wave or ended; how many invocations that took. */
async function drain(id: string): Promise<number> {
  let invocations = 0;
  while ((await stateOf(id))?.status === "sending") {
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    invocations++;
    expect(invocations).toBeLessThan(100);
  }
  return invocations;
}

/** Subscriptions of `ids` whose back_in_stock run of this episode exists. */
async function notified(workflowId: string, episode: string, ids: string[]): Promise<string[]> {
  const runs = await Promise.all(ids.map(async (id) => ((await runFor(workflowId, backInStockEventId(episode, id))) ? id : null)));
  return runs.filter((r): r is string => r !== null);
}

/** Puts an inventory item in the mirror directly (no event, no detection). */
async function putItem(id: string, variantId: string, shopId: string, onHand: number) {
  const res = await api("/api/entities/inventory_item", { method: "PUT", json: [{ id, variant_id: variantId, shop_id: shopId, on_hand: onHand, on_order: 0, target: 10 }] });
  expect(res.status).toBe(200);
}

describe("back-in-stock restocks", () => {
  it("notifies 20 of 100 at per_unit 2 for 10 units, then the next 20 after wave_minutes, and stops when stock falls below min_stock", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1, per_unit: 2, wave_minutes: 60 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const subs = await subscribe(variant, 100);
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    const t0 = Date.now() + YEAR;
    await clockAt(ep, t0);

    await stock({ ...item, on_hand: 10 }, eventId);
    expect(await drain(ep)).toBe(1);
    let s = (await stateOf(ep))!;
    expect(s).toMatchObject({ status: "waiting", notified: 20, waiting: 80, refused: 0, wake_at: t0 + 60 * MINUTE });
    expect(s.waves).toEqual([expect.objectContaining({ n: 1, available: 10, size: 20, notified: 20 })]);
    expect(await notified(wf, ep, subs)).toEqual(subs.slice(0, 20)); // oldest first

    // Before wave_minutes nothing more goes out.
    await clockAt(ep, t0 + 59 * MINUTE);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true);
    expect((await stateOf(ep))!.notified).toBe(20);

    // 4 units left: the next wave is 8 subscriptions, counted again.
    await putItem(item.id, variant, item.shop_id, 4);
    await clockAt(ep, t0 + 60 * MINUTE);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true);
    s = (await stateOf(ep))!;
    expect(s).toMatchObject({ status: "waiting", notified: 28, waiting: 72 });
    expect(s.waves.at(-1)).toMatchObject({ n: 2, available: 4, size: 8, notified: 8 });
    expect(await notified(wf, ep, subs)).toEqual(subs.slice(0, 28));

    // Sold out again: the third wave does not go.
    await putItem(item.id, variant, item.shop_id, 0);
    await clockAt(ep, t0 + 120 * MINUTE);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true);
    s = (await stateOf(ep))!;
    expect(s).toMatchObject({ status: "ended", end_reason: "stock_below", notified: 28 });
    expect(await notified(wf, ep, subs)).toHaveLength(28);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(false);

    // The API lists the episode with its waves.
    const page = await json(await api(`/api/restocks?variant_id=${variant}`));
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ id: ep, workflow_id: wf, variant_id: variant, shop_id: null, status: "ended", end_reason: "stock_below", notified: 28, waiting: 72, event_id: eventId });
    expect(page.items[0].waves.map((w: { size: number; notified: number }) => [w.size, w.notified])).toEqual([[20, 20], [8, 8]]);
  });

  it("notifies everyone waiting at once without per_unit", async () => {
    const wf = await backInStockWorkflow({ min_stock: 2 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    const subs = await subscribe(variant, 30);
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    await clockAt(ep, Date.now() + YEAR);
    await stock({ ...item, on_hand: 2 }, eventId);
    await drain(ep);
    expect(await stateOf(ep)).toMatchObject({ status: "ended", end_reason: "no_waiting", notified: 30, waiting: 0 });
    expect(await notified(wf, ep, subs)).toEqual(subs);
  });

  it("starts no second episode for a redelivered stock event, and notifies no one twice", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1, per_unit: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const subs = await subscribe(variant, 10);
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    await clockAt(ep, Date.now() + YEAR);
    const at = new Date().toISOString();
    await stock({ ...item, on_hand: 3 }, eventId, at);
    await drain(ep);
    expect((await stateOf(ep))!.notified).toBe(3);

    await stock({ ...item, on_hand: 3 }, eventId, at); // the same event, delivered again
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true); // only the wave alarm (not due)
    expect(await stateOf(ep)).toMatchObject({ status: "waiting", notified: 3, refused: 0 });
    expect((await json(await api(`/api/restocks?variant_id=${variant}`))).items).toHaveLength(1);
    expect(await notified(wf, ep, subs)).toEqual(subs.slice(0, 3));
  });

  it("starts nothing when stock rises from 0 to 0, or stays at least min_stock", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    await subscribe(variant, 5);
    const zero = await stock({ ...item, on_hand: 0 });
    expect(await stateOf(await episodeId(wf, { event_id: zero.id, variant_id: variant, shop_id: null }))).toBeNull();
    await putItem(item.id, variant, item.shop_id, 2);
    const more = await stock({ ...item, on_hand: 5 });
    expect(await stateOf(await episodeId(wf, { event_id: more.id, variant_id: variant, shop_id: null }))).toBeNull();
    expect((await json(await api(`/api/restocks?variant_id=${variant}`))).items).toEqual([]);
  });

  it("counts only the subscription's shop for a subscription with a shop", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const [a, b] = [uid("shop"), uid("shop")];
    await putItem(uid("inv"), variant, a, 5); // shop a had stock all along
    const itemB = { id: uid("inv"), variant_id: variant, shop_id: b, on_hand: 0 };
    await putItem(itemB.id, variant, b, 0);
    const inA = await subscribe(variant, 3, { shop_id: a });
    const inB = await subscribe(variant, 4, { shop_id: b });
    const anywhere = await subscribe(variant, 2);
    const eventId = `evt_${crypto.randomUUID()}`;
    const shopEp = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: b });
    const allEp = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    await clockAt(shopEp, Date.now() + YEAR);
    await stock({ ...itemB, on_hand: 1 }, eventId);
    // Shop b crossed; the variant over all shops had 5 already: no episode for subscriptions without a shop.
    expect(await stateOf(allEp)).toBeNull();
    await drain(shopEp);
    expect(await stateOf(shopEp)).toMatchObject({ shop_id: b, notified: 4, status: "ended" });
    expect(await notified(wf, shopEp, [...inA, ...inB, ...anywhere])).toEqual(inB);
  });

  it("fans 1,000 subscriptions out over several alarm invocations without duplicates", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    const subs = await subscribe(variant, 1000);
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    await clockAt(ep, Date.now() + YEAR);
    await limit(ep, { page: 100, startsPerAlarm: 250 });
    await stock({ ...item, on_hand: 1 }, eventId);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true);
    // The API shows the progress of each invocation.
    expect((await json(await api(`/api/restocks?variant_id=${variant}`))).items[0]).toMatchObject({ status: "sending", notified: 250 });
    // 4 invocations of 250 starts each, and a fifth that finds nobody left.
    expect(await drain(ep)).toBe(4);
    expect(await stateOf(ep)).toMatchObject({ status: "ended", end_reason: "no_waiting", notified: 1000, refused: 0, skipped: 0 });
    expect(await notified(wf, ep, subs)).toHaveLength(1000);
  }, 120_000);

  it("notifies only the subscriptions the trigger's conditions accept", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 }, { conditions: { all: [{ left: "{{trigger.data.channel}}", op: "eq", right: "push" }] } });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    const mail = await subscribe(variant, 3);
    const push = await subscribe(variant, 2, { channel: "push" });
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    await clockAt(ep, Date.now() + YEAR);
    await stock({ ...item, on_hand: 4 }, eventId);
    await drain(ep);
    expect(await stateOf(ep)).toMatchObject({ notified: 2, skipped: 3 });
    expect(await notified(wf, ep, [...mail, ...push])).toEqual(push);
    const run = await runFor(wf, backInStockEventId(ep, push[0]!));
    expect(run?.trigger).toMatchObject({ type: "subscription.back_in_stock", entity: "subscription", entity_id: push[0], data: { channel: "push", status: "pending" } });
  });

  it("ends the episode when the workflow is deactivated between waves", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1, per_unit: 1, wave_minutes: 5 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    const subs = await subscribe(variant, 5);
    const eventId = `evt_${crypto.randomUUID()}`;
    const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
    const t0 = Date.now() + YEAR;
    await clockAt(ep, t0);
    await stock({ ...item, on_hand: 2 }, eventId);
    await drain(ep);
    expect((await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "paused" } })).status).toBe(200);
    await clockAt(ep, t0 + 5 * MINUTE);
    expect(await runDurableObjectAlarm(stubOf(ep))).toBe(true);
    expect(await stateOf(ep)).toMatchObject({ status: "ended", end_reason: "workflow_inactive", notified: 2 });
    expect(await notified(wf, ep, subs)).toEqual(subs.slice(0, 2));
  });

  it("refuses back_in_stock on an entity other than subscription with a 400", async () => {
    const def = {
      name: uid("bis"),
      trigger: { entity: "inventory_item", events: ["back_in_stock"], restock: { min_stock: 1 } },
      start: "done",
      nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.variant_id}}", op: "ne", right: "" }] } }],
    };
    const res = await api("/api/workflows", { method: "POST", json: def });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toContainEqual(expect.objectContaining({ path: "trigger.events", message: "back_in_stock is an event of subscription triggers only" }));
  });

  it("detects a restock when D1 refuses another event of the batch and the events are mirrored one by one", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const subs = await subscribe(variant, 3);
    const poisoned = uid("poisoned");
    await env.DB.prepare(
      `CREATE TRIGGER refuse_${poisoned} BEFORE INSERT ON inventory_items WHEN NEW.id = '${poisoned}' BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`,
    ).run();
    const good = inventoryEvent({ entity_id: item.id }, { variant_id: variant, shop_id: item.shop_id, on_hand: 2, tags: [] });
    const bad = inventoryEvent({ entity_id: poisoned }, { variant_id: variant, shop_id: item.shop_id, on_hand: 5, tags: [] });
    const ep = await episodeId(wf, { event_id: good.id, variant_id: variant, shop_id: null });
    await clockAt(ep, Date.now() + YEAR);
    const batch = createMessageBatch("workflow-events", [inboxMessage(good, uid("m"), seq++), inboxMessage(bad, uid("m"), seq++)]);
    await consumeBatch(batch, env);
    await drain(ep);
    expect(await stateOf(ep)).toMatchObject({ status: "ended", notified: 3 });
    expect(await notified(wf, ep, subs)).toEqual(subs);
  });

  it("answers 400 for a cursor it never gave out or a limit out of range", async () => {
    expect((await api("/api/restocks?cursor=nonsense")).status).toBe(400);
    expect((await api("/api/restocks?limit=0")).status).toBe(400);
    expect((await api("/api/restocks?limit=501")).status).toBe(400);
  });

  it("pages episodes newest first", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      await subscribe(variant, 1);
      const eventId = `evt_${crypto.randomUUID()}`;
      const ep = await episodeId(wf, { event_id: eventId, variant_id: variant, shop_id: null });
      await clockAt(ep, Date.now() + YEAR + i * MINUTE);
      await stock({ ...item, on_hand: 1 }, eventId);
      await drain(ep);
      await putItem(item.id, variant, item.shop_id, 0); // sold out again
      ids.push(ep);
    }
    const first = await json(await api(`/api/restocks?variant_id=${variant}&limit=2`));
    expect(first.items.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    const second = await json(await api(`/api/restocks?variant_id=${variant}&limit=2&cursor=${first.next_cursor}`));
    expect(second).toEqual({ items: [expect.objectContaining({ id: ids[0] })], next_cursor: null });
  });
});

describe("a restock after the stock sold out again", () => {
  const episodes = async (variant: string) => (await json(await api(`/api/restocks?variant_id=${variant}`))).items as { id: string; status: string; end_reason: string | null; notified: number; waves: { ended_at: string | null }[] }[];

  it("ends the older episode waiting for its next wave, so that only the new one sends", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1, per_unit: 1, wave_minutes: 60 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const subs = await subscribe(variant, 10);
    const [first, second] = [`evt_${crypto.randomUUID()}`, `evt_${crypto.randomUUID()}`];
    const [ep1, ep2] = [await episodeId(wf, { event_id: first, variant_id: variant, shop_id: null }), await episodeId(wf, { event_id: second, variant_id: variant, shop_id: null })];
    const t0 = Date.now() + YEAR;
    await clockAt(ep1, t0);
    await clockAt(ep2, t0 + 10 * MINUTE);

    await stock({ ...item, on_hand: 2 }, first);
    await drain(ep1);
    expect(await stateOf(ep1)).toMatchObject({ status: "waiting", notified: 2 });
    await stock({ ...item, on_hand: 0 }); // sold out again
    await stock({ ...item, on_hand: 3 }, second); // and back: a new episode

    expect(await stateOf(ep1)).toMatchObject({ status: "ended", end_reason: "superseded", notified: 2, wake_at: null });
    await drain(ep2);
    expect(await stateOf(ep2)).toMatchObject({ status: "waiting", notified: 3 });
    // The older episode's next wave never goes, however late it is.
    await clockAt(ep1, t0 + 61 * MINUTE);
    expect(await runDurableObjectAlarm(stubOf(ep1))).toBe(false);
    expect(await notified(wf, ep1, subs)).toEqual(subs.slice(0, 2));
    // The new one counts everyone still pending from the oldest (the first two were not told they are served: still pending).
    expect(await notified(wf, ep2, subs)).toEqual(subs.slice(0, 3));

    const listed = await episodes(variant);
    expect(listed.map((e) => [e.id, e.status, e.end_reason, e.notified])).toEqual([
      [ep2, "waiting", null, 3],
      [ep1, "ended", "superseded", 2],
    ]);
  });

  it("stops an episode in the middle of its fan-out at the next page when a newer one takes over", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    const item = { id: uid("inv"), variant_id: variant, shop_id: uid("shop"), on_hand: 0 };
    await putItem(item.id, variant, item.shop_id, 0);
    const subs = await subscribe(variant, 30);
    const [first, second] = [`evt_${crypto.randomUUID()}`, `evt_${crypto.randomUUID()}`];
    const [ep1, ep2] = [await episodeId(wf, { event_id: first, variant_id: variant, shop_id: null }), await episodeId(wf, { event_id: second, variant_id: variant, shop_id: null })];
    await clockAt(ep1, Date.now() + YEAR);
    await clockAt(ep2, Date.now() + YEAR);
    await limit(ep1, { page: 5, startsPerAlarm: 10 });

    await stock({ ...item, on_hand: 1 }, first);
    expect(await runDurableObjectAlarm(stubOf(ep1))).toBe(true);
    expect(await stateOf(ep1)).toMatchObject({ status: "sending", notified: 10 });
    await stock({ ...item, on_hand: 0 });
    await stock({ ...item, on_hand: 2 }, second);

    const ended = (await stateOf(ep1))!;
    expect(ended).toMatchObject({ status: "ended", end_reason: "superseded", notified: 10 });
    expect(ended.waves.every((w) => w.ended_at !== null)).toBe(true);
    expect(await runDurableObjectAlarm(stubOf(ep1))).toBe(false);
    await drain(ep2);
    expect(await stateOf(ep2)).toMatchObject({ status: "ended", end_reason: "no_waiting", notified: 30 });
    expect(await notified(wf, ep1, subs)).toEqual(subs.slice(0, 10));
    expect(await notified(wf, ep2, subs)).toEqual(subs);
    expect((await episodes(variant)).find((e) => e.id === ep1)).toMatchObject({ status: "ended", end_reason: "superseded", notified: 10 });
    // Once the scope's current episode ended, the scope's object holds nothing.
    const scope = env.RESTOCKS.get(env.RESTOCKS.idFromName(episodeScope({ workflow_id: wf, variant_id: variant, shop_id: null })));
    expect(await runInDurableObject(scope, (_o: RestockObject, state) => [...state.storage.kv.list()].length)).toBe(0);
  });

  it("lets one of two episodes of a scope started at once send, and ends the other before it sends", async () => {
    const wf = await backInStockWorkflow({ min_stock: 1 });
    const variant = uid("var");
    await putItem(uid("inv"), variant, uid("shop"), 5);
    const subs = await subscribe(variant, 4);
    const start = (id: string) => ({ id, workflow_id: wf, version: 1, variant_id: variant, shop_id: null, event_id: uid("evt"), min_stock: 1, per_unit: null, wave_minutes: 60 });
    const ids = [uid("rst"), uid("rst")];
    for (const id of ids) await clockAt(id, Date.now() + YEAR);
    expect(await Promise.all(ids.map((id) => stubOf(id).start(start(id))))).toEqual([{ created: true }, { created: true }]);
    for (const id of ids) await drain(id);
    const states = await Promise.all(ids.map(stateOf));
    expect(states.map((s) => s!.end_reason).sort()).toEqual(["no_waiting", "superseded"]);
    const [sender, other] = states[0]!.end_reason === "no_waiting" ? ids : [ids[1]!, ids[0]!];
    expect(await stateOf(other!)).toMatchObject({ status: "ended", notified: 0, waves: [] });
    expect(await notified(wf, sender!, subs)).toEqual(subs);
    expect(await notified(wf, other!, subs)).toEqual([]);
  });

  it("leaves alone the episodes of another shop scope and of another workflow", async () => {
    const a = await backInStockWorkflow({ min_stock: 1, per_unit: 1 });
    const variant = uid("var");
    const shop = uid("shop");
    const item = { id: uid("inv"), variant_id: variant, shop_id: shop, on_hand: 0 };
    await putItem(item.id, variant, shop, 0);
    await subscribe(variant, 3, { shop_id: shop });
    await subscribe(variant, 3);
    const first = `evt_${crypto.randomUUID()}`;
    const inShop = await episodeId(a, { event_id: first, variant_id: variant, shop_id: shop });
    const anywhere = await episodeId(a, { event_id: first, variant_id: variant, shop_id: null });
    await clockAt(inShop, Date.now() + YEAR);
    await clockAt(anywhere, Date.now() + YEAR);
    // One event lifts the shop's stock and the variant's over all shops: two scopes, two episodes, both go on.
    await stock({ ...item, on_hand: 2 }, first);
    await drain(inShop);
    await drain(anywhere);
    expect(await stateOf(inShop)).toMatchObject({ shop_id: shop, status: "waiting", notified: 2 });
    expect(await stateOf(anywhere)).toMatchObject({ shop_id: null, status: "waiting", notified: 2 });

    // A second workflow's episode of the same variant ends nothing of the first's.
    await stock({ ...item, on_hand: 0 });
    const b = await backInStockWorkflow({ min_stock: 1, per_unit: 1 });
    const second = `evt_${crypto.randomUUID()}`;
    const ofB = await episodeId(b, { event_id: second, variant_id: variant, shop_id: shop });
    await clockAt(ofB, Date.now() + YEAR);
    // Workflow a is paused first, so that only b sees the restock.
    expect((await api(`/api/workflows/${a}/status`, { method: "POST", json: { status: "paused" } })).status).toBe(200);
    await stock({ ...item, on_hand: 2 }, second);
    expect(await stateOf(ofB)).toMatchObject({ status: "sending" });
    expect(await stateOf(inShop)).toMatchObject({ status: "waiting", end_reason: null });
    expect(await stateOf(anywhere)).toMatchObject({ status: "waiting", end_reason: null });
  });
});
