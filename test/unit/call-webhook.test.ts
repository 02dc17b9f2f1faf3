import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  applyAuth,
  CallWebhookConfigSchema,
  CallWebhookInputSchema,
  callWebhook,
  encodeBody,
  type WebhookAuth,
} from "../../worker/nodes/call-webhook";
import type { ActionContext, NodeDeps } from "../../worker/engine/step";
import { type Config, ConfigSchema } from "../../worker/config";
import { actionContext, testDeps, testScope } from "../support/action-context";

const HOOK_SECRET = "whsec_dGVzdC1ob29rLXNlY3JldC0wMDAwMDAwMDAwMDA=";
const credentials = new Map([
  ["DEMO_ERP", "demo-token"],
  ["BASIC_ERP", "ops:pa55-word"],
  ["HOOK_SECRET", HOOK_SECRET],
  ["NOT_BASE64", "%%% not base64 %%%"],
]);

function testConfig(allowed = ""): Config {
  return { ...ConfigSchema.parse({ WEBHOOK_ALLOWED_HOSTS: allowed }), credentials };
}

const scope = testScope({ sku: "SKU-1", on_hand: 2, shop: "berlin" }, { plan: { output: { plan_id: "plan_7" } } });

function context(over: Partial<ActionContext> = {}) {
  return actionContext(scope, { nodeId: "notify", ...over });
}

/** Deps whose fetch records calls and answers 200, for paths that must (or must not) reach it. */
function recordingDeps(allowed = "") {
  const calls: Request[] = [];
  const deps = testDeps({
    config: testConfig(allowed),
    fetch: async (input, init) => {
      calls.push(new Request(input, init));
      return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
    },
  });
  return { deps, calls };
}

const input = (over: Record<string, unknown>) => CallWebhookConfigSchema.parse({ url: "https://hooks.example.com/x", ...over });

describe("call_webhook config", () => {
  it("fills the defaults of SPEC §9", () => {
    expect(CallWebhookConfigSchema.parse({ url: "https://hooks.example.com/x" })).toEqual({
      method: "POST",
      url: "https://hooks.example.com/x",
      headers: {},
      query: {},
      body_type: "json",
      timeout_ms: 30_000,
      success_status: [[200, 299]],
      auth: { type: "none" },
    });
  });

  it("refuses bad configs with messages that say what to do", () => {
    const issues = (c: unknown) => CallWebhookConfigSchema.safeParse(c).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ url: "ftp://x.example.com" })).toContain("url: Only http and https URLs can be called");
    expect(issues({ url: "nope" })).toContain("url: Not a URL: use https://host/path");
    expect(issues({ url: "https://x.example.com", auth: { type: "bearer" } })).toContain("auth.credential: Pick the credential for bearer auth");
    expect(issues({ url: "https://x.example.com", auth: { type: "header", credential: "DEMO_ERP" } })).toContain(
      "auth.name: Name the header that carries the credential",
    );
    expect(issues({ url: "https://x.example.com", success_status: [[299, 200]] })).toContain("success_status.0: A status range is [low, high]");
    expect(issues({ url: "https://x.example.com", timeout_ms: 5 }).length).toBe(1);
  });
});

describe("resolve", () => {
  it("interpolates url, query, headers and body, and keeps only the credential's name", () => {
    const config = input({
      url: "https://erp.example.com/plans/{{steps.plan.output.plan_id}}",
      query: { shop: "{{trigger.data.shop}}" },
      headers: { "X-Run": "{{run.id}}" },
      body: { sku: "{{trigger.data.sku}}", on_hand: "{{trigger.data.on_hand}}" },
      auth: { type: "bearer", credential: "DEMO_ERP" },
    });
    const resolved = callWebhook.resolve!(config, scope, new Date());
    expect(resolved).toMatchObject({
      url: "https://erp.example.com/plans/plan_7",
      query: { shop: "berlin" },
      headers: { "X-Run": "run_1" },
      body: { sku: "SKU-1", on_hand: 2 },
      auth: { type: "bearer", credential: "DEMO_ERP" },
    });
    expect(JSON.stringify(resolved)).not.toContain("demo-token");
  });

  it("fails on a missing path instead of sending an empty value", () => {
    expect(() => callWebhook.resolve!(input({ body: { x: "{{trigger.data.nope}}" } }), scope, new Date())).toThrow(/missing/);
  });

  it("re-checks the input: a reference may put a number in a header, which is sent as text", () => {
    const parsed = CallWebhookInputSchema.parse({ ...input({}), headers: { "X-Count": 3 } });
    expect(parsed.headers).toEqual({ "X-Count": "3" });
    expect(CallWebhookInputSchema.safeParse({ ...input({}), headers: { "X-Obj": { a: 1 } } }).success).toBe(false);
  });
});

