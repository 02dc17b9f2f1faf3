import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import { snapshotCounters } from "../lib/metrics";
import { INBOX_SHARDS, inboxStub } from "../intake/shards";
import { jsonContent, router, commonErrors } from "../lib/api";

export const metaApp = router();

metaApp.openapi(
  createRoute({
    method: "get",
    path: "/health",
    summary: "Liveness; needs no token",
    security: [],
    responses: { 200: jsonContent(z.object({ ok: z.literal(true), time: z.string() }), "The Worker answers") },
  }),
  (c) => c.json({ ok: true as const, time: new Date().toISOString() }, 200),
);

metaApp.openapi(
  createRoute({
    method: "get",
    path: "/credentials",
    summary: "Names of the webhook credentials (CREDENTIAL_<NAME> secrets); never their values",
    responses: {
      200: jsonContent(z.object({ items: z.array(z.object({ name: z.string() })), next_cursor: z.null() }), "Credential names"),
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
    summary: "Counters of this isolate since it started (for the benchmark) and events waiting in the inbox",
    responses: {
      200: jsonContent(
        z.object({
          counters: z.record(z.string(), z.number()),
          inbox: z.object({ pending: z.int(), oldest_ms: z.number().nullable() }),
          isolate_started_at: z.string(),
        }),
        "Counters",
      ),
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
