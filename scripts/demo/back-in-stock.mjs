// `npm run demo:event -- back-in-stock`: the size most customers wait for comes back in the online
// shop (an inventory_item.updated raising on_hand from 0), and the "Back-in-stock notification"
// workflow tells the first wave of them. Prints what happened, with the UI's links.
import { setTimeout as sleep } from "node:timers/promises";
import { BACK_IN_STOCK, backInStockSubject, stockEvent } from "./data.mjs";
import { DEMO_PUSH_PORT, demoPushOrigin } from "./push-keys.mjs";

/** Every snapshot of an entity kind, page by page (the demo holds a few hundred subscriptions). */
async function all(api, kind) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 200; page++) {
    const res = await api(`/api/entities/${kind}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    out.push(...res.items);
    cursor = res.next_cursor;
    if (!cursor) break;
  }
  return out;
}

/** Polls `read` until `done` holds of its value or `seconds` pass; the last value either way. */
async function until(read, done, seconds) {
  let value = await read();
  for (let i = 0; i < seconds * 2 && !done(value); i++) {
    await sleep(500);
    value = await read();
  }
  return value;
}

/** What the local push service (npm start runs it) received since `since`: the pushes as the customers' browsers show them. */
async function showPushes(since) {
  const origin = demoPushOrigin(Number(process.env.DEMO_PUSH_PORT ?? DEMO_PUSH_PORT));
  let received;
  try {
    received = (await (await fetch(`${origin}/`)).json()).filter((m) => m.at >= since);
  } catch {
    console.log(`  (No demo push service answers on ${origin}: pushes to it fail. \`npm start\` runs it.)`);
    return;
  }
  console.log(`\nThe local push service (${origin}) received ${received.length} push${received.length === 1 ? "" : "es"}, each decrypted with the customer's browser key:`);
  for (const m of received.slice(0, 3)) console.log(`  ${m.customer_id} (browser ${m.browser}): ${JSON.stringify(m.message.title)} ${m.message.body}`);
  console.log("  Emails go to the local send_email binding: open a run's email step in the UI.");
}

export async function backInStock({ api, send, base, token }) {
  const subscriptions = await all(api, "subscription");
  const subject = backInStockSubject(subscriptions);
  if (!subject) {
    console.error("No one waits for a size any more: every waitlist was notified. Delete .wrangler/state and run `npm start` to start over.");
    process.exit(1);
  }
  const variant = await api(`/api/entities/product_variant/${encodeURIComponent(subject.variant_id)}`);
  const product = await api(`/api/entities/product/${encodeURIComponent(variant.product_id)}`);
  const itemPath = `/api/entities/inventory_item/${encodeURIComponent(subject.item_id)}`;
  let item = await api(itemPath);
  const what = `${product.name}, size ${variant.size} (${variant.id})`;
  console.log(`${subject.waiting} customers wait for ${what}.`);

  if (item.on_hand >= 1) {
    // A restock starts when stock rises from below min_stock: sell it out first.
    await send(stockEvent(item, 0));
    item = await until(() => api(itemPath), (i) => i.on_hand === 0, 15);
    if (item.on_hand !== 0) {
      console.error(`The mirror still shows on_hand ${item.on_hand} for ${item.id}; is the queue consumer running?`);
      process.exit(1);
    }
  }
  const sentAt = new Date().toISOString();
  const event = stockEvent(item, BACK_IN_STOCK.units);
  await send(event);
  console.log(`Sent ${event.type} ${event.id}: ${item.id} on_hand 0 → ${BACK_IN_STOCK.units} (shop ${item.shop_id}).`);

  const workflows = await api("/api/workflows?limit=500");
  const wf = workflows.items.find((w) => w.name === BACK_IN_STOCK.workflow);
  if (!wf) {
    console.log(`No workflow is named "${BACK_IN_STOCK.workflow}": the stock is updated, no one is told.`);
    return;
  }
  console.log(`It triggers "${wf.name}" (${wf.id}, ${wf.status}): 2 customers per unit in stock per wave, waves an hour apart.`);

  // The first wave starts shortly after the 202; wait until its runs stop coming and have finished.
  const wave = Math.min(subject.waiting, BACK_IN_STOCK.units * 2);
  const runsOf = async () => (await api(`/api/runs?workflow_id=${wf.id}&limit=500`)).items.filter((r) => r.started_at >= sentAt && !r.test);
  const finished = (runs) => runs.length >= wave && runs.every((r) => ["completed", "failed", "cancelled"].includes(r.status));
  const runs = await until(runsOf, finished, 30);
  if (runs.length === 0) {
    console.log("No run yet: the consumer may still be working on it. Follow it in the UI:");
  } else {
    const by = (status) => runs.filter((r) => r.status === status).length;
    console.log(`\nFirst wave: ${runs.length} of ${subject.waiting} notified (${by("completed")} completed, ${by("failed")} failed, ${runs.length - by("completed") - by("failed")} still going).`);
    for (const r of runs.slice(0, 10)) {
      const run = await api(`/api/runs/${r.id}`);
      const sent = run.steps.find((s) => (s.node_id === "email" || s.node_id === "push") && s.status !== "skipped");
      const how = sent ? `${sent.node_id} ${sent.status}${sent.error ? ` (${sent.error.slice(0, 80)})` : ""}` : "";
      console.log(`  ${r.entity_id.padEnd(10)} ${r.status.padEnd(9)} ${how.padEnd(24)} ${base}/runs/${r.id}`);
    }
    if (runs.length > 10) console.log(`  … and ${runs.length - 10} more: ${base}/runs`);
    if (runs.some((r) => r.status === "failed")) console.log("  (A failed run's page says why.)");
    await showPushes(sentAt);
  }
  const restocks = await fetch(`${base}/api/restocks?variant_id=${encodeURIComponent(variant.id)}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  // GET /api/restocks lists the episodes of every restock workflow; show this workflow's newest.
  if (restocks?.ok) {
    const body = await restocks.json();
    const episode = (body.items ?? []).find((e) => e.workflow_id === wf.id);
    if (episode) {
      console.log(`\nRestock episode ${episode.id}: ${episode.status}${episode.end_reason ? ` (${episode.end_reason})` : ""}, ${episode.notified} notified, ${episode.waiting} waiting.`);
      for (const w of episode.waves ?? []) console.log(`  wave ${w.n} at ${w.started_at}: ${w.available} in stock, ${w.notified} notified`);
    }
  }
  console.log(`\nOpen in the browser (API token: ${token}):`);
  console.log(`  the runs           ${base}/runs?workflow_id=${encodeURIComponent(wf.id)}`);
  console.log(`  the back-in-stock  ${base}/back-in-stock?variant=${encodeURIComponent(variant.id)}   (waiting, notified, converted; the episode's waves)`);
  console.log(`  the workflow       ${base}/workflows/${encodeURIComponent(wf.id)}`);
  console.log(`The next wave goes in an hour, if ${item.id} still has stock.`);
}
