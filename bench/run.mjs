// `npm run bench`: starts the product locally on a fresh state folder and measures it through its
// public API with signed events and a local webhook sink on 127.0.0.1. Bounded in count and time.
// Prints a table and writes bench/results/<timestamp>.json.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startSink } from "../test/support/sink.ts";
import { allRuns, api, createActive, freePort, percentile, sendEvents, startProduct, stopProduct, usage } from "./lib.mjs";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const wants = (name) => !only || only.includes(name);
const results = { started_at: new Date().toISOString(), machine: { cores: (await import("node:os")).cpus().length }, figures: {} };

const sink = await startSink();
const sinkUrl = `http://127.0.0.1:${sink.port}`;
const persist = await mkdtemp(join(tmpdir(), "bench-state-"));
const product = await startProduct({ port: await freePort(), persist, inspector: await freePort() });
const base = product.base;
console.log(`bench: product on ${base}, state in ${persist}`);

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, usage(product.pgid).workerdRss);
}, 250);

const metrics = async () => (await api(base, "/api/metrics")).counters;
const delta = (after, before) => Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));

/**
 * Waits until the inbox is empty and a counter (or the sum of several) reached a value, or the
 * time is up. Runs are drained with the stale events: the pool's items get several events each,
 * and one that arrives after a newer one for its item is recorded as stale and starts no run
 * (SPEC §6), so "completed + stale" reaches the events sent.
 */
