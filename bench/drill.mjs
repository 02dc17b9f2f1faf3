// `npm run drill`: the fault drill. Sends a few thousand signed events (duplicate ids mixed in) to
// workflows that wait, retry against a flaky local sink and send email, kills the whole local
// runtime with `kill -9` of its process group twice while it works, restarts it with `npm start`
// on the same state folder, then counts: accepted, expected, started, completed, duplicates,
// lost, and how late the latest run was. Bounded, loopback only.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startSink } from "../test/support/sink.ts";
import { allRuns, api, createActive, freePort, percentile, sendEvents, startProduct, stopProduct } from "./lib.mjs";

const EVENTS = Number(process.env.DRILL_EVENTS ?? 3000);
const DUPLICATE_SHARE = 0.1;
const SENDERS = 6;
const KILLS = [0.35, 0.7];
const WAIT_MS = 3000;
const SETTLE_TIMEOUT_MS = 8 * 60_000;

const sink = await startSink(0, { keep: false });
const hook = (bucket) => `http://127.0.0.1:${sink.port}/${bucket}/notify?fail_rate=0.3`;
const persist = await mkdtemp(join(tmpdir(), "drill-state-"));
const port = await freePort();
const inspector = await freePort();
let product = await startProduct({ port, persist, inspector });
const base = product.base;
console.log(`drill: product on ${base}, state in ${persist}`);

const retry = { max_attempts: 10, backoff: "exponential", initial_delay_ms: 500, max_delay_ms: 5000, jitter: true };
const waiting = await createActive(base, {
  name: "Drill: wait, flaky webhook, email",
  trigger: { entity: "inventory_item", tags: { include: ["drill"] } },
  start: "pause",
  nodes: [
    { id: "pause", type: "wait", config: { duration: { minutes: WAIT_MS / 60_000 } }, next: "notify" },
    { id: "notify", type: "call_webhook", config: { url: hook("wait"), body: { item: "{{trigger.entity_id}}" } }, retry, next: "mail" },
    { id: "mail", type: "send_email", config: { to: ["ops@example.com"], subject: "Drill {{trigger.entity_id}}", body: "{{trigger.data.on_hand}} left" } },
  ],
});
const direct = await createActive(base, {
  name: "Drill: flaky webhook",
  trigger: { entity: "inventory_item", tags: { include: ["drill"] } },
  start: "notify",
  nodes: [{ id: "notify", type: "call_webhook", config: { url: hook("direct"), body: { item: "{{trigger.entity_id}}" } }, retry }],
});
const workflows = [waiting.id, direct.id];

// The events, and which of them are sent twice.
const events = Array.from({ length: EVENTS }, (_, i) => {
  const id = `inv_drill_${i}`;
  return {
    id: `evt_drill_${crypto.randomUUID()}`,
    type: "inventory_item.updated",
    entity_id: id,
    occurred_at: new Date().toISOString(),
    data: { id, variant_id: "var_1", shop_id: "shop_1", on_hand: i % 7, on_order: 0, target: 10, tags: ["drill"] },
  };
});
const sends = [...events];
for (let i = 0; i < EVENTS * DUPLICATE_SHARE; i++) sends.splice(Math.floor(Math.random() * sends.length), 0, events[Math.floor(Math.random() * EVENTS)]);

const acceptedAt = new Map();
let sent = 0;
let killing = Promise.resolve();
const kills = [];
async function kill(n) {
  const at = Date.now();
  console.log(`drill: kill -9 of the whole runtime (${n}) after ${sent} sends`);
  await stopProduct(product, "SIGKILL");
  product = await startProduct({ port, persist, inspector });
  kills.push({ at: new Date(at).toISOString(), down_ms: Date.now() - at });
  console.log(`drill: back after ${Date.now() - at} ms`);
}