describe("encodeBody", () => {
  it("sends JSON as JSON", () => {
    expect(encodeBody({ method: "POST", body_type: "json", body: { a: [1, "b"] } })).toEqual({ text: '{"a":[1,"b"]}', contentType: "application/json" });
  });

  it("encodes a flat object as a form, repeating names for lists", () => {
    expect(encodeBody({ method: "PUT", body_type: "form", body: { sku: "A 1&2", qty: 3, ok: true, none: null, tag: ["x", "y"] } })).toEqual({
      text: "sku=A+1%262&qty=3&ok=true&none=&tag=x&tag=y",
      contentType: "application/x-www-form-urlencoded",
    });
  });

  it("sends raw text as is", () => {
    expect(encodeBody({ method: "POST", body_type: "raw", body: "<xml>1</xml>" })).toEqual({
      text: "<xml>1</xml>",
      contentType: "text/plain; charset=utf-8",
    });
  });

  it("sends nothing for none, or when there is no body", () => {
    expect(encodeBody({ method: "POST", body_type: "none", body: { a: 1 } })).toEqual({});
    expect(encodeBody({ method: "POST", body_type: "json", body: undefined })).toEqual({});
    expect(encodeBody({ method: "GET", body_type: "json", body: undefined })).toEqual({});
  });

  it("refuses bodies that cannot be sent as asked", () => {
    expect(encodeBody({ method: "GET", body_type: "json", body: { a: 1 } })).toEqual({ error: expect.stringMatching(/GET request cannot carry a body/) });
    expect(encodeBody({ method: "POST", body_type: "form", body: { a: { nested: 1 } } })).toEqual({ error: expect.stringMatching(/Form field "a"/) });
    expect(encodeBody({ method: "POST", body_type: "form", body: ["a"] })).toEqual({ error: expect.stringMatching(/form body is an object/) });
    expect(encodeBody({ method: "POST", body_type: "raw", body: { a: 1 } })).toEqual({ error: expect.stringMatching(/raw body is text/) });
  });
});

describe("applyAuth", () => {
  const now = new Date();
  const run = (auth: WebhookAuth, payload = "") => {
    const headers = new Headers();
    const error = applyAuth(auth, headers, payload, { idempotencyKey: "run_1:notify", now }, credentials);
    return { error, headers };
  };

  it("bearer puts the secret in Authorization", () => {
    expect(run({ type: "bearer", credential: "DEMO_ERP" }).headers.get("authorization")).toBe("Bearer demo-token");
  });

  it("basic sends user:password in base64", () => {
    expect(run({ type: "basic", credential: "BASIC_ERP" }).headers.get("authorization")).toBe(`Basic ${btoa("ops:pa55-word")}`);
    expect(run({ type: "basic", credential: "DEMO_ERP" }).error).toBe("Credential DEMO_ERP must have the form user:password for basic auth");
  });

  it("header puts the secret in the named header", () => {
    expect(run({ type: "header", credential: "DEMO_ERP", name: "X-Api-Key" }).headers.get("x-api-key")).toBe("demo-token");
  });

  it("hmac signs id, timestamp and body the Standard Webhooks way", () => {
    const payload = '{"sku":"SKU-1"}';
    const { error, headers } = run({ type: "hmac", credential: "HOOK_SECRET" }, payload);
    expect(error).toBeUndefined();
    expect(headers.get("webhook-id")).toBe("run_1:notify");
    expect(headers.get("webhook-timestamp")).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(new Webhook(HOOK_SECRET).verify(payload, Object.fromEntries(headers.entries()))).toEqual({ sku: "SKU-1" });
    expect(() => new Webhook(HOOK_SECRET).verify('{"sku":"SKU-2"}', Object.fromEntries(headers.entries()))).toThrow();
  });

  it("names a missing or unusable credential, never a value", () => {
    expect(run({ type: "bearer", credential: "NOPE" }).error).toBe("Credential NOPE is not set: add the secret CREDENTIAL_NOPE");
    const bad = run({ type: "hmac", credential: "NOT_BASE64" }).error;
    expect(bad).toBe("Credential NOT_BASE64 is not a Standard Webhooks secret (whsec_ followed by base64)");
  });

  it("adds nothing for none", () => {
    const { error, headers } = run({ type: "none" });
    expect(error).toBeUndefined();
    expect([...headers.keys()]).toEqual([]);
  });
});