async function drain(counter, target, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  const counters = Array.isArray(counter) ? counter : [counter];
  for (;;) {
    const m = await api(base, "/api/metrics");
    const value = counters.reduce((sum, c) => sum + (m.counters[c] ?? 0), 0);
    if (value >= target && m.inbox.pending === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** Inventory items the platform already mirrored: events update them, as in production. */
const POOL = 2000;
const poolItem = (i, tags) => ({ id: `inv_pool_${i}`, variant_id: `var_${i % 300}`, shop_id: `shop_${i % 20}`, on_hand: 8, on_order: 0, target: 10, tags });
let poolTags = [];
async function loadPool(tags) {
  poolTags = tags;
  await api(base, "/api/entities/inventory_item", { method: "PUT", body: JSON.stringify(Array.from({ length: POOL }, (_, i) => poolItem(i, tags))) });
}

function inventoryEvent(tags, onHand = 2) {
  const item = poolItem(Math.floor(Math.random() * POOL), tags);
  const id = item.id;
  return {
    id: `evt_${crypto.randomUUID()}`,
    type: "inventory_item.updated",
    entity_id: id,
    occurred_at: new Date().toISOString(),
    data: { ...item, on_hand: onHand },
  };
}

// ------------------------------------------------------------------ intake
await loadPool(["no-workflow-matches"]);

if (wants("intake")) {
  const batches = quick ? 30 : 100;
  const senders = 4;
  const before = usage(product.pgid);
  const started = performance.now();
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < batches) {
        next++;
        const events = Array.from({ length: 100 }, () => inventoryEvent(["no-workflow-matches"]));
        const r = await sendEvents(base, { events });
        if (r.ok) accepted += 100;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = usage(product.pgid).workerdCpu - before.workerdCpu;
  results.figures.intake = { events: accepted, batch_size: 100, senders, seconds: round(seconds, 2), events_per_second: Math.round(accepted / seconds), workerd_cpu_s: round(cpu, 2) };
  const m0 = await metrics();
  await drain("consumer_events", (m0.consumer_events ?? 0) + 0, 120_000);
  console.log(`intake: ${results.figures.intake.events_per_second} events/s accepted in batches of 100`);
}

// ------------------------------------------------------------------ planning (add_items_to_plan), on a quiet runtime
if (wants("planning") && existsSync(new URL("./plan-bench.mjs", import.meta.url))) {
  const { benchPlanning } = await import("./plan-bench.mjs");
  results.figures.planning = await benchPlanning({ baseUrl: base, token: "dev-token", sizes: quick ? [10_000] : [10_000, 100_000], pgid: product.pgid });
}

// ------------------------------------------------------------------ end to end
const e2eWorkflow = (bucket) => ({
  name: `Bench ${bucket}: condition → webhook → email`,
  trigger: { entity: "inventory_item", tags: { include: [bucket] } },
  start: "low",
  nodes: [
    { id: "low", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "notify" },
    {
      id: "notify",
      type: "call_webhook",
      config: { url: `${sinkUrl}/${bucket}/restock`, body: { item: "{{trigger.entity_id}}", on_hand: "{{trigger.data.on_hand}}" } },
      next: "mail",
    },
    { id: "mail", type: "send_email", config: { to: ["planner@example.com"], subject: "Low stock: {{trigger.entity_id}}", body: "{{trigger.entity_id}} has {{trigger.data.on_hand}} left." } },
  ],
});

/** Sends `total` events from `senders` senders to a new workflow and measures its runs to the end. */
async function measureE2e({ senders, total, perRequest, bucket, controls }) {
  await loadPool([bucket]);
  const wf = await createActive(base, { ...e2eWorkflow(bucket), ...(controls ? { controls } : {}) });
  const acceptedAt = new Map();
  const m0 = await metrics();
  const u0 = usage(product.pgid);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < total) {
        next += perRequest;
        const events = Array.from({ length: perRequest }, () => inventoryEvent([bucket]));
        const r = await sendEvents(base, perRequest === 1 ? events[0] : { events });
        if (r.ok) for (const e of events) acceptedAt.set(e.id, r.at);
      }
    }),
  );
  const done = await drain(["runs_completed", "consumer_stale_events"], (m0.runs_completed ?? 0) + (m0.consumer_stale_events ?? 0) + acceptedAt.size, 300_000);
  const u1 = usage(product.pgid);
  const m1 = await metrics();
  const d = delta(m1, m0);
  const runs = (await allRuns(base, wf.id)).filter((r) => r.status === "completed");
  const latencies = runs.map((r) => Date.parse(r.finished_at) - acceptedAt.get(r.event_id)).filter((v) => Number.isFinite(v));
  // The run's own time, from its object starting to its end (no queueing in front of it).
  const own = runs.map((r) => Date.parse(r.finished_at) - Date.parse(r.started_at));
  const lastFinish = Math.max(...runs.map((r) => Date.parse(r.finished_at)));
  const n = runs.length;
  return {
    senders,
    events_per_request: perRequest,
    events: acceptedAt.size,
    runs_completed: n,
    stale_events: (d.consumer_stale_events ?? 0),
    drained: done,
    runs_per_second: round(n / ((lastFinish - t0) / 1000), 1),
    latency_ms_p50: percentile(latencies, 50),
    latency_ms_p99: percentile(latencies, 99),
    run_ms_p50: percentile(own, 50),
    workerd_cpu_s_per_1000_runs: round(((u1.workerdCpu - u0.workerdCpu) / n) * 1000, 2),
    all_processes_cpu_s_per_1000_runs: round(((u1.cpu - u0.cpu) / n) * 1000, 2),
    d1_rows_read_per_run: round(d.d1_rows_read / n, 2),
    d1_rows_written_per_run: round(d.d1_rows_written / n, 2),
    do_requests_per_run: round(((d.run_rpc_start ?? 0) + (d.run_rpc_gate ?? 0) + (d.gate_rpc ?? 0) + (d.run_alarms ?? 0) + (d.inbox_rpc ?? 0)) / n, 2),
    do_storage_rows_written_per_run: round(((d.run_storage_rows_written ?? 0) + (d.run_alarm_writes ?? 0) + (d.inbox_rows_written ?? 0)) / n, 2),
    queue_messages_per_run: round((d.queue_messages_sent ?? 0) / n, 2),
    webhook_calls_seen_by_sink: sink.requests.get(bucket)?.length ?? 0,
  };
}

if (wants("e2e")) {
  results.figures.e2e = [];
  // [senders, events, events per request]: one sender sends single events (latency); many senders
  // send small batches, as a platform pushing hundreds of events a second does (SPEC §6).
  const plan = quick ? [[1, 60, 1], [10, 600, 10]] : [[1, 200, 1], [10, 3000, 10], [50, 4000, 10], [10, 600, 1]];
  for (const [senders, total, perRequest] of plan) {
    const row = await measureE2e({ senders, total, perRequest, bucket: `e2e${senders}x${perRequest}` });
    results.figures.e2e.push(row);
    console.log(`e2e ${senders} senders × ${perRequest}/request: ${row.runs_per_second} runs/s, p50 ${row.latency_ms_p50} ms, p99 ${row.latency_ms_p99} ms, ${row.workerd_cpu_s_per_1000_runs} CPU-s/1000 runs`);
  }
}

