import { createRoute, z } from "@hono/zod-openapi";
import { commonErrors, jsonContent, router } from "../lib/api";
import { parseJson } from "../lib/json";
import { decodeCursor, encodeCursor, pageSchema, PageQuerySchema } from "../lib/paging";

/**
 * Events that arrived after a newer one for the same entity (by occurred_at, then event id): the
 * mirror kept the newer snapshot, and the workflows they matched started no run unless their
 * trigger says `stale_events: "run"`. Recorded by the queue consumer, newest first.
 */
export const staleEventsApp = router();

const StaleEventSchema = z
  .object({
    event_id: z.string(),
    type: z.string().openapi({ example: "inventory_item.updated" }),
    entity: z.string(),
    entity_id: z.string(),
    occurred_at: z.string(),
    held_event_id: z.string().describe("The event whose newer snapshot the mirror held"),
    held_occurred_at: z.string(),
    skipped_workflows: z.array(z.string()).describe("Workflows it matched and did not start (at most 100 listed)"),
    skipped_count: z.int(),
    recorded_at: z.string(),
  })
  .openapi("StaleEvent");

const JsonIds = z.string().transform((text, ctx) => {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});
const RowSchema = StaleEventSchema.extend({ skipped_workflows: JsonIds.pipe(z.array(z.string())) });

staleEventsApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    summary: "Events older than the entity snapshot already held: no run started unless a workflow opts in, newest first",
    request: { query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(StaleEventSchema), "A page of stale events"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const after = decodeCursor(q.cursor, z.tuple([z.string(), z.string()]));
    const { results } = await c.env.DB.prepare(
      `SELECT event_id, type, entity, entity_id, occurred_at, held_event_id, held_occurred_at, skipped_workflows, skipped_count, recorded_at
       FROM stale_events ${after ? "WHERE (recorded_at, event_id) < (?, ?)" : ""} ORDER BY recorded_at DESC, event_id DESC LIMIT ?`,
    )
      .bind(...(after ?? []), q.limit + 1)
      .all();
    const rows = z.array(RowSchema).parse(results);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json({ items: page, next_cursor: rows.length > q.limit && last ? encodeCursor([last.recorded_at, last.event_id]) : null }, 200);
  },
);
