import { Webhook } from "standardwebhooks";
import { env } from "cloudflare:workers";
import { api } from "./helpers";

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