// ------------------------------------------------------------------ the floor, under the same wrangler dev
if (wants("floor")) {
  const { benchFloor } = await import("./floor.mjs");
  const floor = await benchFloor({ messages: quick ? 1000 : 3000 });
  results.figures.floor = floor;
  const saturated = (results.figures.e2e ?? []).filter((r) => r.events_per_request > 1).sort((a, b) => b.runs_per_second - a.runs_per_second)[0];
  if (saturated) {
    results.figures.floor.ours_vs_floor = {
      ours_runs_per_second: saturated.runs_per_second,
      floor_runs_per_second: floor.queue.runs_per_second,
      ratio: Math.round((saturated.runs_per_second / floor.queue.runs_per_second) * 100) / 100,
      ours_cpu_s_per_1000: saturated.all_processes_cpu_s_per_1000_runs,
      floor_cpu_s_per_1000: floor.queue.all_processes_cpu_s_per_1000_runs,
    };
  }
  console.log(`floor: ${floor.queue.runs_per_second} runs/s through the queue (${floor.queue.all_processes_cpu_s_per_1000_runs} CPU-s/1000), direct ${floor.direct.map((d) => `${d.per_second}/s at ${d.connections}`).join(", ")}`);
}

// ------------------------------------------------------------------ flow-control gate overhead
if (wants("gate")) {
  // The same run with and without a concurrency gate per shop (20 shops, a limit no shop reaches,
  // so every run passes its gate at once): what the gate itself costs per run.
  results.figures.gate = [];
  const [senders, total, perRequest] = quick ? [10, 600, 10] : [10, 2000, 10];
  for (const [label, controls] of [["without controls", undefined], ["concurrency 1000 per shop", { key: "{{trigger.data.shop_id}}", concurrency: 1000 }]]) {
    const row = await measureE2e({ senders, total, perRequest, bucket: `gate${controls ? "on" : "off"}`, controls });
    results.figures.gate.push({ runs: label, ...row });
    console.log(`gate (${label}): ${row.runs_per_second} runs/s, p50 ${row.latency_ms_p50} ms, ${row.workerd_cpu_s_per_1000_runs} CPU-s/1000 runs`);
  }
}

// ------------------------------------------------------------------ back-in-stock fan-out
if (wants("fanout")) {
  const { benchFanout } = await import("./fanout.mjs");
  results.figures.fanout = await benchFanout({ base, pgid: product.pgid, size: quick ? 1_000 : 5_000 });
  const f = results.figures.fanout;
  console.log(`fanout ${f.subscriptions} subscriptions: ${f.notified_per_second} notified/s, first ${f.first_completed_s} s, last ${f.last_completed_s} s, ${f.workerd_cpu_s_per_1000} CPU-s/1000`);
}

// ------------------------------------------------------------------ matching
async function createMany(count, make) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        await createActive(base, make(i));
      }
    }),
  );
}

const tinyWorkflow = (name, tags) => ({
  name,
  trigger: { entity: "product", tags: { include: tags } },
  start: "done",
  nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.price}}", op: "gt", right: 0 }] } }],
});

function productEvent(tags) {
  const id = `prod_pool_${Math.floor(Math.random() * 500)}`;
  return {
    id: `evt_${crypto.randomUUID()}`,
    type: "product.updated",
    entity_id: id,
    occurred_at: new Date().toISOString(),
    data: { id, brand_id: "brand_1", name: "Runner", price: 100, cost: 40, tags },
  };
}

if (wants("matching")) {
  await api(base, "/api/entities/product", {
    method: "PUT",
    body: JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: `prod_pool_${i}`, brand_id: "brand_1", name: `Runner ${i}`, price: 100, cost: 40, tags: ["match-me", "sale"] }))),
  });
  results.figures.matching = [];
  const sizes = quick ? [100, 1000] : [100, 10_000];
  let made = 0;
  for (const size of sizes) {
    if (made === 0) {
      await createMany(3, (i) => tinyWorkflow(`match ${i}`, ["match-me"]));
      made = 3;
    }
    await createMany(size - made, (i) => tinyWorkflow(`other ${made + i}`, [`other-${(made + i) % 500}`, "shared-not-on-event"]));
    made = size;
    const events = quick ? 60 : 200;
    const m0 = await metrics();
    for (let i = 0; i < events; i += 20) {
      await sendEvents(base, { events: Array.from({ length: 20 }, () => productEvent(["match-me", "sale"])) });
    }
    await drain("consumer_events", (m0.consumer_events ?? 0) + events, 120_000);
    await drain("runs_completed", (m0.runs_completed ?? 0) + events * 3, 120_000);
    const d = delta(await metrics(), m0);
    const row = {
      active_workflows: size,
      matching: 3,
      events: d.consumer_events,
      consumer_ms_per_event: round(d.consumer_match_ms / d.consumer_events, 3),
      candidates_per_event: round(d.consumer_candidates / d.consumer_events, 2),
      runs_started: d.run_start_calls,
      d1_rows_read_per_event: round(d.d1_rows_read / d.consumer_events, 2),
    };
    results.figures.matching.push(row);
    console.log(`matching with ${size} active workflows: ${row.consumer_ms_per_event} ms/event, ${row.d1_rows_read_per_event} D1 rows read/event`);
  }
}