const started = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: SENDERS }, async () => {
    while (next < sends.length) {
      const i = next++;
      const k = KILLS.findIndex((share) => Math.floor(share * sends.length) === i);
      if (k >= 0) killing = kill(k + 1);
      const event = sends[i];
      // A platform keeps sending until the engine says 202 (connection refused while it is down).
      const r = await sendEvents(base, event);
      if (r.ok && !acceptedAt.has(event.id)) acceptedAt.set(event.id, r.at);
      sent++;
    }
  }),
);
await killing;
console.log(`drill: ${sent} sends (${acceptedAt.size} distinct events accepted) in ${Math.round((Date.now() - started) / 1000)} s; waiting for runs`);

// Every accepted event should end as one completed run per workflow.
const expected = acceptedAt.size * workflows.length;
const deadline = Date.now() + SETTLE_TIMEOUT_MS;
let runs = [];
for (;;) {
  runs = (await Promise.all(workflows.map((id) => allRuns(base, id)))).flat();
  const finished = runs.filter((r) => r.status === "completed" || r.status === "failed").length;
  if (finished >= expected || Date.now() > deadline) break;
  await sleep(2000);
}

const byPair = new Map();
for (const r of runs) {
  const key = `${r.workflow_id}:${r.event_id}`;
  byPair.set(key, (byPair.get(key) ?? 0) + 1);
}
let lost = 0;
for (const id of acceptedAt.keys()) for (const wf of workflows) if (!byPair.has(`${wf}:${id}`)) lost++;
const duplicates = [...byPair.values()].reduce((n, c) => n + (c - 1), 0);
// How late: from the 202 to the run's start, and to its end beyond what the workflow itself takes.
const startLate = runs.map((r) => Date.parse(r.started_at) - acceptedAt.get(r.event_id)).filter(Number.isFinite);
// How late the waits woke: the wait step's end against the time it was due.
const wakeLate = [];
const waitingRuns = runs.filter((r) => r.workflow_id === waiting.id);
let i = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (i < waitingRuns.length) {
      const run = await api(base, `/api/runs/${waitingRuns[i++].id}`);
      const pause = run.steps.find((s) => s.node_id === "pause");
      const due = pause?.input?.until;
      if (due && pause.finished_at) wakeLate.push(Date.parse(pause.finished_at) - Date.parse(due));
    }
  }),
);
const failures = runs.filter((r) => r.status === "failed").map((r) => ({ run_id: r.id, error: r.error }));
const result = {
  at: new Date().toISOString(),
  sends: sent,
  events_accepted: acceptedAt.size,
  duplicate_sends: sends.length - EVENTS,
  kills,
  runs_expected: expected,
  runs_started: byPair.size,
  runs_completed: runs.filter((r) => r.status === "completed").length,
  runs_failed: runs.filter((r) => r.status === "failed").length,
  duplicates,
  lost,
  start_late_ms_p50: percentile(startLate, 50),
  start_late_ms_p99: percentile(startLate, 99),
  start_late_ms_max: startLate.length ? Math.max(...startLate) : null,
  wake_late_ms_p50: percentile(wakeLate, 50),
  wake_late_ms_max: wakeLate.length ? Math.max(...wakeLate) : null,
  failures,
  webhook_requests_seen: Object.fromEntries(sink.counts),
};
await stopProduct(product);
sink.server.close();
await rm(persist, { recursive: true, force: true });
await mkdir("bench/results", { recursive: true });
const file = `bench/results/drill-${result.at.replaceAll(":", "-")}.json`;
await writeFile(file, JSON.stringify(result, null, 2) + "\n");
const { failures: failed, kills: killed, webhook_requests_seen: seen, ...figures } = result;
console.table([{ ...figures, kills: killed.length }]);
if (failed.length > 0) console.log("failed runs:", failed);
console.log("webhook requests seen by the sink:", seen);
console.log(`drill: wrote ${file}`);
process.exit(lost === 0 && duplicates === 0 ? 0 : 1);
