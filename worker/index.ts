import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { config } from "./config";
import { AppError, respondError, toAppError } from "./errors";
import { jsonBodies, type AppEnv } from "./routes/api";
import { log, logError } from "./log";
import { apiReference, openApiDocument } from "./routes/docs";
import { metaApp } from "./routes/meta";
import { discountCodesApp } from "./routes/discount-codes";
import { entitiesApp } from "./routes/entities";
import { eventsApp } from "./routes/events";
import { staleEventsApp } from "./routes/stale-events";
import { plansApp } from "./routes/plans";
import { pushApp } from "./routes/push";
import { restocksApp } from "./routes/restocks";
import { runsApp } from "./routes/runs";
import { runStatsApp } from "./routes/run-stats";
import { runActionsApp } from "./routes/run-actions";
import { approvalsApp } from "./routes/approvals";
import { workflowsApp } from "./routes/workflows";
import { linksApp, runClicksApp } from "./routes/links";
import { backInStockApp } from "./routes/back-in-stock";
import { consumeEvents } from "./intake/consumer";
import { consumeDeadLetters, DEAD_EVENTS_QUEUE } from "./intake/dead-letters";
import { scheduled } from "./scheduled";

export { RunObject } from "./run/run-object";
export { InboxObject } from "./intake/inbox-object";
export { RestockObject } from "./restock/restock-object";
export { CapsObject } from "./flow/caps-object";
export { GateObject } from "./flow/gate-object";
export { BackfillObject } from "./backfill/backfill-object";

const KiB = 1024;
const MiB = 1024 * KiB;
const PUBLIC = new Set(["GET /api/health", "POST /api/events", "GET /api/openapi.json", "GET /api/docs", "GET /api/push/public-key"]);

const limit = (maxSize: number, what: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new AppError("payload_too_large", `${what} may be at most ${maxSize >= MiB ? `${maxSize / MiB} MiB` : `${maxSize / KiB} KiB`}`);
    },
  });

const app = new OpenAPIHono<AppEnv>();

app.use("/api/*", async (c, next) => {
  const started = performance.now();
  await next();
  log("request", { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) });
});

const encoder = new TextEncoder();
function tokenMatches(given: string, tokens: readonly string[]): boolean {
  const a = encoder.encode(given);
  // Compare against every token in constant time so timing says nothing about which one was close.
  return tokens.reduce((hit, t) => {
    const b = encoder.encode(t);
    return (a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b)) || hit;
  }, false);
}

app.use("/api/*", async (c, next) => {
  if (PUBLIC.has(`${c.req.method} ${c.req.path}`)) return next();
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError("unauthorized", "Send Authorization: Bearer <token>");
  if (!tokenMatches(match[1]!, config(c.env).API_TOKENS)) throw new AppError("unauthorized", "Unknown token");
  return next();
});

const eventsLimit = limit(1 * MiB, "A request of events");
const entitiesLimit = limit(32 * MiB, "A bulk upsert");
const defaultLimit = limit(256 * KiB, "A definition or other request body");
app.use("/api/*", (c, next) => {
  const path = c.req.path;
  if (path === "/api/events") return eventsLimit(c, next);
  if (path.startsWith("/api/entities/")) return entitiesLimit(c, next);
  return defaultLimit(c, next);
});
// After the size limits, so that only a body within them is read.
app.use("/api/*", jsonBodies);

app.route("/api", metaApp);
app.route("/api/workflows", workflowsApp);
app.route("/api/entities", entitiesApp);
app.route("/api/plans", plansApp);
app.route("/api/push", pushApp);
app.route("/api/restocks", restocksApp);
app.route("/api/discount-codes", discountCodesApp);
app.route("/api/events/stale", staleEventsApp);
app.route("/api/events", eventsApp);
app.route("/api", runStatsApp); // before the runs app: /runs/stats is not a run id
app.route("/api/runs", runsApp);
app.route("/api/runs", runClicksApp);
app.route("/api/runs", runActionsApp);
app.route("/api/approvals", approvalsApp);
app.route("/api/back-in-stock", backInStockApp);
// Tracked links (SPEC §12): public, outside /api (no auth, no JSON error bodies).
app.route("/l", linksApp);

app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "A token of API_TOKENS" });
app.get("/api/openapi.json", (c) => c.json(openApiDocument(app, new URL(c.req.url).origin)));
app.get("/api/docs", apiReference);

app.notFound((c) => respondError(c, new AppError("not_found", `No route for ${c.req.method} ${c.req.path}`)));
app.onError((err, c) => {
  const appError = toAppError(err);
  if (appError.status >= 500) logError("request", err, { method: c.req.method, path: c.req.path });
  return respondError(c, appError);
});

export { app, PUBLIC };

export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    if (batch.queue === DEAD_EVENTS_QUEUE) return consumeDeadLetters(batch, env);
    return consumeEvents(batch, env);
  },
  // The minute tick of wrangler.toml's Cron Trigger: retention (SPEC §16), and what else is due.
  scheduled,
} satisfies ExportedHandler<Env>;
