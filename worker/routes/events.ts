import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import { AcceptedSchema, DeadEventSchema, EventSchema, RefusedEventSchema, ReplayedSchema } from "../contract/event";
import { PageQuerySchema, pageSchema } from "../contract/page";
import { AppError, validationError } from "../errors";
import { acceptEvents } from "../intake/accept";
import { readDeadBody } from "../intake/dead-letters";
import { listRefusals, recordRefusal } from "../intake/refusals";
import { EntityEventSchema, parseEvents } from "../intake/envelope";
import { commonErrors, errorResponse, jsonContent, router } from "./api";
import { eventExamples } from "./examples";
import { MAX_JSON_DEPTH, parseJson } from "../lib/json";
import { readPage } from "./paging";
import { verifyStandardWebhook } from "../lib/signature";
import { log } from "../log";

export const eventsApp = router();

const Event = EventSchema.openapi("Event");

eventsApp.openAPIRegistry.registerPath({
  method: "post",
  path: "/",
  operationId: "receiveEvents",
  summary: "Receive entity events (signed, no bearer token)",
  description:
    "From the platform, signed with Standard Webhooks (`EVENTS_SECRET`). One event or {\"events\": [...]} (at most 500, 1 MiB). The signature covers the body's exact bytes; the body is UTF-8 JSON (a leading byte order mark is dropped), each event's data at most 256 KiB and 64 levels deep. 202 once recorded durably and queued: an accepted event is never lost, and the same id twice starts each workflow once.",
  security: [],
  request: {
    headers: z.object({ "webhook-id": z.string(), "webhook-timestamp": z.string(), "webhook-signature": z.string() }),
    // One event, or a batch of up to 500.
    body: { content: { "application/json": { schema: z.union([Event, z.object({ events: z.array(Event) })]), examples: eventExamples } } },
  },
  responses: {
    202: jsonContent(AcceptedSchema, "Recorded and queued"),
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
  try {
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
  } catch (err) {
    // Every refusal is kept for the events page (GET /api/events/refused), then answered as it was.
    if (err instanceof AppError && err.status < 500) {
      await recordRefusal(c.env.DB, {
        status: err.status,
        code: err.code,
        reason: err.message,
        issues: err.issues ?? [],
        webhookId: c.req.header("webhook-id") ?? null,
        signed: verified.ok,
        body: bytes,
      });
    }
    throw err;
  }
});

eventsApp.openapi(
  createRoute({
    method: "get",
    path: "/refused",
    operationId: "listRefusedEvents",
    summary: "List refused event requests, newest first",
    description:
      "Requests POST /api/events answered with 400, 401 or 429: the reason and issues; when the signature held, the events' ids, types and entities and the body's first 1,024 characters. The last 500 are kept.",
    request: { query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(RefusedEventSchema.openapi("RefusedEvent")), "A page of refused requests"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (after, limit) => listRefusals(c.env.DB, after, limit), { schema: z.string(), of: (r) => r.id });
    return c.json(page, 200);
  },
);

const DeadRowSchema = z.object({ id: z.string(), event_id: z.string().nullable(), body: z.string(), attempts: z.int(), dead_at: z.string() });
type DeadRow = z.infer<typeof DeadRowSchema>;

/** Dead events not replayed yet, newest first, after the key (dead_at, id). */
async function deadRows(d1: D1Database, after: [string, string] | undefined, limit: number): Promise<DeadRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT id, event_id, body, attempts, dead_at FROM dead_events WHERE replayed_at IS NULL
       ${after ? "AND (dead_at, id) < (?, ?)" : ""} ORDER BY dead_at DESC, id DESC LIMIT ?`,
    )
    .bind(...(after ?? []), limit)
    .all();
  return z.array(DeadRowSchema).parse(results);
}

const deadView = (r: DeadRow) => ({ id: r.id, event_id: r.event_id, ...readDeadBody(r.body), attempts: r.attempts, dead_at: r.dead_at });

eventsApp.openapi(
  createRoute({
    method: "get",
    path: "/dead",
    operationId: "listDeadEvents",
    summary: "List dead events, newest first",
    description: "Events the consumer gave up on; replayed ones are left out.",
    request: { query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(DeadEventSchema.openapi("DeadEvent")), "A page of dead events"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (after, limit) => deadRows(c.env.DB, after, limit), {
      schema: z.tuple([z.string(), z.string()]),
      of: (r): [string, string] => [r.dead_at, r.id],
    });
    return c.json({ items: page.items.map(deadView), next_cursor: page.next_cursor }, 200);
  },
);

const ReplayRowSchema = DeadRowSchema.extend({ replayed_at: z.string().nullable() });

eventsApp.openapi(
  createRoute({
    method: "post",
    path: "/dead/{id}/replay",
    operationId: "replayDeadEvent",
    summary: "Send a dead event through the engine again",
    request: { params: z.object({ id: z.string().min(1).max(300).openapi({ param: { name: "id", in: "path" } }) }) },
    responses: {
      202: jsonContent(ReplayedSchema, "Recorded and queued again"),
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
    // Claimed before it is queued: of two replays at once, one queues the event and the other is a 409.
    const at = new Date().toISOString();
    const claim = await c.env.DB.prepare("UPDATE dead_events SET replayed_at = ? WHERE id = ? AND replayed_at IS NULL").bind(at, id).run();
    if (claim.meta.changes === 0) throw new AppError("conflict", "This event is being replayed or was just replayed");
    try {
      await acceptEvents(c.env, again.events);
    } catch (err) {
      // Not queued: the dead event stays listed, to be replayed again.
      await c.env.DB.prepare("UPDATE dead_events SET replayed_at = NULL WHERE id = ? AND replayed_at = ?").bind(id, at).run();
      throw err;
    }
    log("event_replayed", { id, event_id: eventId });
    return c.json({ replayed: true as const, event_id: eventId }, 202);
  },
);
