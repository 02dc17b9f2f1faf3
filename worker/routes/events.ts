import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import { AppError, validationError } from "../errors";
import { acceptEvents } from "../intake/accept";
import { readDeadBody } from "../intake/dead-letters";
import { EntityEventSchema, parseEvents } from "../intake/envelope";
import { commonErrors, errorResponse, jsonContent, router } from "../lib/api";
import { MAX_JSON_DEPTH, parseJson } from "../lib/json";
import { decodeCursor, encodeCursor, pageSchema, PageQuerySchema } from "../lib/paging";
import { verifyStandardWebhook } from "../lib/signature";
import { log } from "../log";

export const eventsApp = router();

const EventSchema = z
  .object({
    id: z.string().openapi({ example: "evt_01JD8X" }),
    type: z.string().openapi({ example: "inventory_item.updated" }),
    entity_id: z.string().openapi({ example: "inv_42" }),
    occurred_at: z.string().openapi({ example: "2026-11-22T10:00:00Z" }),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Event");

eventsApp.openAPIRegistry.registerPath({
  method: "post",
  path: "/",
  summary: "Receive entity events from the platform (Standard Webhooks signature, no bearer token)",
  description:
    "One event or {\"events\": [...]} (at most 500, 1 MiB). The signature covers the body's exact bytes; the body is UTF-8 JSON (a leading byte order mark is dropped), each event's data at most 256 KiB and 64 levels deep. 202 once recorded durably and queued: an accepted event is never lost, and the same id twice starts each workflow once.",
  security: [],
  request: {
    headers: z.object({ "webhook-id": z.string(), "webhook-timestamp": z.string(), "webhook-signature": z.string() }),
    body: { content: { "application/json": { schema: z.union([EventSchema, z.object({ events: z.array(EventSchema) })]) } } },
  },
  responses: {
    202: jsonContent(z.object({ accepted: z.int() }), "Recorded and queued"),
    400: errorResponse("Not UTF-8 JSON, or an event that is not valid (named by its index); nothing was recorded"),
    401: errorResponse("Missing, wrong or stale signature; nothing was recorded"),
    413: errorResponse("Over 1 MiB"),
    429: errorResponse("Too many events waiting; try again after Retry-After seconds"),
  },
});

/** Strict: a body that is not UTF-8 is refused, not patched with U+FFFD. A leading BOM is dropped. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
/**
 * Bodies nesting deeper than this are refused whole. The cap leaves room above an event's own
 * limit (MAX_JSON_DEPTH for its data, plus the levels of `{"events": [{"data": …}]}`), so an event
 * nested a little too deep is named by its index; nothing that deep is a plausible entity.
 */
const BODY_DEPTH = 2 * MAX_JSON_DEPTH;

eventsApp.post("/", async (c) => {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const verified = await verifyStandardWebhook(config(c.env).EVENTS_SECRET, c.req.raw.headers, bytes, Date.now());
  if (!verified.ok) throw new AppError("unauthorized", verified.reason);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError("bad_request", "The body is not valid UTF-8");
  }
  const json = parseJson(text, BODY_DEPTH);
  if (!json.ok) throw new AppError("bad_request", json.message);
  const parsed = parseEvents(json.value);
  if (!parsed.ok) throw validationError(parsed.issues, "Some events are not valid; none were recorded");
  const accepted = await acceptEvents(c.env, parsed.events);
  return c.json({ accepted }, 202);
});

const DeadEventSchema = z
  .object({
    id: z.string(),
    event_id: z.string().nullable(),
    event: z.unknown(),
    error: z.string(),
    attempts: z.int(),
    dead_at: z.string(),
  })
  .openapi("DeadEvent");

const DeadRowSchema = z.object({ id: z.string(), event_id: z.string().nullable(), body: z.string(), attempts: z.int(), dead_at: z.string() });
type DeadRow = z.infer<typeof DeadRowSchema>;

const deadView = (r: DeadRow) => ({ id: r.id, event_id: r.event_id, ...readDeadBody(r.body), attempts: r.attempts, dead_at: r.dead_at });

eventsApp.openapi(
  createRoute({
    method: "get",
    path: "/dead",
    summary: "Events the consumer gave up on, newest first (replayed ones are left out)",
    request: { query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(DeadEventSchema), "A page of dead events"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const { results } = await c.env.DB.prepare(
      `SELECT id, event_id, body, attempts, dead_at FROM dead_events WHERE replayed_at IS NULL
       ${after ? "AND (dead_at, id) < (?, ?)" : ""} ORDER BY dead_at DESC, id DESC LIMIT ?`,
    )
      .bind(...(after ?? []), q.limit + 1)
      .all();
    const rows = z.array(DeadRowSchema).parse(results);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json({ items: page.map(deadView), next_cursor: rows.length > q.limit && last ? encodeCursor([last.dead_at, last.id]) : null }, 200);
  },
);

const ReplayRowSchema = DeadRowSchema.extend({ replayed_at: z.string().nullable() });

eventsApp.openapi(
  createRoute({
    method: "post",
    path: "/dead/{id}/replay",
    summary: "Send a dead event through the engine again",
    request: { params: z.object({ id: z.string().min(1).max(300).openapi({ param: { name: "id", in: "path" } }) }) },
    responses: {
      202: jsonContent(z.object({ replayed: z.literal(true), event_id: z.string() }), "Recorded and queued again"),
      ...commonErrors,
      404: errorResponse("No dead event has this id"),
      409: errorResponse("Already replayed, or nothing to replay"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const found = await c.env.DB.prepare("SELECT id, event_id, body, attempts, dead_at, replayed_at FROM dead_events WHERE id = ?").bind(id).first();
    const row = found === null ? null : ReplayRowSchema.parse(found);
    if (!row) throw new AppError("not_found", `No dead event has the id ${id}`);
    if (row.replayed_at) throw new AppError("conflict", `This event was already replayed at ${row.replayed_at}`);
    const stored = EntityEventSchema.safeParse(deadView(row).event);
    if (!stored.success) throw new AppError("conflict", "This message held no event to replay");
    // Through the intake's own checks, so that a replay records only what can be processed.
    const { id: eventId, type, entity_id, occurred_at, data } = stored.data;
    const again = parseEvents({ id: eventId, type, entity_id, occurred_at, data });
    if (!again.ok) throw new AppError("conflict", "This event can never be processed; it was not replayed", { issues: again.issues });
    await acceptEvents(c.env, again.events);
    await c.env.DB.prepare("UPDATE dead_events SET replayed_at = ? WHERE id = ?").bind(new Date().toISOString(), id).run();
    log("event_replayed", { id, event_id: eventId });
    return c.json({ replayed: true as const, event_id: eventId }, 202);
  },
);
