import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { api, json, uid } from "../support/api";
import { inboxMessage, postEvents, runFor, type SentEvent } from "../support/events";

/*
 * The back-in-stock entities (SPEC §12): customers with Web Push subscriptions, subscriptions and
 * orders — bulk upsert (JSON and NDJSON), reads, validation, events and triggers.
 */

/** A browser's push subscription: the keys of RFC 8291's example (valid P-256 point, 16-byte auth). */
const PUSH = {
  endpoint: "https://push.example.net/wpush/v2/abc",
  keys: { p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg" },
};

const put = (kind: string, body: unknown, contentType = "application/json") =>
  api(`/api/entities/${kind}`, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": contentType } });

const issuePaths = async (res: Response) => (await json(res)).error.issues.map((i: { path: string }) => i.path);

const customer = (id: string, over: Record<string, unknown> = {}) => ({ id, email: `${id}@example.com`, name: "Ada Lovelace", ...over });
const subscription = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  customer_id: "cust_1",
  variant_id: "var_1",
  status: "pending",
  channel: "email",
  created_at: "2026-11-20T09:00:00Z",
  ...over,
});
const order = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  customer_id: "cust_1",
  lines: [{ variant_id: "var_1", quantity: 2, price: 59.9 }],
  total: 119.8,
  created_at: "2026-11-22T10:00:00Z",
  ...over,
});

