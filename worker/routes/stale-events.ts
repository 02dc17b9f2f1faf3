import { createRoute, z } from "@hono/zod-openapi";
import { StaleEventSchema, type StaleEvent } from "../contract/event";
import { PageQuerySchema, pageSchema } from "../contract/page";
import { commonErrors, jsonContent, router } from "./api";
import { parseJson } from "../lib/json";
import { readPage } from "./paging";

/**
 * Events that arrived after a newer one for the same entity (by occurred_at, then event id): the
 * mirror kept the newer snapshot, and the workflows they matched started no run unless their
 * trigger says `stale_events: "run"`. Recorded by the queue consumer, newest first.
 */
export const staleEventsApp = router();

const JsonIds = z.string().transform((text, ctx) => {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});
const RowSchema = StaleEventSchema.extend({ skipped_workflows: JsonIds.pipe(z.array(z.string())) });

/** Stale events, newest first, after the key (recorded_at, event_id). */
async function staleRows(d1: D1Database, after: [string, string] | undefined, limit: number): Promise<StaleEvent[]> {
  const { results } = await d1
    .prepare(
      `SELECT event_id, type, entity, entity_id, occurred_at, held_event_id, held_occurred_at, skipped_workflows, skipped_count, recorded_at
       FROM stale_events ${after ? "WHERE (recorded_at, event_id) < (?, ?)" : ""} ORDER BY recorded_at DESC, event_id DESC LIMIT ?`,
    )
    .bind(...(after ?? []), limit)
    .all();
  return z.array(RowSchema).parse(results);
}

staleEventsApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listStaleEvents",
    summary: "List stale events, newest first",
    description: "Events older than the entity snapshot already held: no run started unless a workflow opts in (`trigger.stale_events: \"run\"`).",
    request: { query: PageQuerySchema },
    responses: { 200: jsonContent(pageSchema(StaleEventSchema.openapi("StaleEvent")), "A page of stale events"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (after, limit) => staleRows(c.env.DB, after, limit), {
      schema: z.tuple([z.string(), z.string()]),
      of: (r): [string, string] => [r.recorded_at, r.event_id],
    });
    return c.json(page, 200);
  },
);
