import { Webhook } from "standardwebhooks";
import { z } from "zod";
import { CredentialNameSchema } from "../definition/common";
import { interpolate } from "../definition/interpolate";
import {
  base64Utf8,
  buildUrl,
  classifyStatus,
  decodeBody,
  hostRefusal,
  parseRetryAfter,
  readCapped,
} from "../lib/net";
import { redact, redactText, secretForms } from "../lib/redact";
import { issuesText } from "../lib/issues";
import { type ActionContext, type ActionResult, capExceeded, defineAction, type Preview } from "../engine/step";

const StatusRange = z.union([
  z.int().min(100).max(599),
  z
    .tuple([z.int().min(100).max(599), z.int().min(100).max(599)])
    .refine(([a, b]) => a <= b, { message: "A status range is [low, high]" }),
]);

const TemplateOrUrl = z
  .string()
  .min(1, "Give the URL to call")
  .max(4096)
  .superRefine((u, ctx) => {
    if (u.includes("{{")) return;
    if (!URL.canParse(u)) ctx.addIssue({ code: "custom", message: "Not a URL: use https://host/path" });
    else if (!/^https?:$/.test(new URL(u).protocol)) ctx.addIssue({ code: "custom", message: "Only http and https URLs can be called" });
  });

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "Not a valid header name");

export const WebhookAuthSchema = z
  .strictObject({
    type: z.enum(["none", "bearer", "basic", "header", "hmac"]).default("none"),
    credential: CredentialNameSchema.optional(),
    /** The header that carries the credential when type is "header". */
    name: z.string().regex(/^[A-Za-z0-9-]+$/, "A header name is letters, digits and -").optional(),
  })
  .superRefine((a, ctx) => {
    if (a.type !== "none" && !a.credential) {
      ctx.addIssue({ code: "custom", path: ["credential"], message: `Pick the credential for ${a.type} auth` });
    }
    if (a.type === "header" && !a.name) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "Name the header that carries the credential" });
    }
  });
export type WebhookAuth = z.infer<typeof WebhookAuthSchema>;

export const CallWebhookConfigSchema = z.strictObject({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
  url: TemplateOrUrl,
  headers: z.record(HeaderName, z.string()).default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  body_type: z.enum(["json", "form", "raw", "none"]).default("json"),
  body: z.unknown().optional(),
  timeout_ms: z.int().min(100).max(120_000).default(30_000),
  success_status: z.array(StatusRange).min(1).default([[200, 299]]),
  auth: WebhookAuthSchema.default({ type: "none" }),
});
export type CallWebhookConfig = z.infer<typeof CallWebhookConfigSchema>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The step's input: the config after interpolation. Checked again, because an exact reference
 * may have put a number, an object or a bad URL where the config had a template.
 */
export const CallWebhookInputSchema = CallWebhookConfigSchema.extend({
  url: z.string().min(1, "The URL is empty after interpolation"),
  headers: z.record(HeaderName, Scalar.transform(String)).default({}),
  query: z.record(z.string(), Scalar).default({}),
});
export type CallWebhookInput = z.infer<typeof CallWebhookInputSchema>;

type EncodedBody = { text?: string; contentType?: string } | { error: string };

/** The exact text sent (and signed), with the content type it gets unless headers name one. */
export function encodeBody(input: Pick<CallWebhookInput, "method" | "body_type" | "body">): EncodedBody {
  const { method, body_type: type, body } = input;
  if (type === "none" || body === undefined) return {};
  if (method === "GET") return { error: "A GET request cannot carry a body: set body_type to none, or use POST" };
  switch (type) {
    case "json":
      return { text: JSON.stringify(body), contentType: "application/json" };
    case "form": {
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        return { error: "A form body is an object of names and values, e.g. {\"sku\": \"A1\"}" };
      }
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(body)) {
        const values: unknown[] = Array.isArray(value) ? value : [value];
        for (const v of values) {
          if (v === null) form.append(name, "");
          else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") form.append(name, String(v));
          else return { error: `Form field "${name}" must be text, a number or a boolean, not an object` };
        }
      }
      return { text: form.toString(), contentType: "application/x-www-form-urlencoded" };
    }
    case "raw":
      if (typeof body === "string" || typeof body === "number" || typeof body === "boolean") {
        return { text: String(body), contentType: "text/plain; charset=utf-8" };
      }
      return { error: "A raw body is text; use body_type json to send an object" };
  }
}

/**
 * Puts the credential where the auth type wants it. Returns an error to show, never naming the
 * secret's value. `payload` is the exact body text, which hmac signs.
 */
