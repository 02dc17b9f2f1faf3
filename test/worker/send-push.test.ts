import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/index";
import { config } from "../../worker/config";
import { mirrorPort } from "../../worker/entities/mirror-port";
import { sendPush, SendPushConfigSchema } from "../../worker/nodes/send-push";
import type { RunRecord } from "../../worker/run/run-object";
import { stepDeps } from "../../worker/run/deps";
import { actionContext, testDeps, testScope } from "../support/action-context";
import { api, json, uid } from "../support/api";
import { decryptPush, subscriber, type Subscriber, unb64url, verifyVapid } from "../support/push";
import { fireAt, program, settled } from "../support/runs";

/*
 * send_push on the real bindings (SPEC §12): the local HTTP sink stands for the push services,
 * and what it received is decrypted with each subscription's private key, as the browser would.
 */

const SINK = env.SINK_ORIGIN;

// The shape of test/support/sink.ts's records, restated: that file is Node code outside this tsconfig.
interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body_base64: string;
}
const requests = async (bucket: string): Promise<Recorded[]> => (await fetch(`${SINK}/_sink/${bucket}/requests`)).json();
const bytesOf = (r: Recorded) => Uint8Array.from(atob(r.body_base64), (c) => c.charCodeAt(0));

/** A browser subscribed at the sink under `bucket`, with keys of its own. */
async function browser(bucket = uid("push")): Promise<{ bucket: string; keys: Subscriber; subscription: { endpoint: string; keys: Subscriber["keys"] } }> {
  const keys = await subscriber();
  return { bucket, keys, subscription: { endpoint: `${SINK}/${bucket}/wpush/${uid("token")}`, keys: keys.keys } };
}

async function customer(subscriptions: unknown[], over: Record<string, unknown> = {}): Promise<string> {
  const id = uid("cus");
  const res = await api("/api/entities/customer", { method: "PUT", json: [{ id, email: `${id}@example.com`, name: "Ada", push_subscriptions: subscriptions, ...over }] });
  expect(res.status, await res.clone().text()).toBe(200);
  return id;
}

const notification = { title: "Zurück auf Lager: Größe 42 ✓", body: "您的尺码又有货了 🎉 — «Runner» is back", url: "https://shop.example.com/p/runner?size=42", urgency: "high", ttl_seconds: 3600 };

