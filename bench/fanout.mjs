// The back-in-stock fan-out (issue 10), through the public API only: N customers each waiting for
// the same variant (pending email subscriptions, all shops), one active workflow
// `subscription back_in_stock (min_stock 1, all at once) → send_email → update_subscription_status`,
// then one signed inventory_item.updated that lifts the variant's on_hand from 0 to 10. Measured
// from that event's 202 until N runs completed: subscriptions notified per second, the time to the
// first and the last completed run, and the runtime's CPU per 1,000 notifications.
import { setTimeout as sleep } from "node:timers/promises";
import { allRuns, api, createActive, percentile, sendEvents, usage } from "./lib.mjs";

const ROWS_PER_REQUEST = 5_000;

const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

async function putEntities(base, kind, rows) {
  for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) {
    await api(base, `/api/entities/${kind}`, { method: "PUT", body: JSON.stringify(rows.slice(i, i + ROWS_PER_REQUEST)) });
  }
}

const workflow = (variantId) => ({
  name: `Bench fan-out ${variantId}: back in stock → email → delivered`,
  trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1 } },
  start: "mail",
  nodes: [
    {
      id: "mail",
      type: "send_email",
      config: {
        to: ["{{trigger.related.customer.email}}"],
        subject: "{{trigger.related.product.name}} is back",
        body: "Size {{trigger.related.product_variant.size}} is back in stock.",
      },
      next: "delivered",
    },
    { id: "delivered", type: "update_subscription_status", config: { status: "delivered" } },
  ],
});

/**
 * Runs the fan-out once with `size` subscriptions on a variant of its own and returns the row.
 * `timeoutMs` bounds the wait for the runs; a fan-out that stalls returns with `completed < size`.
 */
export async function benchFanout({ base, pgid, size, timeoutMs = 600_000 }) {
  const tag = `fan${size}_${Date.now().toString(36)}`;
  const variantId = `var_${tag}`;
  const shopId = `shop_${tag}`;
  const item = { id: `inv_${tag}`, variant_id: variantId, shop_id: shopId, on_hand: 0, on_order: 0, target: 10, tags: [] };

  await putEntities(base, "brand", [{ id: `brand_${tag}`, name: "Bench Brand", tags: [] }]);
  await putEntities(base, "product", [{ id: `prod_${tag}`, brand_id: `brand_${tag}`, name: "Bench Runner", price: 100, cost: 40, tags: [] }]);
  await putEntities(base, "product_variant", [{ id: variantId, product_id: `prod_${tag}`, size: "42", tags: [] }]);
  await putEntities(base, "inventory_item", [item]);
  const created = Date.now() - size * 1000;
  await putEntities(
    base,
    "customer",
    Array.from({ length: size }, (_, i) => ({ id: `cus_${tag}_${i}`, email: `c${i}.${tag}@example.com`, name: `Customer ${i}`, tags: [] })),
  );
  await putEntities(
    base,
    "subscription",
    Array.from({ length: size }, (_, i) => ({
      id: `sub_${tag}_${i}`,
      customer_id: `cus_${tag}_${i}`,
      variant_id: variantId,
      channel: "email",
      status: "pending",
      created_at: new Date(created + i * 1000).toISOString(),
      tags: [],
    })),
  );
  const wf = await createActive(base, workflow(variantId));

  const metrics = () => api(base, "/api/metrics");
  const r0 = await metrics();
  const m0 = r0.counters;
  const u0 = usage(pgid);
  const event = {
    id: `evt_${crypto.randomUUID()}`,
    type: "inventory_item.updated",
    entity_id: item.id,
    occurred_at: new Date().toISOString(),
    data: { ...item, on_hand: 10 },
  };
  const sent = await sendEvents(base, event);
  if (!sent.ok) throw new Error(`fanout: the stock event was refused: ${sent.status} ${sent.body ?? sent.error}`);
  const t0 = sent.at;

  // Ended runs, counted from the D1 run index page by page: the truth, but each count reads every
  // ended run, which costs the runtime the CPU being measured. So the poll reads the isolate's
  // counters (one small request) and pages the index only when they say all ended, every 10 s,
  // or always once the isolate is a new one (its counters then start again from zero).
  const ended = async () => {
    let n = 0;
    for (const status of ["completed", "failed", "cancelled"]) {
      let cursor = null;
      do {
        const page = await api(base, `/api/runs?workflow_id=${wf.id}&status=${status}&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
        n += page.items.length;
        cursor = page.next_cursor;
      } while (cursor);
    }
    return n;
  };
  const deadline = t0 + timeoutMs;
  let lastPaged = t0;
  for (;;) {
    const r = await metrics();
    const m = r.counters;
    const sameIsolate = r.isolate_started_at === r0.isolate_started_at;
    const counterSaysDone = sameIsolate && ["runs_completed", "runs_failed", "runs_cancelled"].reduce((n, k) => n + (m[k] ?? 0) - (m0[k] ?? 0), 0) >= size;
    if (counterSaysDone || !sameIsolate || Date.now() - lastPaged > 10_000) {
      lastPaged = Date.now();
      if ((await ended()) >= size) break;
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const u1 = usage(pgid);
  const r1 = await metrics();
  const m1 = r1.counters;
  // The counters are the isolate's since it started; a new isolate meanwhile makes them useless.
  const counted = r1.isolate_started_at === r0.isolate_started_at;
  const runs = await allRuns(base, wf.id);
  const completed = runs.filter((r) => r.status === "completed");
  const finished = completed.map((r) => Date.parse(r.finished_at)).sort((a, b) => a - b);
  const started = runs.map((r) => Date.parse(r.started_at)).sort((a, b) => a - b);
  const episodes = (await api(base, `/api/restocks?variant_id=${variantId}&limit=10`)).items;
  const last = finished.at(-1) ?? Date.now();
  const d = (k) => (counted ? (m1[k] ?? 0) - (m0[k] ?? 0) : null);
  const n = completed.length;
  const row = {
    subscriptions: size,
    runs_started: runs.length,
    runs_completed: n,
    runs_failed: runs.filter((r) => r.status === "failed").length,
    episode_notified: episodes.reduce((s, e) => s + e.notified, 0),
    notified_per_second: n === 0 ? 0 : round(n / ((last - t0) / 1000), 1),
    first_completed_s: n === 0 ? null : round((finished[0] - t0) / 1000, 2),
    last_completed_s: n === 0 ? null : round((last - t0) / 1000, 2),
    last_started_s: started.length === 0 ? null : round((started.at(-1) - t0) / 1000, 2),
    run_ms_p50: percentile(completed.map((r) => Date.parse(r.finished_at) - Date.parse(r.started_at)), 50),
    workerd_cpu_s_per_1000: n === 0 ? null : round(((u1.workerdCpu - u0.workerdCpu) / n) * 1000, 2),
    all_processes_cpu_s_per_1000: n === 0 ? null : round(((u1.cpu - u0.cpu) / n) * 1000, 2),
    d1_rows_read_per_notification: n === 0 || !counted ? null : round(d("d1_rows_read") / n, 2),
    d1_rows_written_per_notification: n === 0 || !counted ? null : round(d("d1_rows_written") / n, 2),
    metrics_runs_ended: counted ? d("runs_completed") + d("runs_failed") + d("runs_cancelled") : null,
  };
  if (runs.some((r) => r.status === "failed")) row.first_error = runs.find((r) => r.status === "failed").error;
  return row;
}