export function applyAuth(
  auth: WebhookAuth,
  headers: Headers,
  payload: string,
  ctx: Pick<ActionContext, "idempotencyKey" | "now">,
  credentials: ReadonlyMap<string, string>,
): string | undefined {
  if (auth.type === "none") return undefined;
  const name = auth.credential;
  if (!name) return `Pick the credential for ${auth.type} auth`;
  const secret = credentials.get(name);
  if (!secret) return `Credential ${name} is not set: add the secret CREDENTIAL_${name}`;
  try {
    switch (auth.type) {
      case "bearer":
        headers.set("authorization", `Bearer ${secret}`);
        return undefined;
      case "basic":
        if (!secret.includes(":")) return `Credential ${name} must have the form user:password for basic auth`;
        headers.set("authorization", `Basic ${base64Utf8(secret)}`);
        return undefined;
      case "header":
        if (!auth.name) return "Name the header that carries the credential";
        headers.set(auth.name, secret);
        return undefined;
      case "hmac": {
        let signature: string;
        try {
          // Standard Webhooks: the id is the idempotency key, so every retry carries the same id
          // and receivers deduplicate on it; the timestamp is this attempt's.
          signature = new Webhook(secret).sign(ctx.idempotencyKey, ctx.now, payload);
        } catch {
          return `Credential ${name} is not a Standard Webhooks secret (whsec_ followed by base64)`;
        }
        headers.set("webhook-id", ctx.idempotencyKey);
        headers.set("webhook-timestamp", String(Math.floor(ctx.now.getTime() / 1000)));
        headers.set("webhook-signature", signature);
        return undefined;
      }
    }
  } catch {
    // Headers.set refuses values with line breaks or other bytes a header cannot carry.
    return `Credential ${name} cannot be sent in a header`;
  }
}

function abortMessage(ctx: ActionContext, timeout: AbortSignal, timeoutMs: number, host: string): string | undefined {
  if (ctx.signal.aborted) return `The step's timeout elapsed before ${host} answered`;
  if (timeout.aborted) return `No answer from ${host} within ${timeoutMs} ms (timeout_ms)`;
  return undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Calls an HTTP endpoint (SPEC §9). Redirects are not followed (`redirect: "manual"`): a 3xx is a
 * failure unless listed in success_status, because following one would send the body and the
 * credential to a host the allow rule never saw. The engine retries; this only classifies.
 */
export const callWebhook = defineAction({
  type: "call_webhook",
  label: "Call webhook",
  configSchema: CallWebhookConfigSchema,
  // Interpolated like every action; the input keeps the credential's name, never its value.
  resolve: (config, scope): unknown => interpolate(config, scope),
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const forms = secretForms(deps.config.credentials.values());
    // The engine records the error with the attempt; the step log gets one line per exchange.
    const fail = (error: string, retryable: boolean, extra: { retryAfterMs?: number; output?: unknown } = {}): ActionResult => ({
      ok: false,
      error: redactText(error, forms),
      retryable,
      ...extra,
    });

    const parsed = CallWebhookInputSchema.safeParse(raw);
    if (!parsed.success) return fail(`The webhook's input is invalid: ${issuesText(parsed.error)}`, false);
    const input = parsed.data;

    let url: URL;
    try {
      url = buildUrl(input.url, input.query);
    } catch {
      return fail(`Not a URL: ${input.url}`, false);
    }
    const refusal = hostRefusal(url, deps.config.WEBHOOK_ALLOWED_HOSTS);
    if (refusal) return fail(refusal, false);

    const body = encodeBody(input);
    if ("error" in body) return fail(body.error, false);

    const headers = new Headers();
    for (const [name, value] of Object.entries(input.headers)) {
      try {
        headers.set(name, value);
      } catch {
        return fail(`Header ${name} has a value that cannot be sent (line breaks or control characters)`, false);
      }
    }
    if (body.text !== undefined && body.contentType && !headers.has("content-type")) headers.set("content-type", body.contentType);
    // Set after the configured headers so that neither can be overridden by the definition.
    headers.set("idempotency-key", ctx.idempotencyKey);
    const authError = applyAuth(input.auth, headers, body.text ?? "", ctx, deps.config.credentials);
    if (authError) return fail(authError, false);

    // Every try of the step sends the same call (one Idempotency-Key): it counts once against the cap.
    const cap = await deps.caps.reserve("webhook_calls", 1);
    if (!cap.ok) return capExceeded(cap);

    // A timer of our own, cleared when the exchange ends: AbortSignal.timeout would keep one
    // pending per call for the whole timeout, long after the answer came.
    const timer = new AbortController();
    const clock = setTimeout(() => timer.abort(new Error("timeout")), input.timeout_ms);
    const timeout = timer.signal;
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const target = `${input.method} ${url.origin}${url.pathname}`;
    const started = Date.now();
    // Called unbound: the runtime's fetch refuses a `this` other than the global scope.
    const send = deps.fetch;
    let res: Response;
    let read: Awaited<ReturnType<typeof readCapped>>;
    try {
      try {
        res = await send(url, { method: input.method, headers, body: body.text ?? null, redirect: "manual", signal });
      } catch (e) {
        return fail(abortMessage(ctx, timeout, input.timeout_ms, url.host) ?? `Could not reach ${url.host}: ${errorText(e)}`, true);
      }
      try {
        read = await readCapped(res.body, undefined, signal);
      } catch (e) {
        return fail(
          abortMessage(ctx, timeout, input.timeout_ms, url.host) ?? `The answer from ${url.host} broke off: ${errorText(e)}`,
          true,
        );
      }
    } finally {
      clearTimeout(clock);
    }
    const output = redact(
      {
        status: res.status,
        headers: Object.fromEntries(res.headers.entries()),
        body: decodeBody(read.bytes, res.headers.get("content-type"), read.truncated),
        truncated: read.truncated,
      },
      forms,
    );
    const answered = `${target} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""} in ${Date.now() - started} ms`;
    ctx.log(redactText(`${answered}${read.truncated ? " (body cut at 64 KiB)" : ""}`, forms));
    const verdict = classifyStatus(res.status, input.success_status);
    if (verdict === "success") return { ok: true, output };
    if (verdict === "retryable") {
      const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), Date.now());
      return fail(answered, true, { output, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    }
    if (res.status >= 300 && res.status <= 399) {
      const location = res.headers.get("location");
      return fail(
        `${answered}: a redirect${location ? ` to ${location}` : ""}, which is not followed — call the final URL, ` +
          `or list ${res.status} in success_status`,
        false,
        { output },
      );
    }
    return fail(answered, false, { output });
  },
  // A workflow naming a credential that is not set cannot be activated.
  credentials: (config) => (config.auth.credential ? [{ name: config.auth.credential, path: "auth.credential" }] : []),
  summary: { counters: ["webhooks_called"], summarize: () => ({ webhooks_called: 1 }) },
  preview: (raw, ctx) => Promise.resolve(previewWebhook(raw, ctx.config?.WEBHOOK_ALLOWED_HOSTS ?? [])),
});

