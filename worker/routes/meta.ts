import { createRoute } from "@hono/zod-openapi";
import { config } from "../config";
import { CredentialsSchema, HealthSchema, MetricsSchema } from "../contract/meta";
import { snapshotCounters } from "../lib/metrics";
import { INBOX_SHARDS, inboxStub } from "../intake/shards";
import { jsonContent, router, commonErrors } from "./api";

export const metaApp = router();

metaApp.openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    summary: "Liveness; needs no token",
    security: [],
    responses: { 200: jsonContent(HealthSchema, "The Worker answers") },
  }),
  (c) => c.json({ ok: true as const, time: new Date().toISOString() }, 200),
);

metaApp.openapi(
  createRoute({
    method: "get",
    path: "/credentials",
    operationId: "listCredentials",
    summary: "Names of the webhook credentials",
    description: "The `CREDENTIAL_<NAME>` secrets by name; never their values.",
    responses: {
      200: jsonContent(CredentialsSchema, "Credential names"),
      ...commonErrors,
    },
  }),
  (c) => {
    const names = [...config(c.env).credentials.keys()].sort();
    return c.json({ items: names.map((name) => ({ name })), next_cursor: null }, 200);
  },
);

metaApp.openapi(
  createRoute({
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Counters of this isolate, and the inbox's backlog",
    description: "Counters since this isolate started (for the benchmark), and the events waiting in the inbox.",
    responses: {
      200: jsonContent(MetricsSchema, "Counters"),
      ...commonErrors,
    },
  }),
  async (c) => {
    const shards = await Promise.all(Array.from({ length: INBOX_SHARDS }, (_, i) => inboxStub(c.env, i).stats()));
    const oldest = shards.map((s) => s.oldest_ms).filter((v): v is number => v !== null);
    return c.json(
      {
        counters: snapshotCounters(),
        inbox: { pending: shards.reduce((n, s) => n + s.pending, 0), oldest_ms: oldest.length ? Math.max(...oldest) : null },
        isolate_started_at: startedAt,
      },
      200,
    );
  },
);

const startedAt = new Date().toISOString();
