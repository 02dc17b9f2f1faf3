// The pieces the browser tests stand on: free ports, the product under `npm start` in its own
// process group, a Chromium page that records console errors, signed events, and waiting.
// Standalone: nothing here comes from the benchmark (bench/).
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { freePort } from "../support/ports.mjs";
export { freePort };

/** The repository: where `npm start` runs and its .dev.vars lives. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The local secrets `npm start` serves with: .dev.vars, which it copies from .dev.vars.example
 * when missing, so the tests use whatever token and event secret the product was given.
 */
function devVars() {
  const file = join(ROOT, existsSync(join(ROOT, ".dev.vars")) ? ".dev.vars" : ".dev.vars.example");
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
const VARS = devVars();
/** The first of the accepted API tokens. */
export const TOKEN = VARS.API_TOKENS.split(",")[0].trim();
export const EVENTS_SECRET = VARS.EVENTS_SECRET;


/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitUntil(what, check, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(intervalMs);
  }
}

/**
 * `npm start` on a free port with a fresh state folder, in its own process group so that
 * stopping it also stops wrangler and workerd. Output goes to a log file, shown on failure.
 */
export async function startProduct() {
  const [port, inspector] = [await freePort(), await freePort()];
  const persist = await mkdtemp(join(tmpdir(), "e2e-state-"));
  const logPath = join(persist, "server.log");
  const log = createWriteStream(logPath);
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: String(port), PERSIST_TO: persist, INSPECTOR_PORT: String(inspector), CI: "1" },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 50 && !exited; i++) await sleep(100);
    if (!exited) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (!process.env.E2E_KEEP_STATE) await rm(persist, { recursive: true, force: true });
  };
  const tail = async (lines = 60) => (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-lines).join("\n");
  try {
    await waitUntil(
      "npm start to say it is ready",
      async () => {
        if (exited) throw new Error(`npm start exited early (${JSON.stringify(exited)})`);
        return (await readFile(logPath, "utf8")).includes("start: ready");
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- server log ---\n${await tail()}`);
  }
  return { base, port, persist, stop, tail };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/** A page whose console errors and uncaught exceptions are collected for the test to assert on. */
export async function openPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console.error: ${msg.text()} (${msg.location().url ?? ""})`);
  });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.setDefaultTimeout(20_000);
  return { context, page, errors };
}

export async function signIn(page, base) {
  await page.goto(`${base}/`);
  await page.getByRole("textbox", { name: "API token" }).fill(TOKEN);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("heading", { name: "Workflows", level: 1 }).waitFor();
}

/** Sends one event the way the platform does: Standard Webhooks signature over the raw body. */
export async function sendEvent(base, event) {
  const body = JSON.stringify(event);
  const msgId = `msg_${event.id}`;
  const now = new Date();
  const signature = new Webhook(EVENTS_SECRET).sign(msgId, now, body);
  const res = await fetch(`${base}/api/events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": msgId,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": signature,
    },
    body,
  });
  return { status: res.status, body: await res.text() };
}

/** A JSON call to the API with the token: `{ status, body }` (body null when the answer is not JSON). */
export async function apiCall(base, method, path, body) {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

export async function apiGet(base, path) {
  const res = await fetch(`${base}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}
