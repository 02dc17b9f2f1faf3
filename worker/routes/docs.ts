import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppEnv } from "./api";

/*
 * The API's description: the OpenAPI document the routes declare (GET /api/openapi.json), and
 * Scalar's API reference over it (GET /api/docs) — navigation, search, examples and "Try it"
 * against this server with a bearer token. Its script is served from our own assets
 * (scripts/build-ui.mjs copies it from @scalar/api-reference), so the page works offline.
 */

/** Where the UI build puts Scalar's standalone bundle (ui/dist, served as static assets). */
export const SCALAR_BUNDLE = "/vendor/scalar/standalone.js";

/** The resources, in the order the reference lists them; an operation's is the first segment after /api. */
const TAGS: { name: string; segments: string[]; description: string }[] = [
  { name: "Workflows", segments: ["workflows"], description: "Definitions and their versions, status, test runs, previews, flow-control stats, backfills and schedules." },
  { name: "Runs", segments: ["runs"], description: "Runs and their steps: cancel, retry from a step, approval decisions, sent messages, tracked clicks." },
  { name: "Events", segments: ["events"], description: "The platform's signed events (no bearer token), and the ones refused, dead-lettered or stale." },
  { name: "Entities", segments: ["entities"], description: "The mirror of the platform's data: bulk upserts and reads." },
  { name: "Plans", segments: ["plans"], description: "Restock, rebalance and markdown plans built by runs." },
  { name: "Approvals", segments: ["approvals"], description: "Approval steps waiting for, or given, a decision." },
  { name: "Back in stock", segments: ["back-in-stock", "restocks", "push", "discount-codes"], description: "Restock episodes, notifications and their outcome, Web Push, discount codes." },
  { name: "Service", segments: ["health", "credentials", "metrics"], description: "Liveness, credential names, counters." },
];

const DESCRIPTION = `Every route under \`/api\` takes \`Authorization: Bearer <token>\` (a token of \`API_TOKENS\`; locally \`dev-token\`) unless it says otherwise.
\`POST /api/events\` is signed instead (Standard Webhooks with \`EVENTS_SECRET\`).

Errors are always \`{"error": {"code", "message", "issues": [{"path", "message"}]}}\`. Lists page with \`?limit=&cursor=\` and answer \`{"items", "next_cursor"}\`.

The machine-readable document: [/api/openapi.json](/api/openapi.json).`;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** The document for a request to `origin`: "Try it" sends to the server that served it. */
export function openApiDocument(app: OpenAPIHono<AppEnv>, origin: string) {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "Edge workflows", version: "1", description: DESCRIPTION },
    servers: [{ url: origin, description: "This server" }],
    security: [{ bearer: [] }],
    tags: TAGS.map(({ name, description }) => ({ name, description })),
  });
  // In path order (a resource's list and create first, then its members), each path's methods in
  // METHODS order, each operation under its resource's tag: the order the reference lists them in.
  const paths: NonNullable<typeof doc.paths> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const segment = path.split("/")[2] ?? "";
    const tag = TAGS.find((t) => t.segments.includes(segment))?.name ?? "Service";
    const { get: _g, post: _po, put: _pu, patch: _pa, delete: _d, ...rest } = item;
    const ordered: typeof item = { ...rest };
    for (const method of METHODS) {
      const op = item[method];
      if (op) ordered[method] = { ...op, tags: op.tags?.length ? op.tags : [tag] };
    }
    paths[path] = ordered;
  }
  return { ...doc, paths };
}

export const apiReference = Scalar({
  url: "/api/openapi.json",
  cdn: SCALAR_BUNDLE,
  pageTitle: "Edge workflows — API reference",
  // Nothing from elsewhere: no web fonts, no telemetry, no hosted services.
  withDefaultFonts: false,
  telemetry: false,
  mcp: { disabled: true },
  agent: { disabled: true },
  // The client's "open in a new tab" leads to client.scalar.com; "Try it" in the page stays here.
  hideClientButton: true,
  showDeveloperTools: "never",
  authentication: { preferredSecurityScheme: "bearer" },
  persistAuth: true,
  defaultOpenFirstTag: true,
});