/** What a preview shows in place of a credential: the header is there, its value is not. */
export const REDACTED = "[redacted]";

/**
 * The request execute would send (SPEC §13): method, URL with its query, headers and body, with
 * every credential-bearing header shown as REDACTED — the preview never reads a secret, so it
 * cannot leak one. The same refusals as execute (host rule, body rules) make it would-fail.
 */
export function previewWebhook(raw: unknown, allowedHosts: readonly string[]): Preview {
  const fails = (error: string): Preview => ({ previewable: true, output: null, error });
  const parsed = CallWebhookInputSchema.safeParse(raw);
  if (!parsed.success) return fails(`The webhook's input is invalid: ${issuesText(parsed.error)}`);
  const input = parsed.data;
  let url: URL;
  try {
    url = buildUrl(input.url, input.query);
  } catch {
    return fails(`Not a URL: ${input.url}`);
  }
  const refusal = hostRefusal(url, allowedHosts);
  if (refusal) return fails(refusal);
  const body = encodeBody(input);
  if ("error" in body) return fails(body.error);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
  if (body.text !== undefined && body.contentType && !("content-type" in headers)) headers["content-type"] = body.contentType;
  headers["idempotency-key"] = "(the step's idempotency key)";
  const auth = input.auth;
  if (auth.type === "bearer" || auth.type === "basic") headers.authorization = `${auth.type === "bearer" ? "Bearer" : "Basic"} ${REDACTED}`;
  if (auth.type === "header" && auth.name) headers[auth.name.toLowerCase()] = REDACTED;
  if (auth.type === "hmac") {
    headers["webhook-id"] = "(the step's idempotency key)";
    headers["webhook-timestamp"] = "(the time of the attempt)";
    headers["webhook-signature"] = REDACTED;
  }
  const output = { method: input.method, url: url.toString(), headers, body: body.text ?? null };
  // What later steps read: a call_webhook output that says it was not sent.
  const stepOutput = { status: 200, headers: {}, body: null, truncated: false, preview: true };
  return { previewable: true, output, stepOutput, impact: { webhooks: 1 } };
}
