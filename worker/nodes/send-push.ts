import { z } from "zod";
import { interpolate, toText } from "../definition/interpolate";
import { type ActionContext, type ActionResult, capExceeded, defineAction, type NodeDeps, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { hostRefusal, parseRetryAfter } from "../lib/net";
import { buildPushRequest, MAX_PLAINTEXT_BYTES, pushTopic, PushSubscriptionSchema, URGENCIES, type PushSubscription, type VapidKeys } from "../lib/web-push";
import { changeSource, EntityRefConfig, resolveTarget, triggerCustomer } from "./entity-common";
import { isHttpUrl } from "../engagement/links";
import { trackLinks } from "./email-common";

/** A link a notification opens: an http(s) URL or a path on the site that registered the service worker. */
function linkProblem(url: string): string | undefined {
  if (url.startsWith("/") && !url.startsWith("//")) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `Not a URL: ${url} (use https://… or a path like /products/42)`;
  }
  return /^https?:$/.test(parsed.protocol) ? undefined : `A notification opens http(s) links only, not ${parsed.protocol}`;
}

/** A link or an icon as written in a config: a URL, a path, or a template giving one at run time. */
const LinkConfig = z
  .string()
  .min(1)
  .max(2048)
  .superRefine((u, ctx) => {
    const problem = u.includes("{{") ? undefined : linkProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A day: news of a restock is stale after that; push services keep a message at most ~4 weeks. */
export const DEFAULT_TTL_SECONDS = 86_400;

export const SendPushConfigSchema = z.strictObject({
  title: z.string().min(1, "Give the notification a title").max(1000),
  body: z.string().min(1, "Give the notification a text").max(4000),
  /** Opened when the notification is clicked. */
  url: LinkConfig.optional(),
  icon: LinkConfig.optional(),
  /** How long the push service keeps the message for a browser that is offline (RFC 8030 TTL). */
  ttl_seconds: z.int().min(0).max(2_419_200, "At most 4 weeks (2419200 seconds)").default(DEFAULT_TTL_SECONDS),
  urgency: z.enum(URGENCIES).default("normal"),
  /** Absent: the trigger's customer. */
  customer: EntityRefConfig.optional(),
  /** Rewrite an http(s) `url` to `/l/{token}`: a click is counted and engages the trigger's subscription (SPEC §12). */
  track_links: z.boolean().optional(),
});
export type SendPushConfig = z.infer<typeof SendPushConfigSchema>;

const Link = z.string().superRefine((u, ctx) => {
  const problem = linkProblem(u);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const Text = z.unknown().transform(toText);

/** What the service worker receives, decrypted: the notification to show. */
export interface PushPayload {
  title: string;
  body: string;
  url?: string;
  icon?: string;
}

/** The step's input: the config after interpolation, the customer written out; the payload must fit one message. */
export const SendPushInputSchema = z
  .strictObject({
    customer: z.string().min(1),
    title: Text.pipe(z.string().trim().min(1, "The title is empty after interpolation")),
    body: Text,
    url: Text.pipe(Link).optional(),
    icon: Text.pipe(Link).optional(),
    ttl_seconds: z.int().min(0).max(2_419_200),
    urgency: z.enum(URGENCIES),
    track_links: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    const bytes = payloadBytes(input).byteLength;
    if (bytes > MAX_PLAINTEXT_BYTES) {
      ctx.addIssue({ code: "custom", message: `The notification is ${bytes} bytes of JSON; at most ${MAX_PLAINTEXT_BYTES} fit in one push message: shorten the text` });
    }
  });
export type SendPushInput = z.infer<typeof SendPushInputSchema>;

export function pushPayload(input: Pick<SendPushInput, "title" | "body" | "url" | "icon">): PushPayload {
  return { title: input.title, body: input.body, ...(input.url === undefined ? {} : { url: input.url }), ...(input.icon === undefined ? {} : { icon: input.icon }) };
}
const payloadBytes = (input: Pick<SendPushInput, "title" | "body" | "url" | "icon">) => new TextEncoder().encode(JSON.stringify(pushPayload(input)));

export interface SendPushOutput {
  /** Push services that accepted the message (2xx). */
  sent: number;
  /** Subscriptions the push service said are gone (404, 410), removed from the customer. */
  removed: number;
  /** Subscriptions refused for good (another 4xx, a host not allowed, keys that do not work). */
  failed: number;
}
const OutputSchema = z.object({ sent: z.int(), removed: z.int(), failed: z.int() });

type Outcome = "sent" | "removed" | "failed";
/**
 * Saved between invocations of the step, across attempts: what became of each endpoint. An
 * endpoint listed here is never pushed to again by this step, so a retry after a 503 from one
 * push service does not notify the browsers that already got the message.
 */
const CheckpointSchema = z.object({ done: z.record(z.string(), z.enum(["sent", "removed", "failed"])) });

/** A push service that does not answer within this is treated like a 503 (retried). */
const PUSH_TIMEOUT_MS = 10_000;
/**
 * Endpoints one invocation pushes to before it saves its progress (a customer has at most 20):
 * keeps each invocation short, so a step timeout never loses more than this many results.
 */
const ENDPOINTS_PER_INVOCATION = 10;

/** The list of a customer snapshot (any shape: an older snapshot may predate the field). */
const Held = z.looseObject({ push_subscriptions: z.array(z.unknown()).catch([]) });
const heldOf = (customer: unknown): unknown[] => Held.safeParse(customer).data?.push_subscriptions ?? [];
const Endpoint = z.looseObject({ endpoint: z.string() });

/** The customer's push subscriptions, read defensively: an entry that is not one is reported, not sent to. */
function subscriptionsOf(customer: unknown): { valid: PushSubscription[]; invalid: string[] } {
  const raw = heldOf(customer);
  const valid: PushSubscription[] = [];
  const invalid: string[] = [];
  raw.forEach((entry, i) => {
    const parsed = PushSubscriptionSchema.safeParse(entry);
    if (parsed.success) valid.push(parsed.data);
    else invalid.push(`push_subscriptions.${i}: ${issuesText(parsed.error)}`);
  });
  return { valid, invalid };
}

type Delivery = { outcome: Outcome; gone?: true } | { transient: string; retryAfterMs?: number };

/** One push to one subscription, classified like a webhook's answer (SPEC §9, §12). */
async function deliver(sub: PushSubscription, payload: Uint8Array, input: SendPushInput, ctx: ActionContext, deps: NodeDeps, keys: VapidKeys, topic: string): Promise<Delivery> {
  const url = new URL(sub.endpoint);
  // The endpoint's path is the subscription's capability: logs name the push service only.
  const service = url.origin;
  const refusal = hostRefusal(url, deps.config.WEBHOOK_ALLOWED_HOSTS);
  if (refusal) {
    ctx.log(`Not sent to ${service}: ${refusal}`);
    return { outcome: "failed" };
  }
  let request;
  try {
    request = await buildPushRequest(sub, payload, { vapid: keys, now: ctx.now, ttlSeconds: input.ttl_seconds, urgency: input.urgency, topic });
  } catch (e) {
    ctx.log(`Not sent to ${service}: ${e instanceof Error ? e.message : String(e)}`);
    return { outcome: "failed" };
  }
  const timer = new AbortController();
  const clock = setTimeout(() => timer.abort(new Error("timeout")), PUSH_TIMEOUT_MS);
  const started = Date.now();
  let res: Response;
  try {
    res = await deps.fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body as Uint8Array<ArrayBuffer>,
      redirect: "manual",
      signal: AbortSignal.any([ctx.signal, timer.signal]),
    });
    // Nothing of the answer is kept; reading it to the end frees the connection.
    await res.body?.cancel().catch(() => undefined);
  } catch (e) {
    const why = timer.signal.aborted ? `no answer within ${PUSH_TIMEOUT_MS} ms` : e instanceof Error ? e.message : String(e);
    ctx.log(`${service}: ${why}`);
    return { transient: `Could not reach ${service}: ${why}` };
  } finally {
    clearTimeout(clock);
  }
  const answered = `${service} answered ${res.status} in ${Date.now() - started} ms`;
  if (res.status >= 200 && res.status <= 299) {
    ctx.log(`${answered}: sent`);
    return { outcome: "sent" };
  }
  if (res.status === 404 || res.status === 410) {
    ctx.log(`${answered}: the subscription is gone, removing it from the customer`);
    return { outcome: "removed", gone: true };
  }
  if (res.status === 408 || res.status === 429 || res.status >= 500) {
    ctx.log(`${answered}: will retry`);
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), Date.now());
    return { transient: answered, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  const hint = res.status === 401 || res.status === 403 ? " (the VAPID keys may not be the ones the browser subscribed with)" : "";
  ctx.log(`${answered}: refused${hint}`);
  return { outcome: "failed" };
}

/**
 * Removes the endpoints a push service called gone from the customer's snapshot, with the run as
 * the change's source. A customer deleted meanwhile has none left to remove.
 */
async function removeGone(customerId: string, gone: ReadonlySet<string>, ctx: ActionContext, deps: NodeDeps): Promise<string | undefined> {
  const result = await deps.mirror.change(
    "customer",
    customerId,
    (current) => {
      const held = heldOf(current);
      const kept = held.filter((s) => !gone.has(Endpoint.safeParse(s).data?.endpoint ?? ""));
      return kept.length === held.length ? { next: null } : { next: { ...current, push_subscriptions: kept } };
    },
    changeSource(ctx),
  );
  if (result.status === "refused") return result.reason;
  if (result.status === "written") ctx.log(`Removed ${gone.size} push subscription(s) from customer ${customerId}${ctx.test ? " (test data)" : ""}`);
  return undefined;
}

function tally(done: Record<string, Outcome>): SendPushOutput {
  const out: SendPushOutput = { sent: 0, removed: 0, failed: 0 };
  for (const o of Object.values(done)) out[o] += 1;
  return out;
}

/**
 * Web Push to every push subscription of a customer (SPEC §12): the notification JSON encrypted
 * per RFC 8291 for each browser, signed with VAPID (RFC 8292). 2xx is sent; 404/410 removes the
 * subscription from the customer; 408/429/5xx and network errors are retried like a webhook's
 * (Retry-After honoured); any other answer fails that endpoint only.
 *
 * At most once per endpoint and step: each endpoint's outcome is saved in the step's checkpoint
 * (`continue`) before the step retries or goes on, and a retry skips every endpoint with an
 * outcome. What remains is a crash between a push service's answer and that save; the message
 * then goes again with the same `Topic` (derived from the step), so a push service still holding
 * the first copy for an offline browser replaces it rather than delivering two.
 */
export const sendPush = defineAction({
  type: "send_push",
  label: "Send push notification",
  configSchema: SendPushConfigSchema,
  resolve(config, scope): unknown {
    const text = (v: string | undefined) => (v === undefined ? undefined : interpolate(v, scope));
    return {
      customer: resolveTarget("customer", config.customer, scope, triggerCustomer),
      title: text(config.title),
      body: text(config.body),
      ...(config.url === undefined ? {} : { url: text(config.url) }),
      ...(config.icon === undefined ? {} : { icon: text(config.icon) }),
      ttl_seconds: config.ttl_seconds,
      urgency: config.urgency,
      ...(config.track_links === undefined ? {} : { track_links: config.track_links }),
    };
  },
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = SendPushInputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `The push's input is invalid: ${issuesText(parsed.error)}`, retryable: false };
    let input = parsed.data;
    const vapid = deps.config.VAPID;
    if (!vapid.ok) return { ok: false, error: vapid.reason, retryable: false };
    // A relative url is the storefront's own page: only an absolute http(s) one can go through /l/.
    if (input.track_links && input.url !== undefined && isHttpUrl(input.url)) {
      const t = await trackLinks([input.url], ctx, deps);
      if (!t.ok) return { ok: false, error: t.reason, retryable: t.retryable ?? false };
      input = { ...input, url: t.urls.get(input.url) ?? input.url };
    }

    let customer: unknown;
    try {
      customer = await deps.mirror.read("customer", input.customer);
    } catch (e) {
      return { ok: false, error: `The entity mirror failed: ${e instanceof Error ? e.message : String(e)}`, retryable: true };
    }
    if (!customer) return { ok: false, error: `The mirror holds no customer ${input.customer} (never sent, or deleted)`, retryable: false };

    const saved = CheckpointSchema.safeParse(ctx.checkpoint);
    const done: Record<string, Outcome> = saved.success ? { ...saved.data.done } : {};
    const { valid, invalid } = subscriptionsOf(customer);
    for (const problem of invalid) ctx.log(`Skipped an entry that is not a push subscription: ${problem}`);
    if (valid.length === 0 && Object.keys(done).length === 0) {
      const why = invalid.length ? `none of its ${invalid.length} entries is valid` : "the customer never allowed notifications in a browser";
      return { ok: false, error: `Customer ${input.customer} has no push subscriptions: ${why}`, retryable: false };
    }

    const pending = valid.filter((s) => !Object.hasOwn(done, s.endpoint));
    // One push per browser it is about to reach, asked once for the step: later invocations and
    // tries get the first answer and count nothing more (SPEC §14).
    if (pending.length > 0) {
      const cap = await deps.caps.reserve("pushes", pending.length);
      if (!cap.ok) return capExceeded(cap);
    }
    const batch = pending.slice(0, ENDPOINTS_PER_INVOCATION);
    const payload = payloadBytes(input);
    const topic = await pushTopic(ctx.idempotencyKey);
    const now: Record<string, Outcome> = {};
    const gone = new Set<string>();
    let transient: string | undefined;
    let retryAfterMs: number | undefined;
    for (const sub of batch) {
      const d = await deliver(sub, payload, input, ctx, deps, vapid.keys, topic);
      if ("transient" in d) {
        transient ??= d.transient;
        if (d.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, d.retryAfterMs);
      } else if (d.gone) gone.add(sub.endpoint);
      else now[sub.endpoint] = d.outcome;
    }
    if (gone.size > 0) {
      try {
        const refused = await removeGone(input.customer, gone, ctx, deps);
        for (const endpoint of gone) now[endpoint] = refused === undefined ? "removed" : "failed";
        if (refused !== undefined) ctx.log(`Could not remove the gone subscriptions: ${refused}`);
      } catch (e) {
        // Not recorded: the next try pushes to them again, hears 404/410 again and removes them then.
        transient ??= `The entity mirror failed while removing gone subscriptions: ${e instanceof Error ? e.message : String(e)}`;
      }
    }

    const all = { ...done, ...now };
    const counts = tally(all);
    counts.failed += invalid.length;
    const progressed = Object.keys(now).length > 0;
    if (transient !== undefined || pending.length > batch.length) {
      // Progress is saved first, so that what was pushed is never pushed again by this step.
      if (progressed) return { ok: "continue", checkpoint: { done: all } };
      return { ok: false, error: transient ?? "No progress", retryable: true, output: counts, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    if (counts.sent === 0) {
      return { ok: false, error: `No push subscription of customer ${input.customer} took the notification: ${counts.removed} gone (removed), ${counts.failed} refused`, retryable: false, output: counts };
    }
    return { ok: true, output: counts };
  },
  summary: { counters: ["pushes_sent"], summarize: (output) => ({ pushes_sent: OutputSchema.safeParse(output).data?.sent ?? 0 }) },
  async preview(raw, ctx): Promise<Preview> {
    const parsed = SendPushInputSchema.safeParse(raw);
    if (!parsed.success) return { previewable: true, output: null, error: `The push's input is invalid: ${issuesText(parsed.error)}` };
    const input = parsed.data;
    // The trigger's own snapshot when it is this customer; else the mirror's, when the preview may read it.
    const own = ctx.trigger.entity === "customer" && ctx.trigger.entity_id === input.customer ? ctx.trigger.data : undefined;
    const customer = own ?? (await ctx.mirror?.read("customer", input.customer));
    const recipients = customer === undefined ? null : subscriptionsOf(customer).valid.length;
    const output = { ...pushPayload(input), url: input.url ?? null, customer_id: input.customer, recipients };
    // As execute: a customer without a push subscription fails the step (unknown when the preview reads no mirror).
    if (recipients === 0) return { previewable: true, output, error: `Customer ${input.customer} has no push subscriptions` };
    // One notification per browser; later steps read an output as if every one took it.
    return { previewable: true, output, stepOutput: { sent: recipients ?? 1, removed: 0, failed: 0 }, impact: { pushes: recipients ?? 1 } };
  },
});
