import { createRoute, z } from "@hono/zod-openapi";
import { pageSchema } from "../contract/page";
import { RestockEpisodeSchema, RestockListQuerySchema } from "../contract/restock";
import { listEpisodes } from "../restock/store";
import { commonErrors, jsonContent, router } from "./api";
import { readPage } from "./paging";

/** Back-in-stock restock episodes (SPEC §12), as their RestockObjects last wrote them. */
export const restocksApp = router();

const RestockEpisode = RestockEpisodeSchema.openapi("RestockEpisode");

restocksApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listRestocks",
    summary: "Restock episodes with their waves, newest first",
    description:
      "One episode per back-in-stock workflow, variant and shop scope whose stock rose from below the trigger's min_stock to at least it; " +
      "each wave shows the stock counted, its size and how many were notified. Filter by variant_id. Episodes that notified nobody are not listed.",
    request: { query: RestockListQuerySchema },
    responses: { 200: jsonContent(pageSchema(RestockEpisode), "A page of restock episodes"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (before, limit) => listEpisodes(c.env.DB, { variant_id: q.variant_id, before, limit }), {
      schema: z.tuple([z.string(), z.string()]),
      of: (e): [string, string] => [e.started_at, e.id],
    });
    return c.json(page, 200);
  },
);