describe("execute refuses before any request", () => {
  it.each([
    ["http://10.0.0.1/hook", /private, loopback and link-local hosts.*WEBHOOK_ALLOWED_HOSTS \(now: nothing\)/],
    ["http://localhost:1/hook", /private, loopback/],
    ["https://169.254.169.254/latest/meta-data", /private, loopback/],
    ["http://hooks.example.com/hook", /plain http is only allowed/],
    ["https://127.0.0.1.nip.io/hook", /private, loopback/],
    ["https://app.localtest.me/hook", /private, loopback/],
    ["https://[64:ff9b::808:808]/hook", /private, loopback/],
    ["https://[2001::1]/hook", /private, loopback/],
    ["https://0x7f.1/hook", /private, loopback/],
  ])("%s, when the host is not allowed", async (url, message) => {
    const { deps, calls } = recordingDeps("");
    const result = await callWebhook.execute({ ...input({}), url }, context().ctx, deps);
    expect(result).toEqual({ ok: false, retryable: false, error: expect.stringMatching(message) });
    expect(calls).toHaveLength(0);
  });

  it("an input that is not a URL after interpolation", async () => {
    const { deps, calls } = recordingDeps();
    const result = await callWebhook.execute({ ...input({}), url: "plan_7" }, context().ctx, deps);
    expect(result).toEqual({ ok: false, retryable: false, error: "Not a URL: plan_7" });
    expect(calls).toHaveLength(0);
  });

  it("an input that is not a webhook config at all", async () => {
    const { deps } = recordingDeps();
    const result = await callWebhook.execute({ url: 42 }, context().ctx, deps);
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^The webhook's input is invalid: url:/) });
  });

  it("a missing credential, naming it", async () => {
    const { deps, calls } = recordingDeps();
    const result = await callWebhook.execute(input({ auth: { type: "bearer", credential: "MISSING_ONE" } }), context().ctx, deps);
    expect(result).toEqual({ ok: false, retryable: false, error: "Credential MISSING_ONE is not set: add the secret CREDENTIAL_MISSING_ONE" });
    expect(calls).toHaveLength(0);
  });

  it("a header value with a line break", async () => {
    const { deps, calls } = recordingDeps();
    const result = await callWebhook.execute(input({ headers: { "X-Evil": "a\r\nInjected: 1" } }), context().ctx, deps);
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/Header X-Evil/) });
    expect(calls).toHaveLength(0);
  });
});

describe("execute builds the request", () => {
  it("with the merged URL, the Idempotency-Key and the configured headers, which cannot override it", async () => {
    const { deps, calls } = recordingDeps();
    const result = await callWebhook.execute(
      input({
        method: "PATCH",
        url: "https://hooks.example.com/x?a=1",
        query: { b: 2 },
        headers: { "X-Custom": "yes", "Idempotency-Key": "mine" },
        body: { a: 1 },
      }),
      context().ctx,
      deps,
    );
    expect(result).toEqual({ ok: true, output: { status: 200, headers: { "content-type": "application/json" }, body: { ok: true }, truncated: false } });
    const req = calls[0]!;
    expect(req.method).toBe("PATCH");
    expect(req.url).toBe("https://hooks.example.com/x?a=1&b=2");
    expect(req.redirect).toBe("manual");
    expect(req.headers.get("idempotency-key")).toBe("run_1:notify");
    expect(req.headers.get("x-custom")).toBe("yes");
    expect(req.headers.get("content-type")).toBe("application/json");
    expect(await req.text()).toBe('{"a":1}');
  });

  it("keeps a content type the definition sets for a raw body", async () => {
    const { deps, calls } = recordingDeps();
    await callWebhook.execute(input({ body_type: "raw", body: "<a/>", headers: { "Content-Type": "application/xml" } }), context().ctx, deps);
    expect(calls[0]!.headers.get("content-type")).toBe("application/xml");
  });
});

describe("execute scrubs credentials from what comes back", () => {
  it("in any letter case and encoding a server echoes them", async () => {
    const hex = (t: string) => [...new TextEncoder().encode(t)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const deps: NodeDeps = {
      ...recordingDeps().deps,
      fetch: async (_req, init) => {
        const auth = new Headers(init?.headers).get("authorization") ?? "";
        const echo = {
          seen: auth.toUpperCase(),
          hex: hex("pa55-word").toUpperCase(),
          url_safe: btoa("someone:pa55-word").replaceAll("=", ""),
          form: new URLSearchParams({ t: "%%% not base64 %%%" }).toString(),
        };
        return new Response(JSON.stringify(echo), { status: 401, headers: { "content-type": "application/json", "x-echo": auth.toLowerCase() } });
      },
    };
    const result = await callWebhook.execute(input({ auth: { type: "basic", credential: "BASIC_ERP" } }), context().ctx, deps);
    expect(result).toMatchObject({
      ok: false,
      output: {
        status: 401,
        headers: { "x-echo": "basic [redacted]" },
        body: { seen: "BASIC [redacted]", hex: "[redacted]", url_safe: expect.stringMatching(/^[\w+/]{0,12}\[redacted\][\w+/]{0,3}$/), form: "t=[redacted]" },
      },
    });
  });
});
