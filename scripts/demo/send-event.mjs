#!/usr/bin/env node
// Sends one signed event (Standard Webhooks) that triggers one of the demo workflows, then shows
// where to follow it:
//
//   node scripts/demo/send-event.mjs restock|rebalance|markdown|back-in-stock [--url http://localhost:8787] [--token dev-token]
//
// restock        a sneaker size in a store drops to 1 unit        → "Restock low sneakers"
// rebalance      a store sells its last unit of a size             → "Rebalance sold-out sizes"
// markdown       a product is tagged end-of-season                 → "Mark down end-of-season products"
// back-in-stock  the most waited-for size is back in the online shop → "Back-in-stock notification"
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { backInStock } from "./back-in-stock.mjs";
import { fitsScenario, scenarioEvent, SCENARIOS } from "./data.mjs";

const DEFAULT_SECRET = "whsec_bG9jYWwtZGV2LWV2ZW50cy1zZWNyZXQtMDAwMQ==";

function usage(message) {
  if (message) console.error(message);
  console.error("usage: node scripts/demo/send-event.mjs restock|rebalance|markdown|back-in-stock [--url http://localhost:8787] [--token dev-token]");
  process.exit(2);
}

function option(args, name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1] ?? usage(`--${name} needs a value`);
  const inline = args.find((a) => a.startsWith(`--${name}=`));
  return inline ? inline.slice(name.length + 3) : fallback;
}

