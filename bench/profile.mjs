// `node bench/profile.mjs`: a CPU profile of the hot path. Starts the product with workerd's
// inspector on a free port, sends a saturated load of condition → webhook → email runs, records
// a V8 CPU profile of the Worker's isolate through the inspector (Chrome DevTools Protocol), and
// prints the functions with the most self time. Loopback only; for the closing notes of issue 13.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startSink } from "../test/support/sink.ts";
import { api, createActive, freePort, sendEvents, startProduct, stopProduct } from "./lib.mjs";

const EVENTS = Number(process.env.PROFILE_EVENTS ?? 2000);
const sink = await startSink();
const persist = await mkdtemp(join(tmpdir(), "profile-state-"));
const inspector = await freePort();
const product = await startProduct({ port: await freePort(), persist, inspector });
const base = product.base;

const bucket = "profile";
await api(base, "/api/entities/inventory_item", {
  method: "PUT",
  body: JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: `inv_p_${i}`, variant_id: `var_${i % 50}`, shop_id: `shop_${i % 5}`, on_hand: 8, on_order: 0, target: 10, tags: [bucket] }))),
});
await createActive(base, {
  name: "Profile: condition → webhook → email",
  trigger: { entity: "inventory_item", tags: { include: [bucket] } },
  start: "low",
  nodes: [
    { id: "low", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "notify" },
    { id: "notify", type: "call_webhook", config: { url: `http://127.0.0.1:${sink.port}/${bucket}/hook`, body: { item: "{{trigger.entity_id}}" } }, next: "mail" },
    { id: "mail", type: "send_email", config: { to: ["planner@example.com"], subject: "Low stock: {{trigger.entity_id}}", body: "{{trigger.entity_id}} is low." } },
  ],
});

// The Worker's isolate: the inspector lists one target per service.
const targets = await (await fetch(`http://127.0.0.1:${inspector}/json`)).json();
const target = targets.find((t) => /edge-workflows|core:user/.test(`${t.title} ${t.id}`)) ?? targets[0];
// wrangler's inspector proxy wants an Origin header (Node's WebSocket sends none by itself).
const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: `http://127.0.0.1:${inspector}` } });
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = reject;
});
// One command at a time; the proxy renumbers ids, so an answer is the answer to the oldest command.
let nextId = 1;
const pending = [];
ws.onmessage = (m) => {
  const msg = JSON.parse(String(m.data));
  if (msg.id !== undefined && pending.length > 0) pending.shift()(msg);
};
const send = (method, params = {}) =>
  new Promise((resolve) => {
    pending.push(resolve);
    ws.send(JSON.stringify({ id: nextId++, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 200 });
await send("Profiler.start");
const t0 = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: 10 }, async () => {
    while (next < EVENTS) {
      next += 10;
      const events = Array.from({ length: 10 }, () => {
        const i = Math.floor(Math.random() * 500);
        return { id: `evt_${crypto.randomUUID()}`, type: "inventory_item.updated", entity_id: `inv_p_${i}`, occurred_at: new Date().toISOString(), data: { id: `inv_p_${i}`, variant_id: `var_${i % 50}`, shop_id: `shop_${i % 5}`, on_hand: 2, on_order: 0, target: 10, tags: [bucket] } };
      });
      await sendEvents(base, { events });
    }
  }),
);
for (let i = 0; i < 600; i++) {
  const m = await api(base, "/api/metrics");
  if ((m.counters.runs_completed ?? 0) >= EVENTS && m.inbox.pending === 0) break;
  await sleep(200);
}
const seconds = (Date.now() - t0) / 1000;
const { result } = await send("Profiler.stop");
ws.close();
await stopProduct(product);
sink.server.close();
await rm(persist, { recursive: true, force: true });

// Self time per function (name + file), from the samples.
const profile = result.profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = new Map();
profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const self = new Map();
let total = 0;
for (const [id, us] of dt) {
  const n = byId.get(id);
  const f = n.callFrame;
  const file = (f.url || "").split("/").slice(-2).join("/");
  const key = `${f.functionName || "(anonymous)"} ${file}${f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ""}`;
  self.set(key, (self.get(key) ?? 0) + us);
  total += us;
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 20);
await writeFile(`bench/results/profile-${new Date().toISOString().replaceAll(":", "-")}.cpuprofile`, JSON.stringify(profile));
console.log(`profile: ${EVENTS} runs in ${seconds.toFixed(1)} s; ${(total / 1e6).toFixed(2)} s of samples in the Worker's isolate`);
console.table(top.map(([fn, us]) => ({ function: fn, self_ms: Math.round(us / 1000), share: `${((us / total) * 100).toFixed(1)} %` })));
process.exit(0);
