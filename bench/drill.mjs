// `npm run drill`: the fault drill. Sends a few thousand signed events (duplicate ids mixed in,
// non-ASCII text, events near the size limits, batches of CJK events) to workflows that wait, retry
// against a flaky local sink and send email, among them events that can never be processed (over
// 1 MiB, nested thousands deep, a snapshot over the mirror's limit), which must be refused with a
// 4xx. While it works, it saves a new version of one workflow, pauses another and activates it
// again, runs one workflow under a concurrency of 3 per shop, and kills the whole local runtime with `kill -9` of its process group twice, restarting it
// with `npm start` on the same state folder. Then it counts: accepted, refused, expected, started,
// completed, duplicated and lost runs, runs started while their workflow was paused, runs pinned to
// the wrong version, and how late runs started. Bounded, loopback only.
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
/** When, as a share of the sends, one workflow gets a new version, and another is paused and resumed. */
const SAVE_AT = 0.5;
const PAUSE_AT = 0.42;
const RESUME_AT = 0.6;
/** Every few events carry a tag that the versioned and the pausable workflows listen to. */
const CHURN_EVERY = 3;
const NEAR_LIMIT_EVENTS = 12;
const CJK_BATCHES = 3;
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
const churnTrigger = { entity: "inventory_item", tags: { include: ["drill_churn"] } };
const versioned = await createActive(base, {
  name: "Drill: a new version saved during the load",
  trigger: churnTrigger,
  start: "notify",
  nodes: [{ id: "notify", type: "call_webhook", config: { url: hook("v1"), body: { item: "{{trigger.entity_id}}", version: 1 } }, retry }],
});
const pausable = await createActive(base, {
  name: "Drill: paused and resumed during the load",
  trigger: churnTrigger,
  start: "mail",
  nodes: [{ id: "mail", type: "send_email", config: { to: ["ops@example.com"], subject: "Paused drill {{trigger.entity_id}}", body: "ok" } }],
});
// Flow control (SPEC §14): at most 3 runs at a time per shop, through the gates, across the kills.
const GATED_CONCURRENCY = 3;
const SHOPS = 3;
const gated = await createActive(base, {
  name: "Drill: at most 3 at a time per shop",
  trigger: churnTrigger,
  controls: { key: "{{trigger.data.shop_id}}", concurrency: GATED_CONCURRENCY },
  start: "notify",
  nodes: [{ id: "notify", type: "call_webhook", config: { url: hook("gated"), body: { item: "{{trigger.entity_id}}" } }, retry }],
});
const workflows = [waiting.id, direct.id, versioned.id, gated.id];

// Non-ASCII text in many events: the intake sizes messages by UTF-8 bytes, not UTF-16 units.
const NOTES = ["", "", "Größe 42 – fast ausverkauft", "売り切れ間近のスニーカー", "👟🔥 back soon", "€€€ Rabatt"];
const item = (i, extra = {}) => {
  const id = `inv_drill_${i}`;
  const tags = i % CHURN_EVERY === 0 ? ["drill", "drill_churn"] : ["drill"];
  return {
    id: `evt_drill_${crypto.randomUUID()}`,
    type: "inventory_item.updated",
    entity_id: id,
    occurred_at: new Date().toISOString(),
    data: { id, variant_id: "var_1", shop_id: `shop_${i % SHOPS}`, on_hand: i % 7, on_order: 0, target: 10, tags, note: NOTES[i % NOTES.length], ...extra },
  };
};

// The events, and which of them are sent twice.
const events = Array.from({ length: EVENTS }, (_, i) => item(i));
/** What one send is: a single event, a batch, or an event the engine must refuse with a 4xx. */
const sends = events.map((event) => ({ kind: "one", events: [event] }));
for (let i = 0; i < EVENTS * DUPLICATE_SHARE; i++) {
  sends.splice(Math.floor(Math.random() * sends.length), 0, { kind: "one", events: [events[Math.floor(Math.random() * EVENTS)]] });
}
const insert = (send) => sends.splice(Math.floor(Math.random() * sends.length), 0, send);
let n = EVENTS;
// Near the limits: a snapshot of ~240 KB of "€" (3 bytes each; the mirror keeps at most 256 KiB).
for (let i = 0; i < NEAR_LIMIT_EVENTS; i++) insert({ kind: "one", events: [item(n++, { note: "€".repeat(80_000) })] });
// Batches of 100 events of 1,000 CJK characters each: ~300 KB, more than one queue batch holds.
for (let b = 0; b < CJK_BATCHES; b++) {
  insert({ kind: "batch", events: Array.from({ length: 100 }, () => item(n++, { note: "在庫補充".repeat(250) })) });
}
// Never processable: refused at the door with a 4xx, nothing recorded.
// Written as text: JSON.stringify itself overflows its stack on values nested this deep.
const NESTED = "__nested__";
const withNested = (event, depth) => JSON.stringify(event).replace(`"${NESTED}"`, '{"v":'.repeat(depth) + "1" + "}".repeat(depth));
const refusals = [
  { why: "over 1 MiB", expect: [413], payload: item(n++, { note: "x".repeat(1_100_000) }) },
  { why: "nested 5,000 deep", expect: [400], payload: withNested(item(n++, { deep: NESTED }), 5_000) },
  { why: "snapshot over the mirror's limit", expect: [400], payload: item(n++, { note: "€".repeat(120_000) }) },
  { why: "one bad event in a batch of valid ones", expect: [400], payload: withNested({ events: [item(n++), item(n++, { deep: NESTED }), item(n++)] }, 2_000) },
];
for (const r of refusals) for (let k = 0; k < 2; k++) insert({ kind: "refuse", refusal: r });

