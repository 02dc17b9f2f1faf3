import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { CallWebhookConfigSchema, callWebhook } from "../../worker/nodes/call-webhook";
import type { ActionContext, ActionResult, NodeDeps } from "../../worker/engine/step";
import { stepDeps } from "../../worker/run/deps";
import { uid } from "../support/api";
import { actionContext, testScope } from "../support/action-context";

// The shapes of test/support/sink.ts, restated: that file is Node code outside this tsconfig.
interface Programmed {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  delay_ms?: number;
  hang_up?: boolean;
}
interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

const SINK = env.SINK_ORIGIN;
const TOKEN = "demo-token"; // CREDENTIAL_DEMO_ERP in vitest.config.ts
const BASIC = "ops:pa55-w0rd";

/** The real deps; basic auth needs a user:password credential, which the test env does not define. */
function realDeps(over: Partial<NodeDeps["config"]> = {}): NodeDeps {
  const real = stepDeps(env).deps;
  return { ...real, config: { ...real.config, credentials: new Map([...real.config.credentials, ["BASIC_ERP", BASIC]]), ...over } };
}

const scope = testScope({ sku: "SKU-1", on_hand: 2 }, { plan: { output: { plan_id: "plan_7" } } });

function context(over: Partial<ActionContext> = {}) {
  return actionContext(scope, { nodeId: "notify", ...over });
}

async function program(bucket: string, responses: Programmed[]) {
  const res = await fetch(`${SINK}/_sink/${bucket}/program`, { method: "POST", body: JSON.stringify(responses) });
  expect(res.status).toBe(204);
}

async function recorded(bucket: string): Promise<Recorded[]> {
  const res = await fetch(`${SINK}/_sink/${bucket}/requests`);
  return res.json();
}

/** A config for a fresh bucket, resolved the way the engine resolves it. */
function hook(bucket: string, over: Record<string, unknown> = {}): unknown {
  const cfg = CallWebhookConfigSchema.parse({ url: `${SINK}/${bucket}/hook`, ...over });
  return callWebhook.resolve!(cfg, scope, new Date());
}

async function call(bucket: string, over: Record<string, unknown> = {}, ctxOver: Partial<ActionContext> = {}, deps = realDeps()) {
  const { ctx, logs } = context(ctxOver);
  const result = await callWebhook.execute(hook(bucket, over), ctx, deps);
  return { result, logs, ctx };
}