/** A workflow on customers with one send_push step, and a test run of it on `customerId` once it settled. */
async function pushRun(customerId: string, config: Record<string, unknown> = notification, retry?: Record<string, unknown>): Promise<RunRecord> {
  const res = await api("/api/workflows", {
    method: "POST",
    json: { name: uid("push"), trigger: { entity: "customer" }, start: "push", nodes: [{ id: "push", type: "send_push", config, ...(retry ? { retry } : {}) }] },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const started = await api(`/api/workflows/${(await json(res)).id}/test`, { method: "POST", json: { entity_id: customerId } });
  expect(started.status, await started.clone().text()).toBe(202);
  return settled((await json(started)).id);
}

/** Fires the run's alarm whenever its step waits to go on or to retry, until it ends. */
async function finish(run: RunRecord): Promise<RunRecord> {
  for (let i = 0; i < 10 && run.status === "running"; i++) {
    const step = run.steps.find((s) => s.status === "running");
    const due = step?.next_attempt_at ?? step?.wake_at;
    if (!due) break;
    run = (await fireAt(run.id, Date.parse(due))).run;
  }
  return run;
}

const step = (run: RunRecord) => run.steps.find((s) => s.node_id === "push")!;

async function held(customerId: string): Promise<Record<string, unknown>> {
  const res = await api(`/api/entities/customer/${customerId}`);
  expect(res.status).toBe(200);
  return json(res);
}

describe("send_push", () => {
  it("pushes the notification to every browser of the trigger's customer, encrypted for each and signed with VAPID", async () => {
    const a = await browser();
    const b = await browser();
    const id = await customer([a.subscription, b.subscription]);
    const run = await finish(await pushRun(id));
    expect(run.status, JSON.stringify(step(run))).toBe("completed");
    expect(step(run).output).toEqual({ sent: 2, removed: 0, failed: 0 });
    expect(run.summary).toMatchObject({ pushes_sent: 2 });

    const vapid = config(env).VAPID;
    if (!vapid.ok) throw new Error(vapid.reason);
    const topics = new Set<string>();
    for (const br of [a, b]) {
      const [req, ...more] = await requests(br.bucket);
      expect(more).toEqual([]);
      expect(req!.method).toBe("POST");
      expect(req!.headers).toMatchObject({ "content-encoding": "aes128gcm", "content-type": "application/octet-stream", ttl: "3600", urgency: "high" });
      topics.add(req!.headers.topic!);
      // The browser reads it with its own private key: the payload is the notification as JSON.
      const opened = await decryptPush(bytesOf(req!), br.keys);
      expect(JSON.parse(opened.text)).toEqual({ title: notification.title, body: notification.body, url: notification.url });
      // The push service checks the VAPID token against the key the browser subscribed with.
      const token = await verifyVapid(req!.headers.authorization!);
      expect(token.publicKey).toBe(vapid.keys.publicKey);
      expect(token.claims.aud).toBe(new URL(SINK).origin);
      expect(token.claims.sub).toBe("mailto:push-tests@example.com");
      expect(Number(token.claims.exp) * 1000 - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    }
    // One step, one topic: a push service replaces a copy it still holds instead of showing two.
    expect(topics.size).toBe(1);
    expect([...topics][0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it("carries a non-ASCII title and text intact, and an interpolated one", async () => {
    const a = await browser();
    const id = await customer([a.subscription], { name: "Zoë Ångström 山田" });
    const run = await finish(await pushRun(id, { title: "{{trigger.data.name}}, ça y est ✓", body: "Größe 42 ist zurück — 尺码 42 🎉" }));
    expect(run.status).toBe("completed");
    const [req] = await requests(a.bucket);
    const opened = await decryptPush(bytesOf(req!), a.keys);
    expect(JSON.parse(opened.text)).toEqual({ title: "Zoë Ångström 山田, ça y est ✓", body: "Größe 42 ist zurück — 尺码 42 🎉" });
    expect(req!.headers).toMatchObject({ urgency: "normal", ttl: "86400" });
  });

  it("removes the subscriptions the push service answers 404 or 410 for, with the run as the change's source", async () => {
    const kept = await browser();
    const gone410 = await browser();
    const gone404 = await browser();
    await program(gone410.bucket, [{ status: 410, body: "Gone" }]);
    await program(gone404.bucket, [{ status: 404 }]);
    const id = await customer([gone410.subscription, kept.subscription, gone404.subscription]);
    const run = await finish(await pushRun(id));
    expect(run.status).toBe("completed");
    expect(step(run).output).toEqual({ sent: 1, removed: 2, failed: 0 });
    expect(run.summary).toMatchObject({ pushes_sent: 1 });

    const data = await held(id);
    expect(data.push_subscriptions).toEqual([kept.subscription]);
    expect((data.previous as Record<string, unknown>).push_subscriptions).toHaveLength(3);
    expect(data._source).toMatchObject({ run_id: run.id, node_id: "push", test: true });
    // Nothing else of the customer changed.
    expect(data).toMatchObject({ email: `${id}@example.com`, name: "Ada" });
  });

  it("fails without a retry when every browser is gone, after removing them", async () => {
    const gone = await browser();
    await program(gone.bucket, [{ status: 410 }]);
    const id = await customer([gone.subscription]);
    const run = await finish(await pushRun(id));
    expect(run.status).toBe("failed");
    expect(step(run).attempts).toHaveLength(1);
    expect(step(run).error).toMatch(/1 gone \(removed\)/);
    expect((await held(id)).push_subscriptions).toEqual([]);
  });

  it("retries a 503 with its Retry-After, and never pushes again to a browser that already got the message", async () => {
    const fine = await browser();
    const busy = await browser();
    await program(busy.bucket, [
      { status: 503, headers: { "retry-after": "7" } },
      { status: 503, headers: { "retry-after": "7" } },
      { status: 201 },
    ]);
    const id = await customer([fine.subscription, busy.subscription]);
    const retry = { max_attempts: 3, backoff: "fixed", initial_delay_ms: 1000, max_delay_ms: 60_000, jitter: false };
    let run = await pushRun(id, notification, retry);

    // The first invocation saved that `fine` got it, then went on at once and met the 503 again.
    for (let i = 0; i < 3 && !step(run).next_attempt_at; i++) {
      const due = step(run).wake_at;
      if (!due) break;
      run = (await fireAt(run.id, Date.parse(due))).run;
    }
    const waiting = step(run);
    expect(waiting.status).toBe("running");
    expect(waiting.attempts).toHaveLength(1);
    expect(waiting.attempts[0]!.error).toMatch(/answered 503/);
    expect(Date.parse(waiting.next_attempt_at!) - Date.parse(waiting.attempts[0]!.finished_at!)).toBeGreaterThanOrEqual(7000);

    run = await finish(run);
    expect(run.status).toBe("completed");
    expect(step(run).output).toEqual({ sent: 2, removed: 0, failed: 0 });
    expect(step(run).attempts).toHaveLength(2);
    expect(await requests(fine.bucket)).toHaveLength(1);
    const tries = await requests(busy.bucket);
    expect(tries).toHaveLength(3);
    // Every try of the step is the same message to the push service: the same Topic.
    expect(new Set(tries.map((t) => t.headers.topic)).size).toBe(1);
    expect((await decryptPush(bytesOf(tries[2]!), busy.keys)).text).toContain(notification.title);
  });

  it("saves its progress every 10 browsers and goes on where it stopped, each browser pushed once", async () => {
    const bucket = uid("many");
    const browsers = await Promise.all(Array.from({ length: 12 }, () => browser(bucket)));
    const id = await customer(browsers.map((b) => b.subscription));
    const first = await pushRun(id);
    expect(step(first).status).toBe("running");
    expect(step(first).wake_at).not.toBeNull();
    expect(await requests(bucket)).toHaveLength(10);
    const run = await finish(first);
    expect(run.status).toBe("completed");
    expect(step(run).output).toEqual({ sent: 12, removed: 0, failed: 0 });
    expect(step(run).attempts).toHaveLength(1);
    const got = await requests(bucket);
    expect(new Set(got.map((r) => r.path)).size).toBe(12);
    expect(got).toHaveLength(12);
  });

  it("fails one browser that is refused (400) or not allowed by the host rule, and sends to the others", async () => {
    const ok = await browser();
    const refused = await browser();
    await program(refused.bucket, [{ status: 400, body: { reason: "BadJwtToken" } }]);
    const privateHost = { endpoint: "https://10.0.0.7/wpush/abc", keys: (await subscriber()).keys };
    const id = await customer([refused.subscription, privateHost, ok.subscription]);
    const run = await finish(await pushRun(id));
    expect(run.status).toBe("completed");
    expect(step(run).output).toEqual({ sent: 1, removed: 0, failed: 2 });
    expect(step(run).attempts).toHaveLength(1);
    expect(step(run).logs.map((l) => l.message).join("\n")).toMatch(/Not sent to https:\/\/10\.0\.0\.7: Refused/);
    // Refused is not gone: the subscription stays.
    expect((await held(id)).push_subscriptions).toHaveLength(3);
  });

  it("fails without a retry when the customer has no push subscriptions", async () => {
    const id = await customer([]);
    const run = await finish(await pushRun(id));
    expect(run.status).toBe("failed");
    expect(step(run).error).toBe(`Customer ${id} has no push subscriptions: the customer never allowed notifications in a browser`);
    expect(step(run).attempts).toHaveLength(1);
    expect(step(run).next_attempt_at).toBeNull();
  });

  it("pushes to the customer of a subscription trigger, or to the one the config names", async () => {
    const a = await browser();
    const id = await customer([a.subscription]);
    const scope = testScope({ id: "sub_1", customer_id: id, variant_id: "var_1" });
    scope.trigger = { ...scope.trigger, entity: "subscription", entity_id: "sub_1", type: "subscription.back_in_stock" };
    const cfg = SendPushConfigSchema.parse({ title: "Back", body: "In stock" });
    expect(sendPush.resolve!(cfg, scope, new Date())).toMatchObject({ customer: id });
    expect(sendPush.resolve!(SendPushConfigSchema.parse({ ...cfg, customer: "cus_9" }), scope, new Date())).toMatchObject({ customer: "cus_9" });
    const inv = testScope({ id: "ii_1" });
    expect(() => sendPush.resolve!(cfg, inv, new Date())).toThrow(/gives no customer/);

    const { ctx } = actionContext(scope, { nodeId: "push" });
    const result = await sendPush.execute(sendPush.resolve!(cfg, scope, new Date()), ctx, stepDeps(env).deps);
    expect(result).toEqual({ ok: true, output: { sent: 1, removed: 0, failed: 0 } });
  });

  it("fails without a retry, naming the secrets, when VAPID keys are not set", async () => {
    const a = await browser();
    const id = await customer([a.subscription]);
    const { ctx } = actionContext(testScope({}), { nodeId: "push" });
    const deps = { ...stepDeps(env).deps, config: { ...stepDeps(env).deps.config, VAPID: testDeps().config.VAPID } };
    const input = { customer: id, title: "T", body: "B", ttl_seconds: 60, urgency: "normal" };
    expect(await sendPush.execute(input, ctx, deps)).toEqual({ ok: false, error: "This test sets no VAPID keys", retryable: false });
    expect(await requests(a.bucket)).toEqual([]);
  });

  it("refuses a notification too long for one push message, and links that are not http(s)", async () => {
    const { ctx } = actionContext(testScope({}), { nodeId: "push" });
    const long = { customer: "cus_1", title: "T", body: "€".repeat(1400), ttl_seconds: 60, urgency: "normal" };
    const r = await sendPush.execute(long, ctx, stepDeps(env).deps);
    expect(r).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/at most 3993 fit in one push message/) });
    expect(SendPushConfigSchema.safeParse({ title: "T", body: "B", url: "javascript:alert(1)" }).success).toBe(false);
    expect(SendPushConfigSchema.safeParse({ title: "T", body: "B", url: "/products/42" }).success).toBe(true);
    expect(SendPushConfigSchema.safeParse({ title: "T", body: "B", url: "{{trigger.data.url}}" }).success).toBe(true);
    expect(SendPushConfigSchema.safeParse({ title: "T", body: "B", urgency: "urgent" }).success).toBe(false);
  });

  it("previews the notification and how many browsers would get it, pushing nothing", async () => {
    const a = await browser();
    const b = await browser();
    const id = await customer([a.subscription, b.subscription]);
    const input = { customer: id, title: "Back", body: "In stock", url: "/p/1", ttl_seconds: 60, urgency: "normal" };
    const preview = await sendPush.preview(input, { now: new Date(), trigger: testScope({}).trigger, mirror: mirrorPort(env.DB) });
    expect(preview).toEqual({
      previewable: true,
      output: { title: "Back", body: "In stock", url: "/p/1", customer_id: id, recipients: 2 },
      stepOutput: { sent: 2, removed: 0, failed: 0 },
      impact: { pushes: 2 },
    });
    expect(await requests(a.bucket)).toEqual([]);
    expect(await requests(b.bucket)).toEqual([]);
  });
});

describe("GET /api/push/public-key", () => {
  it("answers the VAPID public key without a token, as browsers subscribe with it", async () => {
    const res = await api("/api/push/public-key", { token: null });
    expect(res.status).toBe(200);
    const body = await json(res);
    const vapid = config(env).VAPID;
    expect(vapid.ok && body).toEqual({ public_key: vapid.ok ? vapid.keys.publicKey : null });
    const point = unb64url(body.public_key);
    expect(point.length).toBe(65);
    expect(point[0]).toBe(4);
  });

  it("answers 503 naming what is missing when the keys are not set or malformed", async () => {
    const unset = await app.request("/api/push/public-key", {}, { ...env, VAPID_PUBLIC_KEY: undefined, VAPID_PRIVATE_KEY: undefined });
    expect(unset.status).toBe(503);
    expect((await json(unset)).error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY/) });
    const bad = await app.request("/api/push/public-key", {}, { ...env, VAPID_PUBLIC_KEY: "not-a-key" });
    expect(bad.status).toBe(503);
    expect((await json(bad)).error.message).toMatch(/VAPID_PUBLIC_KEY must be/);
  });
});