const acceptedAt = new Map();
const refused = [];
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

/** A management call that the product answers once it is back (it may be down for a restart). */
async function managed(path, body) {
  for (;;) {
    try {
      return await api(base, path, { method: path.includes("/status") ? "POST" : "PUT", body: JSON.stringify(body) });
    } catch (err) {
      if (!/fetch failed|ECONNREFUSED|: 5\d\d /.test(String(err))) throw err;
      await sleep(250);
    }
  }
}
const churn = { savedAt: null, pausedAt: null, resumingAt: null };
const actions = [
  {
    at: SAVE_AT,
    run: async () => {
      const current = await api(base, `/api/workflows/${versioned.id}`);
      const def = current.definition;
      def.nodes[0].config.body.version = 2;
      await managed(`/api/workflows/${versioned.id}`, def);
      churn.savedAt = Date.now();
      console.log("drill: saved version 2 of the versioned workflow");
    },
  },
  {
    at: PAUSE_AT,
    run: async () => {
      await managed(`/api/workflows/${pausable.id}/status`, { status: "paused" });
      churn.pausedAt = Date.now();
      console.log("drill: paused the pausable workflow");
    },
  },
  {
    at: RESUME_AT,
    run: async () => {
      churn.resumingAt = Date.now();
      await managed(`/api/workflows/${pausable.id}/status`, { status: "active" });
      console.log("drill: activated the pausable workflow again");
    },
  },
];
const pendingActions = [];

// How many runs of the gated workflow are running at once, sampled through the whole drill.
let gatedMaxRunning = 0;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    try {
      const page = await api(base, `/api/runs?workflow_id=${gated.id}&status=running&limit=100`);
      gatedMaxRunning = Math.max(gatedMaxRunning, page.items.length);
    } catch {
      // down for a restart
    }
    await sleep(500);
  }
})();

const started = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: SENDERS }, async () => {
    while (next < sends.length) {
      const i = next++;
      const k = KILLS.findIndex((share) => Math.floor(share * sends.length) === i);
      if (k >= 0) killing = kill(k + 1);
      for (const a of actions) if (!a.started && Math.floor(a.at * sends.length) <= i) (a.started = true), pendingActions.push(a.run());
      const send = sends[i];
      if (send.kind === "refuse") {
        // Sent once, no retry: the answer must be the 4xx, whatever the runtime is doing.
        let r = await sendEvents(base, send.refusal.payload, { retry: false });
        // Connection refused while the runtime restarts is no answer: ask again.
        while (!r.ok && r.status === undefined) {
          await sleep(250);
          r = await sendEvents(base, send.refusal.payload, { retry: false });
        }
        refused.push({ why: send.refusal.why, status: r.ok ? 202 : r.status, ok: !r.ok && send.refusal.expect.includes(r.status) });
      } else {
        // A platform keeps sending until the engine says 202 (connection refused while it is down).
        const r = await sendEvents(base, send.kind === "batch" ? { events: send.events } : send.events[0]);
        if (r.ok) for (const e of send.events) if (!acceptedAt.has(e.id)) acceptedAt.set(e.id, r.at);
        if (!r.ok) refused.push({ why: "a valid send was refused", status: r.status, ok: false, body: r.body });
      }
      sent++;
    }
  }),
);
await killing;
await Promise.all(pendingActions);
console.log(`drill: ${sent} sends (${acceptedAt.size} distinct events accepted) in ${Math.round((Date.now() - started) / 1000)} s; waiting for runs`);

