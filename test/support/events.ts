import { Webhook } from "standardwebhooks";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { runName } from "../../worker/intake/start";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "./api";

/** Signs like the platform does, with the `standardwebhooks` package. */
export function sign(body: string, opts: { id?: string; at?: Date; secret?: string } = {}) {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const at = opts.at ?? new Date();
  const signature = new Webhook(opts.secret ?? env.EVENTS_SECRET).sign(id, at, body);
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signature };
}

export function postEvents(payload: unknown, opts: Parameters<typeof sign>[1] & { headers?: Record<string, string> } = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return api("/api/events", {
    method: "POST",
    token: null,
    body,
    headers: { "content-type": "application/json", ...sign(body, opts), ...opts.headers },
  });
}

export function inventoryEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  const entityId = (overrides.entity_id as string) ?? `inv_${crypto.randomUUID().slice(0, 8)}`;
  return {
    id: `evt_${crypto.randomUUID()}`,
    type: "inventory_item.updated",
    entity_id: entityId,
    occurred_at: new Date().toISOString(),
    data: { id: entityId, variant_id: "var_1", shop_id: "shop_1", on_hand: 2, on_order: 0, target: 10, tags: ["sneakers"], ...data },
    ...overrides,
  };
}

/**
 * Signs raw bytes with WebCrypto (the `standardwebhooks` package signs strings only): a body
 * that is not valid UTF-8, or starts with a byte order mark, is signed exactly as sent.
 */
export async function signBytes(body: Uint8Array, opts: { id?: string; at?: Date; secret?: string } = {}) {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = String(Math.floor((opts.at ?? new Date()).getTime() / 1000));
  const secret = opts.secret ?? env.EVENTS_SECRET;
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.byteLength + body.byteLength);
  signed.set(prefix);
  signed.set(body, prefix.byteLength);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${btoa(String.fromCharCode(...mac))}` };
}

/** Posts bytes as they are, with the signature these bytes (or `signedBody`, to tamper) carry. */
export async function postBytes(body: Uint8Array, opts: { signedBody?: Uint8Array } = {}) {
  const headers = await signBytes(opts.signedBody ?? body);
  return api("/api/events", { method: "POST", token: null, body, headers: { "content-type": "application/json", ...headers } });
}

/** An event as the platform sends it. */
export interface SentEvent {
  id: string;
  type: string;
  entity_id: string;
  occurred_at: string;
  data: Record<string, unknown>;
}

/** The event as the intake records it: entity and kind split from `type`, `data.id` the entity id. */
export function recordedEvent(e: SentEvent) {
  const [entity, kind] = e.type.split(".");
  return { ...e, entity, kind, occurred_at: new Date(e.occurred_at).toISOString(), data: { ...e.data, id: e.entity_id } };
}

/** A queue message as the inbox sends it, for an event it never recorded (so acknowledging it there is a no-op). */
export const inboxMessage = (e: SentEvent, id: string, seq: number, attempts = 1, extra: Record<string, unknown> = {}) => ({
  id,
  timestamp: new Date(),
  attempts,
  body: { v: 1, shard: 0, seq, event: recordedEvent(e), ...extra },
});

/** A condition that holds: the run of a matching event completes at once, with no effect. */
const DONE = { id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "gte", right: 0 }] } };

/** An active workflow on inventory items whose trigger also has `trigger` (tags, events, conditions…). */
export async function activeWorkflow(trigger: Record<string, unknown>): Promise<string> {
  const def = { name: uid("active"), trigger: { entity: "inventory_item", ...trigger }, start: DONE.id, nodes: [DONE] };
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status).toBe(201);
  const wf = await json(res);
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

/** The run a workflow has for an event, once its current action finished; null when none was started. */
export async function runFor(workflowId: string, eventId: string): Promise<RunRecord | null> {
  const raw = await env.RUNS.get(env.RUNS.idFromName(runName(workflowId, eventId))).settled();
  return raw ? JSON.parse(raw) : null;
}
