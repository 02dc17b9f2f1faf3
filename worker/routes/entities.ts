import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { EntityDetailSchema, EntityListQuerySchema, EntitySnapshotSchema, UpsertAnswerSchema } from "../contract/entity";
import { pageSchema } from "../contract/page";
import { ENTITY_KINDS, entitySchema, getEntity, isEntityKind, listEntities, type EntityKind, type EntitySnapshot } from "../entities";
import { MAX_SNAPSHOT_BYTES, preparedRow, snapshotTooLarge, upsertPreparedChunks, type PreparedRow } from "../entities/store";
import { AppError, validationError, zodIssues, type Issue } from "../errors";
import { commonErrors, errorResponse, isJsonMediaType, jsonContent, parsedBody, router, type AppEnv } from "./api";
import { jsonDepth, MAX_JSON_DEPTH } from "../lib/json";
import { newId } from "../lib/ids";
import { readPage } from "./paging";
import { log } from "../log";

export const entitiesApp = router();

/** Rows per request: a 10 MiB body of small entities is about 30,000; the body limit (32 MiB) bounds bytes. */
export const MAX_ROWS = 50_000;
/** Issues reported for a request with bad rows; the message says how many rows were bad in all. */
const MAX_ISSUES = 100;

const EntityParam = z.object({
  entity: z
    .string()
    .max(100)
    .openapi({ param: { name: "entity", in: "path" }, description: `One of ${ENTITY_KINDS.join(", ")}`, example: "inventory_item" }),
});
const IdParam = EntityParam.extend({ id: z.string().min(1).max(200).openapi({ param: { name: "id", in: "path" } }) });

const Snapshot = EntitySnapshotSchema.openapi("EntitySnapshot");

const unknownKind = { 404: errorResponse("Unknown entity kind, or no entity with this id") };

function kindOf(entity: string): EntityKind {
  if (!isEntityKind(entity)) throw new AppError("not_found", `No entity kind "${entity}"; use one of ${ENTITY_KINDS.join(", ")}`);
  return entity;
}

const NDJSON_TYPES = new Set(["application/x-ndjson", "application/jsonl", "application/json-seq"]);

/**
 * The rows of a bulk body: a JSON array (parsed and depth-checked by the `jsonBodies`
 * middleware), or NDJSON, one entity per line (blank lines ignored), each line held to the same
 * depth limit so that SQLite's JSON functions and our walkers never see deeper input.
 */
async function bodyRows(c: Context<AppEnv>): Promise<unknown[]> {
  const contentType = c.req.header("content-type") ?? "";
  if (NDJSON_TYPES.has(contentType.split(";")[0]!.trim().toLowerCase())) return ndjsonRows(await c.req.text());
  if (isJsonMediaType(contentType)) {
    const body = parsedBody(c);
    if (!Array.isArray(body)) throw new AppError("bad_request", "Send a JSON array of entities (or NDJSON with Content-Type application/x-ndjson)");
    return body;
  }
  throw new AppError("unsupported_media_type", "Send application/json (an array of entities) or application/x-ndjson (one entity per line)");
}

function ndjsonRows(text: string): unknown[] {
  const rows: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    // The issue's path is the row's index, as for a JSON array; the message names the line.
    const refuse = (message: string) => new AppError("bad_request", `Line ${i + 1} ${message}`, { issues: [{ path: String(rows.length), message: `Line ${i + 1} ${message}` }] });
    const depth = jsonDepth(line);
    if (depth > MAX_JSON_DEPTH) throw refuse(`nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are allowed`);
    try {
      rows.push(JSON.parse(line));
    } catch {
      throw refuse("is not valid JSON");
    }
  }
  return rows;
}

