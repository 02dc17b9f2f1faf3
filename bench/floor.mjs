// The floor of our design, measured by `npm run bench` under the same `wrangler dev` as the product:
// bench/floor/ is a bare Worker whose queue consumer (batches of 100, fed 10 messages per request)
// creates a Durable Object per message and writes one row; called directly, one new object and one
// row per request. Whatever the product does per run beyond that is ours to justify.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, percentile, usage } from "./lib.mjs";

async function startFloor() {
  const port = await freePort();
  const persist = await mkdtemp(join(tmpdir(), "floor-state-"));
  const path = [resolve("node_modules/.bin"), dirname(process.execPath), process.env.PATH].join(delimiter);
  const env = { ...process.env, PATH: path, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" };
  const args = ["dev", "-c", "bench/floor/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persist, "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false"];
  const child = spawn("node_modules/.bin/wrangler", args, { env, detached: true, stdio: "ignore" });
  process.once("exit", () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1200; i++) {
    try {
      if ((await fetch(`${base}/count`)).ok) return { child, base, pgid: child.pid, persist };
    } catch {}
    await sleep(100);
  }
  throw new Error("the floor Worker did not start");
}

async function stopFloor(floor) {
  try {
    process.kill(-floor.pgid, "SIGTERM");
  } catch {}
  await sleep(500);
  try {
    process.kill(-floor.pgid, "SIGKILL");
  } catch {}
  await rm(floor.persist, { recursive: true, force: true });
}

const count = async (base, reset = false) => (await fetch(`${base}/count${reset ? "?reset" : ""}`)).json();

/** Runs of the floor: saturated through the queue, then direct calls at 1 and 50 connections. */
export async function benchFloor({ messages = 3000, senders = 10, direct = 400 } = {}) {
  const floor = await startFloor();
  try {
    const { base, pgid } = floor;
    // Warm up: the first objects and the first queue batch pay for compilation.
    for (let i = 0; i < 5; i++) await fetch(`${base}/send?n=10`);
    while ((await count(base)).consumed < 50) await sleep(50);
    const start = (await count(base, true)).consumed;

    const u0 = usage(pgid);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: senders }, async () => {
        while (next < messages) {
          next += 10;
          await fetch(`${base}/send?n=10`);
        }
      }),
    );
    let c;
    for (;;) {
      c = await count(base);
      if (c.consumed - start >= messages) break;
      await sleep(20);
    }
    const seconds = (Date.now() - t0) / 1000;
    const u1 = usage(pgid);
    const queue = {
      runs: messages,
      runs_per_second: Math.round((messages / seconds) * 10) / 10,
      latency_ms_p50: percentile(c.latencies, 50),
      workerd_cpu_s_per_1000_runs: Math.round(((u1.workerdCpu - u0.workerdCpu) / messages) * 1000 * 100) / 100,
      all_processes_cpu_s_per_1000_runs: Math.round(((u1.cpu - u0.cpu) / messages) * 1000 * 100) / 100,
    };

    const directAt = async (connections, total) => {
      const times = [];
      const t = Date.now();
      let k = 0;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (k < total) {
            k++;
            const s = performance.now();
            await (await fetch(`${base}/direct`)).text();
            times.push(performance.now() - s);
          }
        }),
      );
      return { connections, requests: total, per_second: Math.round((total / ((Date.now() - t) / 1000)) * 10) / 10, latency_ms_p50: Math.round(percentile(times, 50) * 10) / 10 };
    };
    return { queue, direct: [await directAt(1, direct), await directAt(50, direct * 5)] };
  } finally {
    await stopFloor(floor);
  }
}