// Every accepted event should end as one completed run per workflow listening to it.
const churnEvents = new Set([...events, ...sends.flatMap((s) => s.events ?? [])].filter((e) => e.data.tags.includes("drill_churn")).map((e) => e.id));
const listens = (wf, eventId) => (wf !== versioned.id && wf !== gated.id) || churnEvents.has(eventId);
let expected = 0;
for (const id of acceptedAt.keys()) for (const wf of workflows) if (listens(wf, id)) expected++;
const deadline = Date.now() + SETTLE_TIMEOUT_MS;
let runs = [];
for (;;) {
  runs = (await Promise.all(workflows.map((id) => allRuns(base, id)))).flat();
  const finished = runs.filter((r) => r.status === "completed" || r.status === "failed").length;
  if (finished >= expected || Date.now() > deadline) break;
  await sleep(2000);
}

sampling = false;
await sampler;
const byPair = new Map();
for (const r of runs) {
  const key = `${r.workflow_id}:${r.event_id}`;
  byPair.set(key, (byPair.get(key) ?? 0) + 1);
}
let lost = 0;
for (const id of acceptedAt.keys()) for (const wf of workflows) if (listens(wf, id) && !byPair.has(`${wf}:${id}`)) lost++;
// The paused workflow: its runs are counted for duplicates, and none may start while it is paused.
const pausedRuns = await allRuns(base, pausable.id);
for (const r of pausedRuns) byPair.set(`${r.workflow_id}:${r.event_id}`, (byPair.get(`${r.workflow_id}:${r.event_id}`) ?? 0) + 1);
const startedWhilePaused = pausedRuns.filter((r) => {
  const t = Date.parse(r.started_at);
  return t > churn.pausedAt && t < churn.resumingAt;
}).length;
// Runs of the versioned workflow that started after the save must be on version 2, before it on 1.
const wrongVersion = runs.filter(
  (r) => r.workflow_id === versioned.id && (Date.parse(r.started_at) > churn.savedAt + 1000 ? r.workflow_version !== 2 : Date.parse(r.started_at) < churn.savedAt - 1000 && r.workflow_version !== 1),
).length;
const duplicates = [...byPair.values()].reduce((n, c) => n + (c - 1), 0);
const badRefusals = refused.filter((r) => !r.ok);
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
  duplicate_sends: Math.round(EVENTS * DUPLICATE_SHARE),
  refused_4xx: refused.filter((r) => r.ok).length,
  refused_wrongly: badRefusals.length,
  kills,
  runs_expected: expected,
  runs_started: byPair.size,
  runs_completed: runs.filter((r) => r.status === "completed").length,
  runs_failed: runs.filter((r) => r.status === "failed").length,
  duplicates,
  lost,
  started_while_paused: startedWhilePaused,
  paused_workflow_runs: pausedRuns.length,
  wrong_version: wrongVersion,
  // Runs still pending or running at the end: a leaked concurrency slot would leave some here.
  unfinished: runs.filter((r) => r.status !== "completed" && r.status !== "failed").length,
  gated_max_running: gatedMaxRunning,
  gated_allowed: GATED_CONCURRENCY * SHOPS,
  start_late_ms_p50: percentile(startLate, 50),
  start_late_ms_p99: percentile(startLate, 99),
  start_late_ms_max: startLate.length ? Math.max(...startLate) : null,
  wake_late_ms_p50: percentile(wakeLate, 50),
  wake_late_ms_max: wakeLate.length ? Math.max(...wakeLate) : null,
  failures,
  bad_refusals: badRefusals,
  webhook_requests_seen: Object.fromEntries(sink.counts),
};
await stopProduct(product);
sink.server.close();
await rm(persist, { recursive: true, force: true });
await mkdir("bench/results", { recursive: true });
const file = `bench/results/drill-${result.at.replaceAll(":", "-")}.json`;
await writeFile(file, JSON.stringify(result, null, 2) + "\n");
const { failures: failed, kills: killed, webhook_requests_seen: seen, bad_refusals: bad, ...figures } = result;
console.table([{ ...figures, kills: killed.length }]);
if (failed.length > 0) console.log("failed runs:", failed);
if (bad.length > 0) console.log("refusals that were not the expected 4xx:", bad);
console.log("webhook requests seen by the sink:", seen);
console.log(`drill: wrote ${file}`);
const gateHeld = gatedMaxRunning <= GATED_CONCURRENCY * SHOPS && result.unfinished === 0;
process.exit(lost === 0 && duplicates === 0 && startedWhilePaused === 0 && wrongVersion === 0 && badRefusals.length === 0 && gateHeld ? 0 : 1);