entitiesApp.openapi(
  createRoute({
    method: "put",
    path: "/{entity}",
    operationId: "upsertEntities",
    summary: "Upsert entities in bulk",
    description:
      "A JSON array, or NDJSON (Content-Type application/x-ndjson), of up to 50,000 entities (32 MiB). Every row is validated first: " +
      "a bad row is reported by its index (issues path like `12.on_hand`) and then nothing is written. A row replaces the snapshot " +
      "held for its id (the replaced one is kept as `previous`); an id repeated in one request keeps its last row.",
    request: {
      params: EntityParam,
      body: {
        required: true,
        content: {
          "application/json": { schema: { type: "array", items: { $ref: "#/components/schemas/EntitySnapshot" } } },
          "application/x-ndjson": { schema: { type: "string", description: "One entity per line" } },
        },
      },
    },
    responses: {
      200: jsonContent(UpsertAnswerSchema, "Rows written"),
      ...commonErrors,
      ...unknownKind,
      413: errorResponse("Over 32 MiB or 50,000 rows"),
      415: errorResponse("Neither JSON nor NDJSON"),
    },
  }),
  async (c) => {
    const kind = kindOf(c.req.valid("param").entity);
    const rows = await bodyRows(c);
    if (rows.length > MAX_ROWS) throw new AppError("payload_too_large", `Send at most ${MAX_ROWS} rows per request; this one has ${rows.length}`);
    const schema = entitySchema(kind);
    const now = new Date();
    // Rows of one request share its time; the event id orders them, so an id repeated later wins.
    const requestId = newId("put", now.getTime());
    const width = String(rows.length).length;
    const prepared: PreparedRow[] = [];
    const issues: Issue[] = [];
    let bad = 0;
    rows.forEach((row, i) => {
      const parsed = schema.safeParse(row);
      if (parsed.success && !snapshotTooLarge(parsed.data)) {
        prepared.push(preparedRow(parsed.data, now, `${requestId}:${String(i).padStart(width, "0")}`));
        return;
      }
      bad += 1;
      const rowIssues = parsed.success
        ? [{ path: String(i), message: `An entity is at most ${MAX_SNAPSHOT_BYTES / 1024} KiB of JSON` }]
        : zodIssues(parsed.error, [i]);
      for (const issue of rowIssues) if (issues.length < MAX_ISSUES) issues.push(issue);
    });
    if (bad > 0) throw validationError(issues, `${bad} of ${rows.length} rows are not valid; nothing was written`);
    // One batch (transaction) per chunk: a failure part-way leaves whole chunks; sending the request again is safe.
    for (const group of upsertPreparedChunks(c.env.DB, kind, prepared, now)) await c.env.DB.batch(group);
    log("entities_upserted", { entity: kind, rows: prepared.length });
    return c.json({ upserted: prepared.length }, 200);
  },
);

entitiesApp.openapi(
  createRoute({
    method: "get",
    path: "/{entity}",
    operationId: "listEntities",
    summary: "List entities in id order",
    description: "`tag` keeps entities carrying the tag; `q` searches the id and the name (or sku, email, an order's customer_id) case-insensitively. Deleted entities are left out.",
    request: { params: EntityParam, query: EntityListQuerySchema },
    responses: { 200: jsonContent(pageSchema(Snapshot), "A page of snapshots"), ...commonErrors, ...unknownKind },
  }),
  async (c) => {
    const kind = kindOf(c.req.valid("param").entity);
    const q = c.req.valid("query");
    const page = await readPage(q, (after, limit) => listEntities(c.env.DB, kind, { tag: q.tag, q: q.q?.trim(), limit, after }), {
      schema: z.string(),
      of: (r) => r.id,
    });
    const items: EntitySnapshot[] = page.items.map((r) => ({ ...r.data, id: r.id, tags: tagsOf(r.data) }));
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  },
);

const tagsOf = (data: Record<string, unknown>) => z.array(z.string()).catch([]).parse(data.tags);

entitiesApp.openapi(
  createRoute({
    method: "get",
    path: "/{entity}/{id}",
    operationId: "getEntity",
    summary: "One entity, and the snapshot it replaced",
    description: "Its snapshot, the snapshot it replaced, and when it was taken.",
    request: { params: IdParam },
    responses: {
      200: jsonContent(EntityDetailSchema.openapi("EntityDetail"), "The snapshot"),
      ...commonErrors,
      ...unknownKind,
    },
  }),
  async (c) => {
    const { entity, id } = c.req.valid("param");
    const kind = kindOf(entity);
    const row = await getEntity(c.env.DB, kind, id);
    if (!row) throw new AppError("not_found", `No ${kind} has the id ${id}`);
    return c.json({ ...row.data, id, tags: tagsOf(row.data), previous: row.previous, occurred_at: row.occurred_at, deleted: row.deleted }, 200);
  },
);
