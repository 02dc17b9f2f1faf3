import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { ActionContext, ActionResult, NodeDeps } from "../../worker/engine/step";
import { SendEmailConfigSchema, sendEmail } from "../../worker/nodes/send-email";
import { stepDeps } from "../../worker/run/deps";
import { api, json, uid } from "../support/api";
import { actionContext, testScope } from "../support/action-context";
import { inboxMessage, type SentEvent } from "../support/events";
import { decryptPush, subscriber } from "../support/push";
import { settled } from "../support/runs";

/*
 * Engagement and conversion on the real bindings (SPEC §12): tracked links in emails, clicks
 * through GET /l/{token}, orders converting notified subscriptions through the real consumer,
 * and the back-in-stock summary.
 */

const deps = (): NodeDeps => stepDeps(env).deps;
const TRACKED = /https:\/\/workflows\.test\/l\/([A-Za-z0-9_-]{22})/g;
const tokensIn = (text: string) => [...text.matchAll(TRACKED)].map((m) => m[1]!);
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function put(kind: string, rows: Record<string, unknown>[]) {
  const res = await api(`/api/entities/${kind}`, { method: "PUT", json: rows });
  expect(res.status, await res.clone().text()).toBe(200);
}
async function entity(kind: string, id: string) {
  const res = await api(`/api/entities/${kind}/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return json(res);
}
const subscription = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  customer_id: uid("cus"),
  variant_id: uid("var"),
  status: "delivered",
  channel: "email",
  created_at: "2026-11-01T09:00:00Z",
  notified_at: iso(Date.now() - DAY),
  tags: [],
  ...over,
});

/** The context of a send_email step of a run started by subscription `sub`. */
function context(sub: string, over: Partial<ActionContext> = {}) {
  const scope = testScope({ id: sub });
  scope.trigger = { ...scope.trigger, type: "subscription.back_in_stock", entity: "subscription", entity_id: sub };
  return actionContext(scope, { runId: uid("run"), nodeId: "mail", ...over }).ctx;
}

const HTML = `<p>Your size is back: <a href="https://shop.example/p/42?size=44&amp;ref=mail">buy it now</a>.</p>
<p>Questions? <a href="mailto:help@shop.example">Write to us</a> or read https://shop.example/faq.</p><img src="https://cdn.example/logo.png">`;

async function sendTracked(ctx: ActionContext, body = HTML): Promise<{ result: ActionResult; html: string; text: string }> {
  const cfg = SendEmailConfigSchema.parse({ to: ["ana@example.com"], subject: "Back in stock", format: "html", body, track_links: true });
  const result = await sendEmail.execute(sendEmail.resolve!(cfg, testScope({}), new Date()), ctx, deps());
  if (result.ok !== true) throw new Error(`expected a success, got ${JSON.stringify(result)}`);
  const mail = await PostalMime.parse(result.artifact!.content);
  return { result, html: mail.html ?? "", text: mail.text ?? "" };
}

const click = (token: string, method = "GET") => api(`/l/${token}`, { method, token: null, redirect: "manual" });
const linkRow = (token: string) => env.DB.prepare("SELECT * FROM tracked_links WHERE token = ?1").bind(token).first<Record<string, unknown>>();

describe("track_links on send_email", () => {
  it("rewrites the http(s) links of the HTML and the text part to PUBLIC_URL/l/{token}, one token per URL", async () => {
    const sub = uid("sub");
    const ctx = context(sub);
    const { result, html, text } = await sendTracked(ctx);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs[0]).toMatch(TRACKED);
    expect(hrefs[1]).toBe("mailto:help@shop.example");
    expect(html).toContain('src="https://cdn.example/logo.png"');
    expect(html).not.toContain("https://shop.example/");
    expect(text).not.toContain("https://shop.example/");
    const all = new Set([...tokensIn(html), ...tokensIn(text)]);
    expect(all.size).toBe(2);
    // The text part links the same token as the HTML part for the same URL.
    expect(tokensIn(text)[0]).toBe(tokensIn(html)[0]);
    expect((result as { output: { tracked_links: number } }).output.tracked_links).toBe(2);

    const rows = await env.DB.prepare("SELECT url, run_id, node_id, subscription_id, clicks FROM tracked_links WHERE run_id = ?1 ORDER BY url").bind(ctx.runId).all();
    expect(rows.results).toEqual([
      { url: "https://shop.example/faq", run_id: ctx.runId, node_id: "mail", subscription_id: sub, clicks: 0 },
      { url: "https://shop.example/p/42?size=44&ref=mail", run_id: ctx.runId, node_id: "mail", subscription_id: sub, clicks: 0 },
    ]);
  });

  it("reuses the same tokens on a retry of the same step, and mints others for another step", async () => {
    const ctx = context(uid("sub"));
    const first = await sendTracked(ctx);
    const retry = await sendTracked({ ...ctx, attempt: 2 });
    expect(tokensIn(retry.html)).toEqual(tokensIn(first.html));
    expect(tokensIn(retry.text)).toEqual(tokensIn(first.text));
    const count = await env.DB.prepare("SELECT count(*) AS n FROM tracked_links WHERE run_id = ?1").bind(ctx.runId).first<number>("n");
    expect(count).toBe(2);
    const other = await sendTracked(context(uid("sub")));
    expect(tokensIn(other.html)[0]).not.toBe(tokensIn(first.html)[0]);
  });

  it("leaves an untracked email's links alone", async () => {
    const cfg = SendEmailConfigSchema.parse({ to: ["ana@example.com"], subject: "Back", format: "html", body: HTML });
    const result = await sendEmail.execute(sendEmail.resolve!(cfg, testScope({}), new Date()), context(uid("sub")), deps());
    if (result.ok !== true) throw new Error(JSON.stringify(result));
    expect(result.artifact!.content).not.toContain("workflows.test/l/");
    expect(result.output).not.toHaveProperty("tracked_links");
  });
});

describe("track_links on send_push", () => {
  it("sends the notification's url as a tracked link; a click engages the subscription, marked as test data for a test run", async () => {
    const keys = await subscriber();
    const bucket = uid("push");
    const cus = uid("cus");
    await put("customer", [{ id: cus, email: `${cus}@example.com`, push_subscriptions: [{ endpoint: `${env.SINK_ORIGIN}/${bucket}/wpush/${uid("t")}`, keys: keys.keys }] }]);
    const sub = uid("sub");
    await put("subscription", [subscription(sub, { customer_id: cus, channel: "push" })]);
    const url = "https://shop.example/p/runner?size=42";
    const created = await api("/api/workflows", {
      method: "POST",
      json: { name: uid("push"), trigger: { entity: "subscription" }, start: "push", nodes: [{ id: "push", type: "send_push", config: { title: "Back", body: "Your size", url, track_links: true } }] },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const started = await api(`/api/workflows/${(await json(created)).id}/test`, { method: "POST", json: { entity_id: sub } });
    expect(started.status, await started.clone().text()).toBe(202);
    const run = await settled((await json(started)).id);
    expect(run.status, JSON.stringify(run.steps)).toBe("completed");

    const [req] = await (await fetch(`${env.SINK_ORIGIN}/_sink/${bucket}/requests`)).json<{ body_base64: string }[]>();
    const opened = JSON.parse((await decryptPush(Uint8Array.from(atob(req!.body_base64), (c) => c.charCodeAt(0)), keys)).text);
    const [token] = tokensIn(opened.url);
    expect(opened.url).toBe(`https://workflows.test/l/${token}`);

    const res = await click(token!);
    expect(res.headers.get("location")).toBe(url);
    expect(await entity("subscription", sub)).toMatchObject({ status: "engaged", _source: { run_id: run.id, node_id: "push", test: true } });
  });
});

describe("GET /l/{token}", () => {
  it("redirects 302 to the original URL, counts the click and moves the delivered subscription to engaged", async () => {
    const sub = uid("sub");
    await put("subscription", [subscription(sub)]);
    const ctx = context(sub);
    const { html } = await sendTracked(ctx);
    const token = tokensIn(html)[0]!;

    const res = await click(token);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://shop.example/p/42?size=44&ref=mail");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const row = await linkRow(token);
    expect(row).toMatchObject({ clicks: 1, first_click_at: expect.any(String) });
    expect(await entity("subscription", sub)).toMatchObject({ status: "engaged", _source: { run_id: ctx.runId, node_id: "mail", test: false } });

    // A second click counts; the first click's time stays.
    expect((await click(token)).status).toBe(302);
    expect(await linkRow(token)).toMatchObject({ clicks: 2, first_click_at: row!.first_click_at });
    expect(await entity("subscription", sub)).toMatchObject({ status: "engaged" });

    // The clicks are shown beside the run's step.
    const clicks = await json(await api(`/api/runs/${ctx.runId}/clicks`));
    expect(clicks.data).toEqual([
      expect.objectContaining({ node_id: "mail", url: "https://shop.example/faq", clicks: 0, subscription_id: sub, test: false }),
      expect.objectContaining({ node_id: "mail", url: "https://shop.example/p/42?size=44&ref=mail", clicks: 2, first_click_at: row!.first_click_at }),
    ]);
  });

  it("engages only a delivered subscription: a pending or converted one keeps its status", async () => {
    for (const status of ["pending", "converted"]) {
      const sub = uid("sub");
      await put("subscription", [subscription(sub, { status })]);
      const { html } = await sendTracked(context(sub));
      expect((await click(tokensIn(html)[0]!)).status).toBe(302);
      expect((await entity("subscription", sub)).status).toBe(status);
    }
  });

  it("a HEAD (a link scanner) redirects without counting or engaging", async () => {
    const sub = uid("sub");
    await put("subscription", [subscription(sub)]);
    const { html } = await sendTracked(context(sub));
    const token = tokensIn(html)[0]!;
    const res = await click(token, "HEAD");
    expect(res.status).toBe(302);
    expect(await linkRow(token)).toMatchObject({ clicks: 0, first_click_at: null });
    expect((await entity("subscription", sub)).status).toBe("delivered");
  });

  it("answers an unknown or malformed token with a plain 404", async () => {
    for (const token of ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x".repeat(300)]) {
      const res = await click(token);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/plain");
      expect(await res.text()).toMatch(/^This link is not known/);
    }
  });
});

let seq = 5_000_000;
async function consume(events: SentEvent[]) {
  const batch = createMessageBatch("workflow-events", events.map((e) => inboxMessage(e, `m_${e.id}_${seq}`, seq++)));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}
const orderCreated = (id: string, customer: string, lines: { variant_id: string; quantity: number; price: number }[], createdAt = iso(Date.now())): SentEvent => ({
  id: `evt_${crypto.randomUUID()}`,
  type: "order.created",
  entity_id: id,
  occurred_at: createdAt,
  data: { id, customer_id: customer, lines, total: lines.reduce((n, l) => n + l.quantity * l.price, 0), created_at: createdAt, tags: [] },
});
const conversionsOf = async (order: string) =>
  (await env.DB.prepare("SELECT subscription_id, variant_id, revenue FROM conversions WHERE order_id = ?1 ORDER BY subscription_id").bind(order).all()).results;

describe("conversion by order.created", () => {
  it("converts a delivered or engaged subscription notified within ATTRIBUTION_DAYS and attributes its lines' revenue once, even when the event is delivered again", async () => {
    const cus = uid("cus");
    const [v1, v2, v3] = [uid("var"), uid("var"), uid("var")];
    const [inside, engaged, outside, other] = [uid("sub_in"), uid("sub_eng"), uid("sub_out"), uid("sub_other")];
    await put("subscription", [
      subscription(inside, { customer_id: cus, variant_id: v1, notified_at: iso(Date.now() - 2 * DAY) }),
      subscription(engaged, { customer_id: cus, variant_id: v2, status: "engaged", notified_at: iso(Date.now() - 6 * DAY) }),
      subscription(outside, { customer_id: cus, variant_id: v3, notified_at: iso(Date.now() - 8 * DAY) }),
      // Another customer's subscription for the same variant is not this order's.
      subscription(other, { variant_id: v1 }),
    ]);
    const order = uid("ord");
    const event = orderCreated(order, cus, [
      { variant_id: v1, quantity: 2, price: 80 },
      { variant_id: v2, quantity: 1, price: 45.5 },
      { variant_id: v3, quantity: 1, price: 10 },
    ]);
    await consume([event]);
    expect(await conversionsOf(order)).toEqual([
      { subscription_id: engaged, variant_id: v2, revenue: 45.5 },
      { subscription_id: inside, variant_id: v1, revenue: 160 },
    ].sort((a, b) => (a.subscription_id < b.subscription_id ? -1 : 1)));
    expect((await entity("subscription", inside)).status).toBe("converted");
    expect((await entity("subscription", engaged)).status).toBe("converted");
    expect((await entity("subscription", outside)).status).toBe("delivered");
    expect((await entity("subscription", other)).status).toBe("delivered");

    // The same event again (a redelivery): nothing more is attributed.
    await consume([event]);
    expect(await conversionsOf(order)).toHaveLength(2);
    const revenue = await env.DB.prepare("SELECT sum(revenue) AS r FROM conversions WHERE order_id = ?1").bind(order).first<number>("r");
    expect(revenue).toBe(205.5);
  });

  it("does not convert a subscription notified after the order was placed", async () => {
    const cus = uid("cus");
    const v = uid("var");
    const sub = uid("sub");
    await put("subscription", [subscription(sub, { customer_id: cus, variant_id: v, notified_at: iso(Date.now() - DAY) })]);
    const order = uid("ord");
    await consume([orderCreated(order, cus, [{ variant_id: v, quantity: 1, price: 10 }], iso(Date.now() - 2 * DAY))]);
    expect(await conversionsOf(order)).toEqual([]);
    expect((await entity("subscription", sub)).status).toBe("delivered");
  });
});

describe("GET /api/back-in-stock/summary", () => {
  const summary = async (query = "") => {
    const res = await api(`/api/back-in-stock/summary?limit=1000${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return json(res);
  };

  it("answers per variant: waiting, notified, engaged, converted, conversion rate and attributed revenue", async () => {
    const product = uid("prod");
    const v = uid("var");
    await put("brand", [{ id: "brand_eng", name: "Brand" }]);
    await put("product", [{ id: product, brand_id: "brand_eng", name: "Trail Runner", price: 100, cost: 40 }]);
    await put("product_variant", [{ id: v, product_id: product, size: "44" }]);
    const cus = uid("cus");
    const recent = iso(Date.now() - DAY);
    const subs = {
      waiting1: subscription(uid("sub"), { variant_id: v, status: "pending", notified_at: null }),
      waiting2: subscription(uid("sub"), { variant_id: v, status: "pending", notified_at: null }),
      notified: subscription(uid("sub"), { variant_id: v, notified_at: recent }),
      clicked: subscription(uid("sub"), { variant_id: v, notified_at: recent }),
      buyer: subscription(uid("sub"), { variant_id: v, customer_id: cus, notified_at: recent }),
      old: subscription(uid("sub"), { variant_id: v, notified_at: iso(Date.now() - 90 * DAY) }),
    };
    await put("subscription", Object.values(subs));
    const { html } = await sendTracked(context(subs.clicked.id));
    await click(tokensIn(html)[0]!);
    await consume([orderCreated(uid("ord"), cus, [{ variant_id: v, quantity: 3, price: 33.3 }])]);

    const body = await summary();
    const row = body.variants.find((r: { variant_id: string }) => r.variant_id === v);
    expect(row).toEqual({
      variant_id: v,
      product_id: product,
      product_name: "Trail Runner",
      size: "44",
      waiting: 2,
      notified: 3,
      engaged: 1,
      converted: 1,
      conversion_rate: 0.3333,
      attributed_revenue: 99.9,
    });
    expect(body.attribution_days).toBe(7);
    expect(body.totals.notified).toBeGreaterThanOrEqual(3);

    // A window that holds only the old notification.
    const old = await summary(`&from=${iso(Date.now() - 100 * DAY).slice(0, 10)}&to=${iso(Date.now() - 80 * DAY)}`);
    expect(old.variants.find((r: { variant_id: string }) => r.variant_id === v)).toMatchObject({ waiting: 2, notified: 1, engaged: 0, converted: 0, conversion_rate: 0, attributed_revenue: 0 });
  });

  it("answers bad query parameters with 400", async () => {
    for (const q of ["from=yesterday", "to=2026-13-45", "from=2026-11-20&to=2026-11-10", "limit=0", "limit=abc", "from=2026-11-20T10:00:00"]) {
      const res = await api(`/api/back-in-stock/summary?${q}`);
      expect(res.status, q).toBe(400);
      expect((await json(res)).error.code).toMatch(/validation_failed|bad_request/);
    }
  });

  it("needs a token", async () => {
    expect((await api("/api/back-in-stock/summary", { token: null })).status).toBe(401);
  });
});
