// Loads the demo retailer (scripts/demo/data.mjs) through the public API into an empty database:
// entities with PUT /api/entities/{entity}, then the six example workflows, created and
// activated. `npm start` calls seedIfEmpty once the server answers.
import { demoData, demoWorkflows } from "./data.mjs";

/** Rows per PUT: well inside the API's 50,000 rows and 32 MiB. */
const ROWS_PER_REQUEST = 10_000;

/**
 * Loads the demo data set when the database holds no shop and no workflow; otherwise does
 * nothing, so it never loads twice. Returns what it did.
 */
export async function seedIfEmpty(baseUrl, token, { fetch: fetchImpl = globalThis.fetch, scale = 1, log = console.log } = {}) {
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
  const data = demoData({ scale });
  const counts = {};
  // Parents first, so the mirror is whole at every moment a workflow could read it.
  for (const [kind, rows] of [
    ["shop", data.shops],
    ["brand", data.brands],
    ["product", data.products],
    ["product_variant", data.variants],
    ["inventory_item", data.items],
    ["recommendation", data.recommendations],
    ["customer", data.customers],
    ["subscription", data.subscriptions],
    ["order", data.orders],
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
  const created = [];
  for (const definition of demoWorkflows()) {
    const wf = await call("POST", "/api/workflows", JSON.stringify(definition));
    await call("POST", `/api/workflows/${wf.id}/status`, JSON.stringify({ status: "active" }));
    created.push({ id: wf.id, name: wf.name });
  }
  log(
    `demo: loaded ${counts.shop} shops, ${counts.brand} brands, ${counts.product} products, ${counts.product_variant} sizes, ` +
      `${counts.inventory_item} inventory items, ${counts.recommendation} recommendations, ${counts.customer} customers, ` +
      `${counts.subscription} subscriptions, ${counts.order} orders and ${created.length} active workflows in ${((Date.now() - started) / 1000).toFixed(1)} s. ` +
      "Try: npm run demo:event -- restock (or rebalance, markdown, back-in-stock)",
  );
  return { loaded: true, counts, workflows: created };
}