clearInterval(sampler);
results.figures.memory = { workerd_peak_rss_mb: Math.round(peakRss), workerd_rss_mb_at_end: Math.round(usage(product.pgid).workerdRss) };
try {
  results.figures.ui_bundle = JSON.parse(await readFile("ui/dist/bundle-size.json", "utf8"));
} catch {}
results.figures.cost_per_million_runs = costPerMillion(results.figures.e2e?.find((r) => r.senders === 10 && r.events_per_request > 1));
await stopProduct(product);
sink.server.close();
await rm(persist, { recursive: true, force: true });

await mkdir("bench/results", { recursive: true });
const file = `bench/results/${results.started_at.replaceAll(":", "-")}.json`;
await writeFile(file, JSON.stringify(results, null, 2) + "\n");
printTables(results.figures);
console.log(`\nbench: wrote ${file}`);

function round(v, digits) {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * What a Cloudflare deployment would pay per 1M runs at list prices (Workers Paid, checked
 * 2026-11): Workers $0.30/M requests + $0.02/M CPU ms; D1 $0.001/M rows read + $1.00/M rows
 * written; Durable Objects $0.15/M requests + $12.50/M GB-s + $1.00/M storage rows written
 * (+$0.001/M read); Queues $0.40/M operations (write + read + delete per message). Included
 * monthly allowances are ignored: this is the marginal price.
 */
function costPerMillion(row) {
  if (!row) return null;
  const M = 1;
  const workerRequests = 1 / row.events_per_request + 0.01; // the event POST (shared by its batch), plus a share of consumer invocations
  const cpuMs = (row.workerd_cpu_s_per_1000_runs / 1000) * 1000;
  const doGbSeconds = (0.128 * (row.run_ms_p50 ?? 50)) / 1000; // 128 MB while the run's object is active
  const items = {
    workers_requests: workerRequests * 0.3 * M,
    workers_cpu: cpuMs * 0.02 * M,
    d1_rows_read: row.d1_rows_read_per_run * 0.001 * M,
    d1_rows_written: row.d1_rows_written_per_run * 1.0 * M,
    do_requests: row.do_requests_per_run * 0.15 * M,
    do_duration: doGbSeconds * 12.5 * M,
    do_storage_rows_written: row.do_storage_rows_written_per_run * 1.0 * M,
    queue_operations: row.queue_messages_per_run * 3 * 0.4 * M,
  };
  const total = Object.values(items).reduce((a, b) => a + b, 0);
  return {
    usd: Object.fromEntries(Object.entries(items).map(([k, v]) => [k, round(v, 3)])),
    total_usd: round(total, 2),
    basis: `e2e at ${row.senders} senders × ${row.events_per_request}/request; CPU is local workerd CPU, an upper bound for billed CPU`,
  };
}

function printTables(f) {
  const table = (title, rows) => {
    if (!rows || rows.length === 0) return;
    console.log(`\n${title}`);
    console.table(rows);
  };
  table("Intake", f.intake ? [f.intake] : []);
  table("End to end: condition → call_webhook → send_email", f.e2e);
  if (f.floor) {
    table("Floor: queue → new Durable Object → one row (bench/floor/)", [f.floor.queue]);
    table("Floor: one new Durable Object and one row per request", f.floor.direct);
    if (f.floor.ours_vs_floor) table("Ours (condition → webhook → email, saturated) against the floor", [f.floor.ours_vs_floor]);
  }
  table("Flow-control gate overhead (same run, 10 senders × 10/request)", f.gate);
  table("Back-in-stock fan-out: one restock → send_email → update_subscription_status", f.fanout ? [f.fanout] : []);
  table("Trigger matching", f.matching);
  table("add_items_to_plan", f.planning);
  table("Memory", [f.memory]);
  table("UI bundle", f.ui_bundle ? [f.ui_bundle] : []);
  if (f.cost_per_million_runs) table(`Cost per 1M runs (USD, ${f.cost_per_million_runs.basis})`, [{ ...f.cost_per_million_runs.usd, total: f.cost_per_million_runs.total_usd }]);
}
