// Shared by the benchmark and the fault drill: start and stop the product, find free ports,
// sign events, read the CPU and memory of the runtime processes. Loopback only.
import { spawn } from "node:child_process";
import { openSync, readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { freePort } from "../test/support/ports.mjs";
export { freePort };

export const TOKEN = "dev-token";
export const EVENTS_SECRET = "whsec_bG9jYWwtZGV2LWV2ZW50cy1zZWNyZXQtMDAwMQ==";
const signer = new Webhook(EVENTS_SECRET);


/** `npm start` in its own process group, so that it can be killed as a whole (kill -9 -pgid). */
export async function startProduct({ port, persist, inspector, quiet = true, seed = false, logFile }) {
  const env = {
    ...process.env,
    PORT: String(port),
    PERSIST_TO: persist,
    INSPECTOR_PORT: String(inspector),
    WRANGLER_SEND_METRICS: "false",
    ...(seed ? {} : { SKIP_DEMO: "1" }),
  };
  const out = logFile ? openSync(logFile, "a") : quiet ? "ignore" : "inherit";
  const child = spawn("npm", ["start"], { env, detached: true, stdio: ["ignore", out, out] });
  const base = `http://127.0.0.1:${port}`;
  // Whatever ends this script (Ctrl-C, a timeout) ends the product too.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      process.exit(130);
    });
  }
  process.once("exit", () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) return { child, base, pgid: child.pid };
    } catch {}
    await sleep(100);
  }
  throw new Error("the product did not answer within 2 minutes");
}

export async function stopProduct(product, signal = "SIGTERM") {
  try {
    process.kill(-product.pgid, signal);
  } catch {}
  for (let i = 0; i < 100 && processTree(product.pgid).length > 0; i++) await sleep(100);
}

/** Pids in a process group (the product: npm, node/wrangler, workerd). */
export function processTree(pgid) {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), fields });
    } catch {}
  }
  return out;
}

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) and resident MiB of the product's processes, workerd apart. */
export function usage(pgid) {
  let cpu = 0;
  let workerdCpu = 0;
  let workerdRss = 0;
  let rss = 0;
  for (const p of processTree(pgid)) {
    const seconds = (Number(p.fields[11]) + Number(p.fields[12])) / TICKS;
    const pages = Number(p.fields[21]);
    const mib = (pages * 4096) / 1024 / 1024;
    cpu += seconds;
    rss += mib;
    if (p.comm.startsWith("workerd")) {
      workerdCpu += seconds;
      workerdRss += mib;
    }
  }
  return { cpu, rss, workerdCpu, workerdRss };
}

function signedHeaders(body, id = `msg_${crypto.randomUUID()}`) {
  const now = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": signer.sign(id, now, body),
  };
}

/** POST /api/events; retries 429 / 503 / connection errors the way a platform would. */
export async function sendEvents(base, payload, { retry = true } = {}) {
  // A string is sent as it is: JSON nested thousands deep overflows JSON.stringify's stack.
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${base}/api/events`, { method: "POST", body, headers: signedHeaders(body) });
      if (res.status === 202) return { ok: true, at: Date.now(), attempts: attempt + 1 };
      if (!retry || (res.status !== 429 && res.status < 500)) return { ok: false, status: res.status, body: await res.text() };
      const after = Number(res.headers.get("retry-after") ?? 1);
      await sleep(Math.min(after, 5) * 1000);
    } catch (err) {
      if (!retry) return { ok: false, error: String(err) };
      await sleep(250);
    }
  }
}

export async function api(base, path, init = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return json;
}

export async function createActive(base, definition) {
  const wf = await api(base, "/api/workflows", { method: "POST", body: JSON.stringify(definition) });
  await api(base, `/api/workflows/${wf.id}/status`, { method: "POST", body: JSON.stringify({ status: "active" }) });
  return wf;
}

/** Every run of a workflow from the D1 index. */
export async function allRuns(base, workflowId) {
  const out = [];
  let cursor = null;
  do {
    const page = await api(base, `/api/runs?workflow_id=${workflowId}&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
