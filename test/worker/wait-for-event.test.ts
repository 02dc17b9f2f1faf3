import { createExecutionContext, createMessageBatch, evictDurableObject, getQueueResult, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { inboxMessage, type SentEvent } from "../support/events";
import { alarmOf, expectAtRest, fireAt, settled, stubOf } from "../support/runs";

/*
 * wait_for_event (SPEC §15) end to end: real queue consumer, real D1, real run objects, the run's
 * clock moved instead of sleeping. Every run first sleeps a minute, so that the test fixes the
 * moment its wait begins (`at`, 700 ms into a second) and can send events before, during (in the
 * same second, consumed before the wait is registered) and after it.
 */

const MINUTE = 60_000;

/** The steps after the wait: `bought` reads the event the wait got, `nudge` runs at the timeout. */
const bought = { id: "bought", type: "condition", config: { all: [{ left: "{{steps.await.output.event.data.total}}", op: "gte", right: 0 }] } };
const nudge = { id: "nudge", type: "condition", config: { all: [{ left: 1, op: "eq", right: 1 }] } };

function awaitNode(config: Record<string, unknown> = {}) {
  return {
    id: "await",
    type: "wait_for_event",
    config: {
      event: "order.created",
      match: { all: [{ left: "{{event.data.customer_id}}", op: "eq", right: "{{trigger.entity_id}}" }] },
      timeout: { days: 7 },
      ...config,
    },
    then: "bought",
    else: "nudge",
  };
}

async function createFlow(node = awaitNode()): Promise<string> {
  const res = await api("/api/workflows", {
    method: "POST",
    json: {
      name: uid("wfe"),
      trigger: { entity: "customer" },
      start: "pause",
      nodes: [{ id: "pause", type: "wait", config: { duration: { minutes: 1 } }, next: "await" }, node, bought, nudge],
    },
  });
  expect(res.status).toBe(201);
  return (await json(res)).id as string;
}

/** A test run for a new customer; it sleeps in `pause`. */
async function startFor(workflowId: string, data: Record<string, unknown> = {}) {
  const customer = uid("cus");
  const res = await api(`/api/workflows/${workflowId}/test`, { method: "POST", json: { entity_id: customer, data: { email: `${customer}@example.com`, ...data } } });
  expect(res.status).toBe(202);
  const id = (await json(res)).id as string;
  const wake = (await alarmOf(id))!;
  expect(wake).toBeGreaterThan(Date.now());
  // The wait begins 700 ms into the second after `pause` ends: `since` is that second's start.
  const at = Math.floor(wake / 1000) * 1000 + 1700;
  return { id, customer, at, since: Math.floor(at / 1000) * 1000 };
}

/** Ends `pause` at `at`: the wait begins and subscribes. */
async function beginWait(id: string, at: number): Promise<RunRecord> {
  const { run } = await fireAt(id, at);
  return run;
}

function order(customer: string, occurredAt: number, total = 25): SentEvent {
  const id = uid("ord");
  return {
    id: uid("evt"),
    type: "order.created",
    entity_id: id,
    occurred_at: new Date(occurredAt).toISOString(),
    data: { customer_id: customer, lines: [{ variant_id: "var_1", quantity: 1, price: total }], total, created_at: new Date(occurredAt).toISOString() },
  };
}

/** Runs the real consumer on the events, as one batch. */
async function consume(events: SentEvent[]) {
  const batch = createMessageBatch("workflow-events", events.map((e, i) => inboxMessage(e, `m${i}_${e.id}`, 2_000_000 + i)));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
  return result;
}

const step = (run: RunRecord, id: string) => run.steps.find((s) => s.node_id === id)!;
const statuses = (run: RunRecord) => Object.fromEntries(run.steps.map((s) => [s.node_id, s.status]));

async function waitRows(runId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM event_waits WHERE run_id = ?").bind(runId).first<{ n: number }>();
  return row!.n;
}

/** Whether the run still waits in `await`, subscribed. */
function expectWaiting(run: RunRecord) {
  expect(run.status).toBe("running");
  expect(step(run, "await")).toMatchObject({ status: "running", output: { waiting: true, event: "order.created" } });
}

describe("wait_for_event: which events count", () => {
  it("does not count an order placed in the second before the wait began, and takes else at the timeout", async () => {
    const wf = await createFlow();
    const { id, customer, at, since } = await startFor(wf);
    await consume([order(customer, since - 1)]);
    const waiting = await beginWait(id, at);
    expectWaiting(waiting);
    expect(step(waiting, "await").input).toMatchObject({ event: "order.created", since: new Date(since).toISOString(), key: { path: "data.customer_id", value: `s:${customer}` } });
    expect(await waitRows(id)).toBe(1);
    // Nothing polls: the alarm stands at the timeout, a week after the wait began.
    const until = Date.parse((step(waiting, "await").input as { until: string }).until);
    expect(until - at).toBeGreaterThanOrEqual(7 * 24 * 60 * MINUTE);
    expect(until - at).toBeLessThan(7 * 24 * 60 * MINUTE + 1_000);
    expect(await alarmOf(id)).toBe(until);

    const { run } = await fireAt(id, until);
    expect(run.status).toBe("completed");
    expect(statuses(run)).toMatchObject({ await: "succeeded", bought: "skipped", nudge: "succeeded" });
    expect(step(run, "await").output).toMatchObject({ result: false, branch: "else", event: null });
    expect(await waitRows(id)).toBe(0);
  });

  it("counts an order placed in the same second the wait began, consumed before the wait was registered", async () => {
    const wf = await createFlow();
    const { id, customer, at, since } = await startFor(wf);
    const early = order(customer, since);
    await consume([early]);
    const run = await beginWait(id, at);
    expect(run.status).toBe("completed");
    expect(statuses(run)).toMatchObject({ pause: "succeeded", await: "succeeded", bought: "succeeded", nudge: "skipped" });
    expect(step(run, "await").output).toMatchObject({ result: true, branch: "then", event: { id: early.id, type: "order.created", entity: "order", entity_id: early.entity_id, data: { customer_id: customer, total: 25 } } });
    expect(step(run, "bought").input).toMatchObject({ all: [{ left: 25, op: "gte", right: 0, result: true }] });
    expect(await waitRows(id)).toBe(0);
  });

  it("counts an order placed after the wait began, delivered by the consumer", async () => {
    const wf = await createFlow();
    const { id, customer, at } = await startFor(wf);
    expectWaiting(await beginWait(id, at));
    const later = order(customer, at + 5_000, 40);
    await consume([later]);
    const run = await settled(id);
    expect(run.status).toBe("completed");
    expect(statuses(run)).toMatchObject({ await: "succeeded", bought: "succeeded", nudge: "skipped" });
    expect(step(run, "await").output).toMatchObject({ result: true, event: { id: later.id, data: { total: 40 } } });
    expect(await waitRows(id)).toBe(0);
    // Nothing is left to wake it.
    await expectAtRest(id);
  });

  it("waits on through orders of other customers and orders its match refuses", async () => {
    const wf = await createFlow(awaitNode({ match: { all: [{ left: "{{event.data.customer_id}}", op: "eq", right: "{{trigger.entity_id}}" }, { left: "{{event.data.total}}", op: "gte", right: 100 }] } }));
    const { id, customer, at } = await startFor(wf);
    expectWaiting(await beginWait(id, at));
    await consume([order(uid("someone_else"), at + 1_000, 500), order(customer, at + 2_000, 20)]);
    expectWaiting(await settled(id));
    const big = order(customer, at + 3_000, 150);
    await consume([big]);
    const run = await settled(id);
    expect(run.status).toBe("completed");
    expect(step(run, "await").output).toMatchObject({ event: { id: big.id } });
  });

  it("counts an event once, however often it is delivered", async () => {
    const wf = await createFlow();
    const { id, customer, at } = await startFor(wf);
    expectWaiting(await beginWait(id, at));
    const first = order(customer, at + 1_000);
    const second = order(customer, at + 2_000);
    await consume([first, first]);
    await consume([first, second]);
    const run = await settled(id);
    expect(run.status).toBe("completed");
    expect(step(run, "await").output).toMatchObject({ event: { id: first.id } });
    expect(statuses(run)).toMatchObject({ bought: "succeeded", nudge: "skipped" });
    // The run answers a late delivery with "gone": the consumer forgets the subscription.
    expect(await stubOf(id).deliver("await", { id: second.id, type: "order.created", entity: "order", entity_id: second.entity_id, occurred_at: second.occurred_at, data: second.data })).toBe("gone");
  });

  it("with no match any event of the type counts; the first wait on a type finds one mirrored in its second before it subscribed", async () => {
    const wf = await createFlow(awaitNode({ event: "brand.created", match: undefined }));
    const { id, at, since } = await startFor(wf);
    const brand = { id: uid("evt"), type: "brand.created", entity_id: uid("brand"), occurred_at: new Date(since + 200).toISOString(), data: { name: "Acme" } };
    // No wait on brand.created was ever registered: the event is not logged, the mirror holds it.
    await consume([brand]);
    const run = await beginWait(id, at);
    expect(run.status).toBe("completed");
    expect(step(run, "await").input).toMatchObject({ match: null, key: null });
    expect(step(run, "await").output).toMatchObject({ result: true, event: { id: brand.id, type: "brand.created", entity_id: brand.entity_id, data: { name: "Acme" } } });
  });
});

describe("wait_for_event: restarts and races", () => {
  it("is resolved by an event sent after the object was evicted", async () => {
    const wf = await createFlow();
    const { id, customer, at } = await startFor(wf);
    expectWaiting(await beginWait(id, at));
    await evictDurableObject(stubOf(id));
    const later = order(customer, at + 10_000);
    await consume([later]);
    const run = await settled(id);
    expect(run.status).toBe("completed");
    expect(step(run, "await").output).toMatchObject({ result: true, event: { id: later.id } });
  });

  it("keeps an event delivered while the subscription is being retried, and counts it once the step waits", async () => {
    const wf = await createFlow();
    const { id, customer, at } = await startFor(wf);
    // The look-back's table is away: subscribing fails, and is retried.
    await env.DB.exec("ALTER TABLE event_log RENAME TO event_log_away");
    let retrying: RunRecord;
    try {
      retrying = await beginWait(id, at);
    } finally {
      await env.DB.exec("ALTER TABLE event_log_away RENAME TO event_log");
    }
    const st = step(retrying, "await");
    expect(st.status).toBe("running");
    expect(st.attempts).toHaveLength(1);
    expect(st.attempts[0]!.error).toMatch(/Subscribing to order.created failed/);
    expect(st.next_attempt_at).not.toBeNull();

    const e = order(customer, at + 500);
    const envelope = { id: e.id, type: e.type, entity: "order", entity_id: e.entity_id, occurred_at: e.occurred_at, data: e.data };
    expect(await stubOf(id).deliver("await", envelope)).toBe("queued");
    expect(await stubOf(id).deliver("await", envelope)).toBe("queued");
    // Kept across a restart too: it is in the run's storage.
    await evictDurableObject(stubOf(id));

    const { run } = await fireAt(id, Date.parse(st.next_attempt_at!));
    expect(run.status).toBe("completed");
    expect(step(run, "await").attempts).toHaveLength(2);
    expect(step(run, "await").output).toMatchObject({ result: true, event: { id: e.id } });
    expect(await waitRows(id)).toBe(0);
  });

  it("forgets the subscription when the run is cancelled", async () => {
    const wf = await createFlow();
    const { id, at } = await startFor(wf);
    expectWaiting(await beginWait(id, at));
    expect(await waitRows(id)).toBe(1);
    const res = await api(`/api/runs/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(statuses(await json(res))).toMatchObject({ await: "cancelled", bought: "cancelled", nudge: "cancelled" });
    await settled(id);
    expect(await waitRows(id)).toBe(0);
  });
});

describe("wait_for_event: definitions", () => {
  const save = (node: unknown) =>
    api("/api/workflows", { method: "POST", json: { name: uid("wfe"), trigger: { entity: "customer" }, start: "await", nodes: [node, bought, nudge] } });
  const issuesOf = async (res: Response) => [...new Set(((await json(res)).error.issues as { path: string; message: string }[]).map((i) => i.path))].sort();

  it("takes then and else, and {{event.…}} in its match only", async () => {
    expect((await save(awaitNode())).status).toBe(201);
    const elsewhere = await api("/api/workflows", {
      method: "POST",
      json: { name: uid("wfe"), trigger: { entity: "customer" }, start: "n", nodes: [{ id: "n", type: "condition", config: { all: [{ left: "{{event.data.total}}", op: "gt", right: 1 }] } }] },
    });
    expect(elsewhere.status).toBe(400);
    expect(await issuesOf(elsewhere)).toEqual(["nodes.0.config.all.0.left"]);
  });

  it("refuses an unknown event type, a side mixing the event and the run, an unknown event field and a missing timeout", async () => {
    const bad = await save(
      awaitNode({
        event: "parcel.shipped",
        match: { all: [{ left: "{{event.data.customer_id}}-{{trigger.entity_id}}", op: "eq", right: "x" }, { left: "{{event.payload.x}}", op: "exists" }] },
        timeout: undefined,
      }),
    );
    expect(bad.status).toBe(400);
    expect(await issuesOf(bad)).toEqual(["nodes.0.config.event", "nodes.0.config.match.all.0.left", "nodes.0.config.match.all.1.left", "nodes.0.config.timeout"]);
  });
});