function failure(r: ActionResult) {
  if (r.ok !== false) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

function success(r: ActionResult) {
  if (r.ok !== true) throw new Error(`expected a success, got ${JSON.stringify(r)}`);
  return r;
}

describe("auth", () => {
  it("sends a bearer token and keeps it out of the input, the output and the logs", async () => {
    const b = uid("bearer");
    const cfg = CallWebhookConfigSchema.parse({ url: `${SINK}/${b}/hook`, body: { sku: "{{trigger.data.sku}}" }, auth: { type: "bearer", credential: "DEMO_ERP" } });
    const input = callWebhook.resolve!(cfg, scope, new Date());
    expect(JSON.stringify(input)).not.toContain(TOKEN);
    expect(input).toMatchObject({ auth: { type: "bearer", credential: "DEMO_ERP" }, body: { sku: "SKU-1" } });

    const { ctx, logs } = context();
    const result = success(await callWebhook.execute(input, ctx, realDeps()));
    const [req] = await recorded(b);
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect(logs.join("\n")).not.toContain(TOKEN);
  });

  it("sends basic auth as base64 of user:password", async () => {
    const b = uid("basic");
    success((await call(b, { auth: { type: "basic", credential: "BASIC_ERP" } })).result);
    const [req] = await recorded(b);
    expect(req!.headers.authorization).toBe(`Basic ${btoa(BASIC)}`);
  });

  it("sends the credential in the named header", async () => {
    const b = uid("header");
    success((await call(b, { auth: { type: "header", credential: "DEMO_ERP", name: "X-Api-Key" } })).result);
    const [req] = await recorded(b);
    expect(req!.headers["x-api-key"]).toBe(TOKEN);
    expect(req!.headers.authorization).toBeUndefined();
  });

  it("signs the exact body bytes with Standard Webhooks hmac, verifiable by the standardwebhooks package", async () => {
    const b = uid("hmac");
    const { ctx } = context();
    success((await call(b, { body: { sku: "SKU-1", note: "ünïcode ✓" }, auth: { type: "hmac", credential: "HOOK_SECRET" } }, ctx)).result);
    const [req] = await recorded(b);
    expect(req!.headers["webhook-id"]).toBe(ctx.idempotencyKey);
    expect(new Webhook(env.CREDENTIAL_HOOK_SECRET).verify(req!.body, req!.headers)).toEqual({ sku: "SKU-1", note: "ünïcode ✓" });
    expect(() => new Webhook("whsec_" + btoa("some-other-secret-000000")).verify(req!.body, req!.headers)).toThrow();
  });

  it("signs an empty body when there is none", async () => {
    const b = uid("hmac_empty");
    success((await call(b, { method: "DELETE", body_type: "none", auth: { type: "hmac", credential: "HOOK_SECRET" } })).result);
    const [req] = await recorded(b);
    expect(req!.body).toBe("");
    expect(() => new Webhook(env.CREDENTIAL_HOOK_SECRET).verify("", req!.headers)).not.toThrow();
  });

  it("fails without calling when the credential does not exist, naming it", async () => {
    const b = uid("nocred");
    const r = failure((await call(b, { auth: { type: "bearer", credential: "NOT_CONFIGURED" } })).result);
    expect(r).toEqual({ ok: false, retryable: false, error: "Credential NOT_CONFIGURED is not set: add the secret CREDENTIAL_NOT_CONFIGURED" });
    expect(await recorded(b)).toEqual([]);
  });
});

describe("secrets never leave in the output", () => {
  it("scrubs a token the server echoes in headers and body, on success", async () => {
    const b = uid("echo");
    await program(b, [
      {
        status: 200,
        headers: { "x-echo-authorization": `Bearer ${TOKEN}` },
        body: { you_sent: `Bearer ${TOKEN}`, raw: TOKEN, basic: `Basic ${btoa(BASIC)}`, password: "pa55-w0rd" },
      },
    ]);
    const { result, logs } = await call(b, { auth: { type: "bearer", credential: "DEMO_ERP" } });
    const ok = success(result);
    const text = JSON.stringify(ok);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(btoa(BASIC));
    expect(text).not.toContain("pa55-w0rd");
    expect(ok.output).toMatchObject({ headers: { "x-echo-authorization": "Bearer [redacted]" }, body: { you_sent: "Bearer [redacted]", raw: "[redacted]" } });
    expect(logs.join("\n")).not.toContain(TOKEN);
  });

  it("scrubs it from a failure's output and error too", async () => {
    const b = uid("echo_fail");
    await program(b, [{ status: 400, headers: { location: `https://x.example.com/?t=${TOKEN}` }, body: `bad token ${TOKEN}` }]);
    const r = failure((await call(b, { auth: { type: "header", credential: "DEMO_ERP", name: "X-Api-Key" } })).result);
    expect(r.retryable).toBe(false);
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    expect(r.output).toMatchObject({ status: 400, body: "bad token [redacted]" });
  });
});

describe("retry classification", () => {
  it("retries a 503 with the same Idempotency-Key and webhook-id on the next attempt", async () => {
    const b = uid("retry");
    await program(b, [{ status: 503, body: { error: "busy" } }, { status: 200, body: { done: true } }]);
    const { ctx } = context();
    const deps = realDeps();
    const input = hook(b, { body: { n: 1 }, auth: { type: "hmac", credential: "HOOK_SECRET" } });

    const first = failure(await callWebhook.execute(input, { ...ctx, attempt: 1 }, deps));
    expect(first.retryable).toBe(true);
    expect(first.retryAfterMs).toBeUndefined();
    expect(first.error).toMatch(/answered 503/);
    expect(first.output).toMatchObject({ status: 503, body: { error: "busy" }, truncated: false });

    const second = success(await callWebhook.execute(input, { ...ctx, attempt: 2, now: new Date() }, deps));
    expect(second.output).toMatchObject({ status: 200, body: { done: true } });

    const reqs = await recorded(b);
    expect(reqs).toHaveLength(2);
    expect(reqs[0]!.headers["idempotency-key"]).toBe(ctx.idempotencyKey);
    expect(reqs[1]!.headers["idempotency-key"]).toBe(ctx.idempotencyKey);
    expect(reqs[1]!.headers["webhook-id"]).toBe(reqs[0]!.headers["webhook-id"]);
  });

  it("honours Retry-After in seconds on a 429", async () => {
    const b = uid("r429");
    await program(b, [{ status: 429, headers: { "retry-after": "7" }, body: { error: "slow down" } }]);
    const r = failure((await call(b)).result);
    expect(r).toMatchObject({ retryable: true, retryAfterMs: 7000, output: { status: 429 } });
  });

  it("honours Retry-After as an HTTP-date on a 503", async () => {
    const b = uid("rdate");
    const at = new Date(Date.now() + 60_000).toUTCString();
    await program(b, [{ status: 503, headers: { "retry-after": at } }]);
    const r = failure((await call(b)).result);
    expect(r.retryable).toBe(true);
    expect(r.retryAfterMs).toBeGreaterThan(50_000);
    expect(r.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("retries a 408", async () => {
    const b = uid("r408");
    await program(b, [{ status: 408 }]);
    expect(failure((await call(b)).result).retryable).toBe(true);
  });

  it("fails a 404 at once, keeping the response in the output", async () => {
    const b = uid("r404");
    await program(b, [{ status: 404, body: { error: "no such plan" } }]);
    const r = failure((await call(b)).result);
    expect(r).toMatchObject({ retryable: false, error: expect.stringMatching(/answered 404/), output: { status: 404, body: { error: "no such plan" } } });
  });

  it("succeeds on a status listed in success_status, codes and ranges alike", async () => {
    const b = uid("range");
    await program(b, [{ status: 404 }, { status: 302, headers: { location: "/elsewhere" } }, { status: 201 }]);
    expect((await call(b, { success_status: [200, [400, 404]] })).result.ok).toBe(true);
    expect((await call(b, { success_status: [302] })).result.ok).toBe(true);
    const r = failure((await call(b, { success_status: [200] })).result);
    expect(r).toMatchObject({ retryable: false, output: { status: 201 } });
  });

  it("does not follow a redirect: it fails without retrying and calls nothing else", async () => {
    const b = uid("redirect");
    const target = uid("redirect_target");
    await program(b, [{ status: 302, headers: { location: `${SINK}/${target}/moved` } }]);
    const r = failure((await call(b, { auth: { type: "bearer", credential: "DEMO_ERP" } })).result);
    expect(r.retryable).toBe(false);
    expect(r.error).toMatch(/redirect to .*not followed/);
    expect(await recorded(b)).toHaveLength(1);
    expect(await recorded(target)).toEqual([]);
  });

  it("retries a network error (the connection is lost)", async () => {
    const b = uid("hangup");
    // The runtime's fetch rejects a lost connection with this error. Given by the fetch the step is
    // handed, not by a real socket: workerd under the test pool runs --verbose and prints every
    // failed subrequest as an "uncaught exception … Network connection lost" even when the caller
    // handles the rejection, as this step does — a line in every `npm test` that reports nothing.
    const lost = { ...realDeps(), fetch: async () => Promise.reject(new Error("Network connection lost.")) };
    const r = failure((await call(b, {}, {}, lost)).result);
    expect(r.retryable).toBe(true);
    expect(r.error).toBe(`Could not reach ${new URL(SINK).host}: Network connection lost.`);
    expect(await recorded(b)).toEqual([]);
  });

  it("retries a request that outlives timeout_ms", async () => {
    const b = uid("slow");
    await program(b, [{ delay_ms: 1500 }]);
    const started = Date.now();
    const r = failure((await call(b, { timeout_ms: 200 })).result);
    expect(r).toEqual({ ok: false, retryable: true, error: expect.stringMatching(/No answer from 127\.0\.0\.1:\d+ within 200 ms/) });
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it("stops when the step's signal aborts (the node timeout)", async () => {
    const b = uid("aborted");
    await program(b, [{ delay_ms: 1500 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("node timeout")), 100);
    const r = failure((await call(b, { timeout_ms: 10_000 }, { signal: controller.signal })).result);
    expect(r).toMatchObject({ retryable: true, error: expect.stringMatching(/step's timeout elapsed/) });
  });
});

describe("requests and responses", () => {
  it("sends JSON with its content type, the query merged and the Idempotency-Key", async () => {
    const b = uid("json");
    const { ctx } = context();
    success((await call(b, { url: `${SINK}/${b}/hook?a=1`, query: { sku: "{{trigger.data.sku}}", n: 3 }, body: { qty: "{{trigger.data.on_hand}}" } }, ctx)).result);
    const [req] = await recorded(b);
    expect(req).toMatchObject({ method: "POST", path: `/${b}/hook`, query: { a: "1", sku: "SKU-1", n: "3" }, body: '{"qty":2}' });
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["idempotency-key"]).toBe(ctx.idempotencyKey);
  });

  it("sends a form body", async () => {
    const b = uid("form");
    success((await call(b, { method: "PUT", body_type: "form", body: { sku: "{{trigger.data.sku}}", note: "a&b c" } })).result);
    const [req] = await recorded(b);
    expect(req!.method).toBe("PUT");
    expect(req!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(req!.body))).toEqual({ sku: "SKU-1", note: "a&b c" });
  });

  it("sends a raw body with the content type the headers give, else text/plain", async () => {
    const b = uid("raw");
    success((await call(b, { body_type: "raw", body: "<sku>{{trigger.data.sku}}</sku>", headers: { "Content-Type": "application/xml" } })).result);
    success((await call(b, { body_type: "raw", body: "plain words" })).result);
    const [xml, text] = await recorded(b);
    expect(xml).toMatchObject({ body: "<sku>SKU-1</sku>", headers: { "content-type": "application/xml" } });
    expect(text).toMatchObject({ body: "plain words", headers: { "content-type": "text/plain; charset=utf-8" } });
  });

  it("sends no body for none and for a GET", async () => {
    const b = uid("nobody");
    success((await call(b, { body_type: "none", body: { ignored: true } })).result);
    success((await call(b, { method: "GET", query: { q: "x" } })).result);
    const [none, get] = await recorded(b);
    expect(none).toMatchObject({ method: "POST", body: "" });
    expect(none!.headers["content-type"]).toBeUndefined();
    expect(get).toMatchObject({ method: "GET", body: "", query: { q: "x" } });
  });

  it("refuses a GET with a body without calling", async () => {
    const b = uid("getbody");
    const r = failure((await call(b, { method: "GET", body: { a: 1 } })).result);
    expect(r).toMatchObject({ retryable: false, error: expect.stringMatching(/GET request cannot carry a body/) });
    expect(await recorded(b)).toEqual([]);
  });

  it("outputs status, headers and the parsed JSON body", async () => {
    const b = uid("out_json");
    await program(b, [{ status: 201, headers: { "x-request-id": "req_9" }, body: { id: "po_1", lines: [1, 2] } }]);
    const { result, logs } = await call(b, { query: { page: 2 } });
    const r = success(result);
    // one log line per exchange: method, URL without the query, status, time
    expect(logs).toEqual([expect.stringMatching(new RegExp(`^POST http://127\\.0\\.0\\.1:\\d+/${b}/hook answered 201 Created in \\d+ ms$`))]);
    expect(r.output).toMatchObject({ status: 201, headers: { "x-request-id": "req_9", "content-type": "application/json" }, body: { id: "po_1", lines: [1, 2] }, truncated: false });
  });

  it("outputs a text body as text", async () => {
    const b = uid("out_text");
    await program(b, [{ body: "accepted" }]);
    expect(success((await call(b)).result).output).toMatchObject({ body: "accepted", truncated: false });
  });

  it("truncates a body over 64 KiB and says so", async () => {
    const b = uid("big");
    await program(b, [{ body: "x".repeat(70_000) }, { body: { data: "y".repeat(70_000) } }]);
    const first = await call(b);
    expect(first.logs[0]).toMatch(/body cut at 64 KiB/);
    const text = success(first.result).output as { body: string; truncated: boolean };
    expect(text.truncated).toBe(true);
    expect(text.body).toHaveLength(64 * 1024);
    const json = success((await call(b)).result).output as { body: unknown; truncated: boolean };
    expect(json.truncated).toBe(true);
    expect(typeof json.body).toBe("string"); // a cut JSON document is kept as text
    expect(json.body).toHaveLength(64 * 1024);
  });
});

describe("host rule", () => {
  const closed = () => realDeps({ WEBHOOK_ALLOWED_HOSTS: [] });

  it.each(["http://10.0.0.1/hook", "http://localhost:1/hook", "http://[::1]:1/hook", "https://192.168.0.10/hook"])(
    "refuses %s when the allow list is empty",
    async (url) => {
      const r = failure((await call(uid("closed"), { url }, {}, closed())).result);
      expect(r).toEqual({ ok: false, retryable: false, error: expect.stringMatching(/WEBHOOK_ALLOWED_HOSTS \(now: nothing\)/) });
    },
  );

  it("refuses the local sink itself when 127.0.0.1 is not listed, and sends nothing", async () => {
    const b = uid("closed_sink");
    const r = failure((await call(b, {}, {}, closed())).result);
    expect(r.error).toMatch(/private, loopback and link-local/);
    expect(await recorded(b)).toEqual([]);
  });

  it("calls the local sink when 127.0.0.1 is listed (the test env's WEBHOOK_ALLOWED_HOSTS)", async () => {
    const b = uid("open_sink");
    success((await call(b)).result);
    expect(await recorded(b)).toHaveLength(1);
  });

  it("calls localhost by name when it is listed", async () => {
    const b = uid("by_name");
    success((await call(b, { url: `${SINK.replace("127.0.0.1", "localhost")}/${b}/hook` })).result);
    expect(await recorded(b)).toHaveLength(1);
  });
});
