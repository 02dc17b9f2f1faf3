// Loads the demo retailer (scripts/demo/data.mjs) through the public API into an empty database:
// entities with PUT /api/entities/{entity}; the orders that converted back-in-stock subscriptions
// as signed `order.created` events (POST /api/events), so that the queue consumer converts them
// and attributes their revenue as it does for real orders; then the six example workflows,
// created and activated. `npm start` calls seedIfEmpty once the server answers.
import { demoConversions, demoData, demoWorkflows } from "./data.mjs";

/** Rows per PUT: well inside the API's 50,000 rows and 32 MiB. */
const ROWS_PER_REQUEST = 10_000;
/** Events per POST /api/events (the API takes 500). */
const EVENTS_PER_REQUEST = 500;
/** How long the seed waits for the consumer to convert the subscriptions of the orders it sent. */
const CONVERSION_WAIT_MS = 60_000;

/** Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the secret after `whsec_`. */
async function sign(secret, id, timestamp, body) {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** How to send a demo event to the server at `baseUrl`: the demo script reads PORT, 8787 unless set. */
export function demoEventCommand(baseUrl) {
  const port = new URL(baseUrl).port || "80";
  return `${port === "8787" ? "" : `PORT=${port} `}npm run demo:event`;
}

/**
 * Loads the demo data set when the database holds no shop and no workflow; otherwise does
 * nothing, so it never loads twice. Returns what it did. With `eventsSecret` (the server's
 * EVENTS_SECRET) the converting orders go through the consumer and their subscriptions end up
 * converted with their revenue attributed; without it every row is loaded as it is, and the
 * converted subscriptions have no attributed revenue. `pushOrigin`: where the customers' push
 * subscriptions point (the local push service).
 */
export async function seedIfEmpty(baseUrl, token, { fetch: fetchImpl = globalThis.fetch, scale = 1, log = console.log, eventsSecret, pushOrigin } = {}) {
  const call = async (method, path, body, contentType = "application/json") => {
    const res = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": contentType }) },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  };

  const shops = await call("GET", "/api/entities/shop?limit=1");
  const workflows = await call("GET", "/api/workflows?limit=1");
  if (shops.items.length > 0 || workflows.items.length > 0) return { loaded: false };

  const started = Date.now();
  const data = demoData({ scale, ...(pushOrigin ? { pushOrigin } : {}) });
  const counts = {};
  // The converted subscriptions are loaded as the notified (delivered) ones they were before their
  // purchase, and the purchases are sent as events, later.
  const conversions = eventsSecret ? demoConversions(data) : [];
  const converting = new Set(conversions.map((c) => c.order.id));
  const before = new Map(conversions.map(({ subscription: s }) => [s.id, { ...s, status: "delivered" }]));
  const subscriptions = data.subscriptions.map((s) => before.get(s.id) ?? s);
  const orders = data.orders.filter((o) => !converting.has(o.id));
  // Parents first, so the mirror is whole at every moment a workflow could read it.
  for (const [kind, rows] of [
    ["shop", data.shops],
    ["brand", data.brands],
    ["product", data.products],
    ["product_variant", data.variants],
    ["inventory_item", data.items],
    ["recommendation", data.recommendations],
    ["customer", data.customers],
    ["subscription", subscriptions],
    ["order", orders],
  ]) {
    for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) {
      const ndjson = rows
        .slice(i, i + ROWS_PER_REQUEST)
        .map((row) => JSON.stringify(row))
        .join("\n");
      const res = await call("PUT", `/api/entities/${kind}`, ndjson, "application/x-ndjson");
      counts[kind] = (counts[kind] ?? 0) + res.upserted;
    }
  }
  let converted = 0;
  if (conversions.length > 0) {
    const sent = await sendOrders(conversions.map((c) => c.order));
    counts.order = (counts.order ?? 0) + sent;
    converted = await untilConverted(conversions.map((c) => c.subscription.id));
    // Later, some of them completed: that change arrives like any platform update.
    const completed = conversions.map((c) => c.subscription).filter((s) => s.status === "completed");
    if (completed.length > 0) await call("PUT", "/api/entities/subscription", JSON.stringify(completed));
    if (converted < conversions.length) log(`demo: only ${converted} of ${conversions.length} purchases converted their subscription within ${CONVERSION_WAIT_MS / 1000} s; is the queue consumer running?`);
  }
  const created = [];
  for (const definition of demoWorkflows()) {
    const wf = await call("POST", "/api/workflows", JSON.stringify(definition));
    await call("POST", `/api/workflows/${wf.id}/status`, JSON.stringify({ status: "active" }));
    created.push({ id: wf.id, name: wf.name });
  }
  log(
    `demo: loaded ${counts.shop} shops, ${counts.brand} brands, ${counts.product} products, ${counts.product_variant} sizes, ` +
      `${counts.inventory_item} inventory items, ${counts.recommendation} recommendations, ${counts.customer} customers, ` +
      `${counts.subscription} subscriptions, ${counts.order} orders (${converted} of them converted a back-in-stock subscription) and ${created.length} active workflows in ${((Date.now() - started) / 1000).toFixed(1)} s. ` +
      `Try: ${demoEventCommand(baseUrl)} -- restock (or rebalance, markdown, back-in-stock)`,
  );
  return { loaded: true, counts, workflows: created, conversions: converted };

  /** Sends the orders as signed order.created events, as the platform would; how many were accepted. */
  async function sendOrders(list) {
    let accepted = 0;
    for (let i = 0; i < list.length; i += EVENTS_PER_REQUEST) {
      const events = list.slice(i, i + EVENTS_PER_REQUEST).map((o) => ({ id: `evt_demo_${o.id}`, type: "order.created", entity_id: o.id, occurred_at: o.created_at, data: o }));
      const body = JSON.stringify({ events });
      const id = `msg_demo_orders_${i}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await fetchImpl(`${baseUrl}/api/events`, {
        method: "POST",
        headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": await sign(eventsSecret, id, timestamp, body) },
        body,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST /api/events: ${res.status} ${text.slice(0, 500)}`);
      accepted += events.length;
    }
    return accepted;
  }

  /** Polls the subscriptions until the consumer converted them all, or the wait is over; how many it converted. */
  async function untilConverted(ids) {
    const waiting = new Set(ids);
    const deadline = Date.now() + CONVERSION_WAIT_MS;
    while (waiting.size > 0 && Date.now() < deadline) {
      for (const id of [...waiting]) {
        const s = await call("GET", `/api/entities/subscription/${encodeURIComponent(id)}`);
        if (s.status === "converted") waiting.delete(id);
      }
      if (waiting.size > 0) await new Promise((r) => setTimeout(r, 250));
    }
    return ids.length - waiting.size;
  }
}