async function count(table: string, prefix: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE id LIKE ?`).bind(`${prefix}%`).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("customers", () => {
  it("upserts customers with phone, marketing consent (default true) and push subscriptions", async () => {
    const [a, b] = [uid("cust"), uid("cust")];
    const res = await put("customer", [customer(a, { phone: "+49 30 1234567", push_subscriptions: [{ ...PUSH, expirationTime: null }] }), customer(b, { accepts_marketing: false })]);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ upserted: 2 });
    const one = await json(await api(`/api/entities/customer/${a}`));
    expect(one).toMatchObject({ id: a, phone: "+49 30 1234567", accepts_marketing: true, push_subscriptions: [{ ...PUSH, expirationTime: null }], tags: [] });
    const two = await json(await api(`/api/entities/customer/${b}`));
    expect(two).toMatchObject({ accepts_marketing: false, push_subscriptions: [] });
  });

  it("keeps non-ASCII names as sent and finds them by them", async () => {
    const ids = [uid("cust"), uid("cust"), uid("cust")];
    const names = ["Zoë Ünal-Ørsted", "山田 太郎", "Łukasz 🚀 Żółć"];
    expect((await put("customer", ids.map((id, i) => customer(id, { name: names[i] })))).status).toBe(200);
    for (const [i, id] of ids.entries()) expect((await json(await api(`/api/entities/customer/${id}`))).name).toBe(names[i]);
    const found = await json(await api(`/api/entities/customer?q=${encodeURIComponent("山田")}&limit=100`));
    expect(found.items.map((c: { id: string }) => c.id)).toContain(ids[1]);
  });

  it("refuses a bad email, bad push keys or endpoint and too many push subscriptions, writing nothing", async () => {
    const p = uid("badcust");
    const rows = [
      customer(`${p}_0`, { email: "not-an-email" }),
      customer(`${p}_1`, { push_subscriptions: [{ ...PUSH, keys: { ...PUSH.keys, p256dh: "BCVx+not/base64url" } }] }),
      customer(`${p}_2`, { push_subscriptions: [{ ...PUSH, keys: { ...PUSH.keys, auth: "c2hvcnQ" } }] }),
      customer(`${p}_3`, { push_subscriptions: Array.from({ length: 21 }, () => PUSH) }),
      customer(`${p}_4`, { push_subscriptions: [{ ...PUSH, endpoint: "not a url" }] }),
      customer(`${p}_5`, { phone: "call me" }),
      customer(`${p}_6`, { accepts_marketing: "yes" }),
      customer(`${p}_7`),
    ];
    const res = await put("customer", rows);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.message).toBe("7 of 8 rows are not valid; nothing was written");
    expect(body.error.issues.map((i: { path: string }) => i.path)).toEqual([
      "0.email",
      "1.push_subscriptions.0.keys.p256dh",
      "2.push_subscriptions.0.keys.auth",
      "3.push_subscriptions",
      "4.push_subscriptions.0.endpoint",
      "5.phone",
      "6.accepts_marketing",
    ]);
    expect(body.error.issues[3].message).toBe("At most 20 push subscriptions per customer");
    expect(await count("customers", p)).toBe(0);
  });
});

describe("subscriptions", () => {
  it("upserts subscriptions with an optional shop, keeping times as UTC so they order as text", async () => {
    const [a, b] = [uid("sub"), uid("sub")];
    const res = await put("subscription", [
      subscription(a, { shop_id: "shop_7", created_at: "2026-11-20T10:00:00+01:00", notified_at: "2026-11-21T08:00:00.5Z" }),
      subscription(b, { channel: "push" }),
    ]);
    expect(res.status).toBe(200);
    const one = await json(await api(`/api/entities/subscription/${a}`));
    expect(one).toMatchObject({ shop_id: "shop_7", created_at: "2026-11-20T09:00:00.000Z", notified_at: "2026-11-21T08:00:00.500Z", status: "pending" });
    const row = await env.DB.prepare("SELECT customer_id, variant_id, shop_id, status, channel, created_at, notified_at FROM subscriptions WHERE id = ?").bind(b).first();
    expect(row).toEqual({ customer_id: "cust_1", variant_id: "var_1", shop_id: null, status: "pending", channel: "push", created_at: "2026-11-20T09:00:00.000Z", notified_at: null });
  });

  it("refuses an unknown status or channel and a missing or malformed created_at", async () => {
    const p = uid("badsub");
    const res = await put("subscription", [
      subscription(`${p}_0`, { status: "notified" }),
      subscription(`${p}_1`, { channel: "sms" }),
      subscription(`${p}_2`, { created_at: undefined }),
      subscription(`${p}_3`, { created_at: "yesterday" }),
      subscription(`${p}_4`, { notified_at: "2026-13-01T00:00:00Z" }),
    ]);
    expect(res.status).toBe(400);
    expect(await issuePaths(res)).toEqual(["0.status", "1.channel", "2.created_at", "3.created_at", "4.notified_at"]);
    expect(await count("subscriptions", p)).toBe(0);
  });

  it("reads a variant's pending subscriptions oldest first from an index, without a sort", async () => {
    const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT id FROM subscriptions WHERE variant_id = ? AND status = 'pending' ORDER BY created_at LIMIT 100")
      .bind("var_1")
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("subscriptions_variant_status");
    expect(details).not.toContain("TEMP B-TREE");
  });
});

describe("orders", () => {
  it("upserts orders from NDJSON and reads them as a list and one by one", async () => {
    const cust = uid("cust");
    const [a, b] = [uid("ord"), uid("ord")];
    const ndjson = [order(a, { customer_id: cust, currency: "EUR" }), order(b, { customer_id: cust, created_at: "2026-11-23T08:00:00+02:00" })].map((o) => JSON.stringify(o)).join("\n");
    const res = await put("order", `${ndjson}\n`, "application/x-ndjson");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ upserted: 2 });
    const one = await json(await api(`/api/entities/order/${a}`));
    expect(one).toMatchObject({ id: a, customer_id: cust, lines: [{ variant_id: "var_1", quantity: 2, price: 59.9 }], total: 119.8, currency: "EUR", deleted: false });
    const list = await json(await api(`/api/entities/order?q=${cust}`));
    expect(list.items.map((o: { id: string }) => o.id).sort()).toEqual([a, b].sort());
    const row = await env.DB.prepare("SELECT customer_id, total, created_at FROM orders WHERE id = ?").bind(b).first();
    expect(row).toEqual({ customer_id: cust, total: 119.8, created_at: "2026-11-23T06:00:00.000Z" });
  });

  it("refuses empty lines, a line without a variant, a zero quantity, a negative price and too many lines", async () => {
    const p = uid("badord");
    const line = { variant_id: "var_1", quantity: 1, price: 10 };
    const res = await put("order", [
      order(`${p}_0`, { lines: [] }),
      order(`${p}_1`, { lines: [{ quantity: 1, price: 10 }] }),
      order(`${p}_2`, { lines: [{ ...line, quantity: 0 }] }),
      order(`${p}_3`, { lines: [line, { ...line, price: -1 }] }),
      order(`${p}_4`, { lines: Array.from({ length: 501 }, () => line) }),
      order(`${p}_5`, { total: "12" }),
      order(`${p}_6`, { customer_id: undefined }),
    ]);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.issues.map((i: { path: string }) => i.path)).toEqual(["0.lines", "1.lines.0.variant_id", "2.lines.0.quantity", "3.lines.1.price", "4.lines", "5.total", "6.customer_id"]);
    expect(body.error.issues[0].message).toBe("An order has at least one line");
    expect(await count("orders", p)).toBe(0);
  });

  it("reads a customer's orders by time from an index", async () => {
    const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT id FROM orders WHERE customer_id = ? AND created_at >= ? ORDER BY created_at").bind("c", "2026").all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("orders_customer");
    expect(details).not.toContain("TEMP B-TREE");
  });
});

/** An active workflow on `entity` whose one step is a condition that holds, so each run completes at once. */
async function activeOn(entity: string, events: string[], tag: string): Promise<string> {
  const def = {
    name: uid("wf"),
    trigger: { entity, events, tags: { include: [tag] } },
    start: "done",
    nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.entity_id}}", op: "exists" }] } }],
  };
  const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

const event = (type: string, data: Record<string, unknown>, occurredAt = new Date().toISOString()): SentEvent => ({
  id: `evt_${crypto.randomUUID()}`,
  type,
  entity_id: String(data.id),
  occurred_at: occurredAt,
  data,
});

async function consume(events: SentEvent[]) {
  const batch = createMessageBatch("workflow-events", events.map((e, i) => inboxMessage(e, uid("m"), 3_000_000 + i)));
  await worker.queue(batch, env, createExecutionContext());
}

describe("events and triggers", () => {
  it("mirrors order.created, updated and deleted through the signed endpoint and the queue, and starts a workflow on order.created", async () => {
    const tag = uid("tag");
    const wf = await activeOn("order", ["created"], tag);
    const id = uid("ord");
    const created = event("order.created", order(id, { tags: [tag] }), "2026-11-22T10:00:00Z");
    expect((await postEvents(created)).status).toBe(202);
    await vi.waitFor(async () => expect((await runFor(wf, created.id))?.status).toBe("completed"), { timeout: 10_000, interval: 50 });
    const run = (await runFor(wf, created.id))!;
    expect(run.trigger).toMatchObject({ type: "order.created", entity: "order", entity_id: id, data: { total: 119.8, lines: [{ variant_id: "var_1", quantity: 2, price: 59.9 }] } });

    const updated = event("order.updated", order(id, { tags: [tag], total: 99 }), "2026-11-22T11:00:00Z");
    expect((await postEvents(updated)).status).toBe(202);
    await vi.waitFor(async () => expect((await json(await api(`/api/entities/order/${id}`))).total).toBe(99), { timeout: 10_000, interval: 50 });
    expect(await runFor(wf, updated.id)).toBeNull(); // the workflow starts on created only

    const deleted = { ...event("order.deleted", { id }, "2026-11-22T12:00:00Z") };
    expect((await postEvents(deleted)).status).toBe(202);
    await vi.waitFor(async () => expect((await json(await api(`/api/entities/order/${id}`))).deleted).toBe(true), { timeout: 10_000, interval: 50 });
    const gone = await json(await api(`/api/entities/order/${id}`));
    expect(gone).toMatchObject({ total: 99, previous: { total: 99 } });
  });

  it("refuses an order event with empty lines at intake, naming the field", async () => {
    const res = await postEvents(event("order.created", order(uid("ord"), { lines: [] })));
    expect(res.status).toBe(400);
    expect(await issuePaths(res)).toEqual(["data.lines"]);
  });

  it("starts the “signed up” workflow on subscription.created, with defaults applied to the trigger's data", async () => {
    const tag = uid("tag");
    const wf = await activeOn("subscription", ["created"], tag);
    const custId = uid("cust");
    const e = event("subscription.created", subscription(uid("sub"), { customer_id: custId, tags: [tag], created_at: "2026-11-22T11:30:00+01:00" }));
    await consume([e]);
    const run = await runFor(wf, e.id);
    expect(run?.status).toBe("completed");
    // The run sees the snapshot as the mirror keeps it: created_at in UTC.
    expect(run!.trigger).toMatchObject({ type: "subscription.created", data: { customer_id: custId, created_at: "2026-11-22T10:30:00.000Z" } });
    const other = event("subscription.updated", subscription(uid("sub"), { tags: [tag], status: "delivered" }));
    await consume([other]);
    expect(await runFor(wf, other.id)).toBeNull();
  });

  it("runs a customer's trigger with its marketing consent default and push subscriptions", async () => {
    const tag = uid("tag");
    const wf = await activeOn("customer", ["created", "updated"], tag);
    const e = event("customer.created", customer(uid("cust"), { tags: [tag], push_subscriptions: [PUSH] }));
    await consume([e]);
    const run = await runFor(wf, e.id);
    expect(run?.status).toBe("completed");
    expect(run!.trigger.data).toMatchObject({ accepts_marketing: true, push_subscriptions: [PUSH] });
  });
});
