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
const env = {
  ...process.env,
  PATH: path,
  WRANGLER_SEND_METRICS: "false",
  // No Request.cf fetch from Cloudflare at start: offline it only prints stack traces; the fallback is fine locally.
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // No dev registry (the machine-wide folder where every `wrangler dev` lists its Workers and queue
  // consumers): this Worker binds no other, and each change there printed the bindings table again,
  // the first of them being this Worker's own registration.
  WRANGLER_REGISTRY_PATH: "",
  CI: process.env.CI ?? "1",
};
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
// One line for the migrations, instead of wrangler's table per migration; all of it if they fail.
const migrated = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", ...persist], { env, encoding: "utf8" });
if (migrated.status !== 0) {
  process.stdout.write(migrated.stdout ?? "");
  process.stderr.write(migrated.stderr ?? "");
  console.error("start: the D1 migrations failed");
  process.exit(migrated.status ?? 1);
}
const pending = (migrated.stdout.split("About to apply")[0] ?? "").match(/\d{4}_[\w-]+\.sql/g) ?? [];
const named = pending.length > 3 ? `${pending[0]} … ${pending.at(-1)}` : pending.join(", ");
console.log(pending.length > 0 ? `start: applied ${pending.length} D1 migration${pending.length === 1 ? "" : "s"} (${named})` : "start: the local D1 database is up to date");

const inspector = process.env.INSPECTOR_PORT ? ["--inspector-port", process.env.INSPECTOR_PORT] : [];
// --test-scheduled: wrangler's warning that Cron Triggers do not fire locally would be wrong, as we fire them (below).
const devArgs = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled", ...persist, ...inspector];
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
let demoHint = false;
if (existsSync("scripts/demo/seed.mjs") && !process.env.SKIP_DEMO) {
  // The demo customers' browsers: a local Web Push service (RFC 8030) their push subscriptions
  // point at, which prints each notification it decrypts. DEMO_PUSH_PORT moves it (set it before
  // the first start: the subscriptions keep the address they were loaded with).
  const { startPushService } = await import("./demo/push-service.mjs");
  const { DEMO_PUSH_PORT, demoPushOrigin } = await import("./demo/push-keys.mjs");
  const pushPort = Number(process.env.DEMO_PUSH_PORT ?? DEMO_PUSH_PORT);
  const push = await startPushService({ port: pushPort });
  console.log(
    push
      ? `start: demo push service on ${push.origin} (GET / lists what it received)`
      : `start: port ${pushPort} is taken: demo pushes go to whatever listens there (another npm start's push service accepts them too)`,
  );
  const { seedIfEmpty } = await import("./demo/seed.mjs");
  // The events secret the server checks: the seed sends the demo's purchases as signed order.created events.
  const secret = readFileSync(".dev.vars", "utf8").match(/^\s*EVENTS_SECRET\s*=\s*["']?([^"'\n]+?)["']?\s*$/m)?.[1];
  try {
    // When it loads, the seed says how to send a demo event; else the ready line below does.
    demoHint = !(await seedIfEmpty(base, "dev-token", { eventsSecret: secret, pushOrigin: demoPushOrigin(pushPort) })).loaded;
  } catch (err) {
    console.error(`start: demo data not loaded: ${err.message}`);
  }
}

/**
 * `wrangler dev` does not fire Cron Triggers: this fires wrangler.toml's minute tick at the start of
 * every minute, with that minute as its time, so that schedules and retention run as deployed.
 */
function tickEveryMinute() {
  const at = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
  setTimeout(async () => {
    try {
      const res = await fetch(`${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${at}`);
      if (!res.ok) console.error(`start: the minute tick of ${new Date(at).toISOString()} failed (${res.status}); the Worker's log says why`);
    } catch (err) {
      console.error(`start: the minute tick of ${new Date(at).toISOString()} could not be sent: ${err.cause?.code ?? err.message}`);
    }
    tickEveryMinute();
  }, at - Date.now());
}
tickEveryMinute();

console.log(`start: ready on http://localhost:${port} (API token: dev-token)`);
console.log("start: the Cron Trigger's minute tick (schedules, retention) is fired by npm start at the start of every minute: wrangler dev does not fire it");
if (demoHint) console.log(`start: send a demo event with: ${port === 8787 ? "" : `PORT=${port} `}npm run demo:event -- restock (or rebalance, markdown, back-in-stock)`);
