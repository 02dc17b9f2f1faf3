// `npm start`: build the UI, apply D1 migrations locally, serve UI and API under `wrangler dev`
// on http://localhost:$PORT (8787), and load the demo data set into an empty database.
// State persists in .wrangler/state between runs.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const port = Number(process.env.PORT ?? 8787);
// Node 22 from node_modules (the `node` devDependency) runs wrangler, whatever node started us.
const path = [resolve("node_modules/.bin"), dirname(process.execPath), process.env.PATH].join(delimiter);
// No Request.cf fetch from Cloudflare at start: offline it only prints stack traces; the fallback is fine locally.
const env = { ...process.env, PATH: path, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: process.env.CI ?? "1" };
const bin = (name) => `node_modules/.bin/${name}`;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`start: ${cmd} ${args.join(" ")} failed`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("start: created .dev.vars from .dev.vars.example (local defaults)");
} else {
  // A .dev.vars made before a new setting existed gets that setting's local default; values the
  // user set are never changed.
  const have = new Set(readFileSync(".dev.vars", "utf8").split("\n").map((l) => l.split("=")[0].trim()));
  const missing = readFileSync(".dev.vars.example", "utf8")
    .split("\n")
    .filter((l) => /^[A-Z0-9_]+=/.test(l) && !have.has(l.split("=")[0]));
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n${missing.join("\n")}\n`);
    console.log(`start: added to .dev.vars the local defaults of ${missing.map((l) => l.split("=")[0]).join(", ")}`);
  }
}
run(process.execPath, ["scripts/build-ui.mjs"]);
// PERSIST_TO lets tests, the benchmark and the drill run on a state folder of their own.
const persist = process.env.PERSIST_TO ? ["--persist-to", process.env.PERSIST_TO] : [];
run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", ...persist]);

const inspector = process.env.INSPECTOR_PORT ? ["--inspector-port", process.env.INSPECTOR_PORT] : [];
const devArgs = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false", ...persist, ...inspector];
const dev = spawn(bin("wrangler"), devArgs, {
  stdio: ["ignore", "inherit", "inherit"],
  env,
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  try {
    if ((await fetch(`${base}/api/health`)).ok) break;
  } catch {}
  await sleep(100);
}
// SKIP_DEMO=1 (the benchmark and the drill) starts on an empty database.
if (existsSync("scripts/demo/seed.mjs") && !process.env.SKIP_DEMO) {
  const { seedIfEmpty } = await import("./demo/seed.mjs");
  try {
    await seedIfEmpty(base, "dev-token");
  } catch (err) {
    console.error(`start: demo data not loaded: ${err.message}`);
  }
}
console.log(`start: ready on http://localhost:${port} (API token: dev-token)`);
