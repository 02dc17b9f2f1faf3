import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
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