/** EVENTS_SECRET from .dev.vars (what `npm start` serves with), else the documented local default. */
function eventsSecret() {
  for (const file of [".dev.vars", new URL("../../.dev.vars", import.meta.url)]) {
    try {
      const line = readFileSync(file, "utf8")
        .split("\n")
        .find((l) => /^\s*EVENTS_SECRET\s*=/.test(l));
      if (line) return line.slice(line.indexOf("=") + 1).trim().replace(/^["']|["']$/g, "");
    } catch {}
  }
  return process.env.EVENTS_SECRET ?? DEFAULT_SECRET;
}

const args = process.argv.slice(2);
const scenario = args.find((a) => !a.startsWith("--") && args[args.indexOf(a) - 1]?.startsWith("--") !== true);
if (!scenario || !(scenario in SCENARIOS || scenario === "back-in-stock")) usage(scenario ? `unknown scenario "${scenario}"` : undefined);
const base = option(args, "url", process.env.BASE_URL ?? `http://localhost:${process.env.PORT ?? 8787}`).replace(/\/$/, "");
const token = option(args, "token", process.env.API_TOKEN ?? "dev-token");

async function api(path, init = {}) {
  let res;
  try {
    res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  } catch (err) {
    console.error(`Cannot reach ${base} (${err.cause?.code ?? err.message}). Is \`npm start\` running?`);
    process.exit(1);
  }
  const text = await res.text();
  if (!res.ok) {
    console.error(`${init.method ?? "GET"} ${path} answered ${res.status}: ${text.slice(0, 400)}`);
    process.exit(1);
  }
  return text ? JSON.parse(text) : undefined;
}

/** The first entity, in id order, that suits the scenario (demo ids are stable, so it is the same one every time until it changes). */
async function subject() {
  const { entity } = SCENARIOS[scenario];
  const tag = { restock: "sneakers", rebalance: "store", markdown: "aw26" }[scenario];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const res = await api(`/api/entities/${entity}?tag=${tag}&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    const hit = res.items.find((e) => fitsScenario(scenario, e));
    if (hit) return api(`/api/entities/${entity}/${encodeURIComponent(hit.id)}`);
    cursor = res.next_cursor;
    if (!cursor) break;
  }
  console.error(`No ${entity} suits the ${scenario} scenario. Is the demo data loaded (npm start on an empty database)?`);
  process.exit(1);
}

/** Sends one event to POST /api/events, signed as the platform signs it; exits unless it is accepted. */
async function send(event) {
  const body = JSON.stringify(event);
  const now = new Date();
  const signature = new Webhook(eventsSecret()).sign(event.id, now, body);
  let res;
  try {
    res = await fetch(`${base}/api/events`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": signature,
      },
    });
  } catch (err) {
    console.error(`Cannot reach ${base} (${err.cause?.code ?? err.message}). Is \`npm start\` running?`);
    process.exit(1);
  }
  if (res.status !== 202) {
    console.error(`POST /api/events answered ${res.status}: ${(await res.text()).slice(0, 400)}`);
    if (res.status === 401) console.error("The signature was refused: is EVENTS_SECRET in .dev.vars the one the server runs with?");
    process.exit(1);
  }
}

if (scenario === "back-in-stock") {
  await backInStock({ api, send, base, token });
  process.exit(0);
}

const { workflow: workflowName, plan_kind: planKind } = SCENARIOS[scenario];
const before = await subject();
const event = scenarioEvent(scenario, before);
await send(event);

const change =
  scenario === "markdown"
    ? `tags ${JSON.stringify(before.tags)} → ${JSON.stringify(event.data.tags)}`
    : `on_hand ${before.on_hand} → ${event.data.on_hand} (shop ${before.shop_id}, size ${before.variant_id})`;
console.log(`Sent ${event.type} ${event.id} for ${event.entity_id}: ${change}`);

const workflows = await api("/api/workflows?limit=500");
const wf = workflows.items.find((w) => w.name === workflowName);
if (!wf) {
  console.log(`No workflow is named "${workflowName}"; the event is recorded but may start nothing.`);
  process.exit(0);
}
console.log(`It triggers "${workflowName}" (${wf.id}, ${wf.status}).`);

// Follow the run for a few seconds: the queue consumer starts it shortly after the 202.
let run;
for (let i = 0; i < 30 && !run; i++) {
  await sleep(500);
  const runs = await api(`/api/runs?workflow_id=${wf.id}&limit=20`);
  run = runs.items.find((r) => r.event_id === event.id);
}
let steps = [];
if (run) {
  for (let i = 0; i < 30 && !["completed", "failed", "cancelled"].includes(run.status); i++) {
    await sleep(500);
    run = await api(`/api/runs/${run.id}`);
  }
  console.log(`Run ${run.id}: ${run.status}${run.error ? ` (${run.error})` : ""}`);
  steps = (await api(`/api/runs/${run.id}`)).steps ?? [];
  for (const step of steps) {
    const out = step.output && typeof step.output === "object" ? ` ${JSON.stringify(step.output).slice(0, 200)}` : "";
    console.log(`  ${step.node_id.padEnd(10)} ${step.status}${out}`);
  }
} else {
  console.log("No run yet: the consumer may still be starting it, or the trigger's conditions did not match.");
}

// The plan this run wrote to: the create_or_get_plan step's output names it; else the newest open plan of the kind.
const planStep = steps.find((s) => s.type === "create_or_get_plan" && s.output?.plan_id);
const plans = await api(`/api/plans?kind=${planKind}&status=open&limit=5`);
const plan = plans.items.find((p) => p.id === planStep?.output.plan_id) ?? plans.items[0];
const ui = (path) => `${base}${path}`;
console.log(`\nOpen in the browser (API token: ${token}):`);
console.log(`  the run       ${run ? ui(`/runs/${encodeURIComponent(run.id)}`) : ui(`/runs?workflow_id=${encodeURIComponent(wf.id)}`)}`);
if (plan) console.log(`  the plan      ${ui(`/plans/${encodeURIComponent(plan.id)}`)}   (${plan.name}: ${plan.item_count} lines, ${plan.total_quantity} units)`);
else console.log(`  the plans     ${ui(`/plans?kind=${planKind}`)}`);
console.log(`  the workflow  ${ui(`/workflows/${encodeURIComponent(wf.id)}`)}`);
