import { z } from "zod";
import {
  deletedEntitySchema,
  entitySchema,
  entitySpec,
  type Column,
  type EntityKind,
  type EntityKindSpec,
  type EntitySnapshot,
} from "./registry";

/**
 * The entity mirror in D1: upserts that respect snapshot order and keep `entity_tags` in step,
 * and the reads the API and the consumer need.
 *
 * Each upsert statement binds one JSON array of rows (`json_each(?1)`), so a chunk of a thousand
 * rows is one statement with two parameters: far inside D1's 100 bound parameters, and a 10,000-row
 * request is a few dozen statements rather than thousands. Table and column names come from the
 * registry, never from input.
 */

/** A chunk is at most this many rows and this many bytes of JSON (D1 caps a bound value at 1 MB). */
export const CHUNK_ROWS = 1000;
export const CHUNK_BYTES = 512 * 1024;
/**
 * The largest snapshot the mirror keeps, as JSON: a row holds it twice (`data` and `previous`),
 * and D1 caps a row at 1 MB.
 */
export const MAX_SNAPSHOT_BYTES = 256 * 1024;

const encoder = new TextEncoder();
export const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).byteLength;
export const snapshotTooLarge = (snapshot: unknown) => jsonBytes(snapshot) > MAX_SNAPSHOT_BYTES;
const TOO_LARGE = `An entity is at most ${MAX_SNAPSHOT_BYTES / 1024} KiB of JSON`;

export interface UpsertRow {
  data: Record<string, unknown>;
  occurredAt: string;
  eventId: string;
  deleted?: boolean;
}

/** A row after validation: what the SQL reads from the bound JSON. */
export interface PreparedRow {
  d: Record<string, unknown> & { id: string };
  /** occurred_at, normalised to UTC ISO with milliseconds so that snapshots order as text. */
  o: string;
  /** event id */
  e: string;
  deleted: boolean;
}

const OccurredAtSchema = z.iso.datetime({ offset: true, message: "occurred_at must be an ISO 8601 timestamp" });
const EventIdSchema = z.string().max(255);

/** A snapshot the caller validated with the kind's schema, ready to upsert. */
export function preparedRow(snapshot: EntitySnapshot, occurredAt: Date, eventId: string): PreparedRow {
  return { d: snapshot, o: occurredAt.toISOString(), e: eventId, deleted: false };
}

/** Validates and normalises rows; throws a ZodError naming the row that is not valid. */
export function prepareRows(kind: EntityKind, rows: readonly UpsertRow[]): PreparedRow[] {
  return rows.map((row, i) => {
    const schema = row.deleted ? deletedEntitySchema(kind) : entitySchema(kind);
    const parsed = schema.safeParse(row.data);
    if (!parsed.success) {
      throw new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: [i, "data", ...issue.path] })));
    }
    if (snapshotTooLarge(parsed.data)) throw new z.ZodError([{ code: "custom", message: TOO_LARGE, path: [i, "data"], input: undefined }]);
    return {
      d: parsed.data,
      o: new Date(OccurredAtSchema.parse(row.occurredAt)).toISOString(),
      e: EventIdSchema.parse(row.eventId),
      deleted: row.deleted ?? false,
    };
  });
}

const newer = (a: PreparedRow, b: PreparedRow) => a.o > b.o || (a.o === b.o && a.e > b.e);

/** One row per id, the newest by (occurred_at, event id): the order the table itself keeps. */
function newestPerId(rows: readonly PreparedRow[]): PreparedRow[] {
  const byId = new Map<string, PreparedRow>();
  for (const row of rows) {
    const held = byId.get(row.d.id);
    if (!held || newer(row, held)) byId.set(row.d.id, row);
  }
  return [...byId.values()];
}

/** Splits rows into JSON arrays of bounded size; each becomes the one parameter of a statement. */
function chunkJson(rows: readonly PreparedRow[]): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const row of rows) {
    const text = JSON.stringify({ d: row.d, o: row.o, e: row.e });
    const size = encoder.encode(text).byteLength + 1;
    if (parts.length > 0 && (parts.length >= CHUNK_ROWS || bytes + size > CHUNK_BYTES)) {
      out.push(`[${parts.join(",")}]`);
      parts = [];
      bytes = 0;
    }
    parts.push(text);
    bytes += size;
  }
  if (parts.length > 0) out.push(`[${parts.join(",")}]`);
  return out;
}

// ---------------------------------------------------------------- SQL per kind

interface KindSql {
  /** Live snapshots: drop tags the new snapshot lost, update in place, upsert, add tags. */
  live: string[];
  /** Deletions: drop every tag, then mark deleted (a tombstone when the entity is not held yet). */
  deleted: string[];
  /** A run's change to one live entity, applied only while the row holds the snapshot it was made from. */
  change: string[];
  snapshot: string;
}

const field = (c: Column) => `s.value->>'$.d.${c.name}'`;
const isNewer = (t: string) => `(s.value->>'o', s.value->>'e') > (${t}.occurred_at, ${t}.event_id)`;
const defaultFor = (c: Column) => (!c.required ? "NULL" : c.type === "text" ? "''" : "0");

function buildSql(spec: EntityKindSpec): KindSql {
  const { table: T, kind, columns } = spec;
  const names = columns.map((c) => c.name);
  const plain = columns.filter((c) => !c.indexed);
  const indexed = columns.filter((c) => c.indexed);
  const base = `FROM json_each(?1) s`;
  const tagsOf = `SELECT o.value, t.id ${base} JOIN ${T} t ON t.id = s.value->>'$.d.id', json_each(t.tags) o`;

  const staleTags = `DELETE FROM entity_tags WHERE entity = '${kind}' AND (tag, entity_id) IN (${tagsOf}
    WHERE ${isNewer("t")} AND o.value NOT IN (SELECT value FROM json_each(s.value->'$.d.tags')))`;

  // An update that leaves every indexed column as it is touches one b-tree (D1 bills one row);
  // assigning an indexed column, even to the value it has, rewrites its index entry too.
  const inPlace = `UPDATE ${T} SET previous = ${T}.data, data = s.value->'$.d', tags = s.value->'$.d.tags',
    occurred_at = s.value->>'o', event_id = s.value->>'e', deleted = 0, updated_at = ?2
    ${plain.map((c) => `, ${c.name} = ${field(c)}`).join("")}
    ${base} WHERE ${T}.id = s.value->>'$.d.id' AND ${isNewer(T)}
    ${indexed.map((c) => ` AND ${T}.${c.name} IS ${field(c)}`).join("")}`;

  // Rows the in-place update took now hold this snapshot, so they fail the WHERE and write nothing.
  const upsert = `INSERT INTO ${T} (id, tags, data, previous, occurred_at, event_id, deleted, updated_at${names.map((n) => `, ${n}`).join("")})
    SELECT s.value->>'$.d.id', s.value->'$.d.tags', s.value->'$.d', NULL, s.value->>'o', s.value->>'e', 0, ?2${columns.map((c) => `, ${field(c)}`).join("")}
    ${base} WHERE true
    ON CONFLICT (id) DO UPDATE SET previous = ${T}.data, data = excluded.data, tags = excluded.tags,
      occurred_at = excluded.occurred_at, event_id = excluded.event_id, deleted = 0, updated_at = excluded.updated_at
      ${names.map((n) => `, ${n} = excluded.${n}`).join("")}
    WHERE (excluded.occurred_at, excluded.event_id) > (${T}.occurred_at, ${T}.event_id)`;

  // Only rows that now hold this very snapshot gain tags: an older snapshot that lost adds none.
  // Tags already indexed are ignored without a write.
  const addTags = `INSERT OR IGNORE INTO entity_tags (entity, tag, entity_id)
    SELECT '${kind}', o.value, t.id ${base}
    JOIN ${T} t ON t.id = s.value->>'$.d.id' AND t.occurred_at = s.value->>'o' AND t.event_id = s.value->>'e', json_each(t.tags) o
    WHERE t.deleted = 0`;

  const dropAllTags = `DELETE FROM entity_tags WHERE entity = '${kind}' AND (tag, entity_id) IN (${tagsOf} WHERE ${isNewer("t")})`;

  // A deletion keeps the last snapshot readable (its fields patched with what the event carried) and
  // leaves the typed columns alone. Unknown entities get a tombstone, so an older event that
  // arrives later cannot bring them back.
  const tombstone = `INSERT INTO ${T} (id, tags, data, previous, occurred_at, event_id, deleted, updated_at${names.map((n) => `, ${n}`).join("")})
    SELECT s.value->>'$.d.id', coalesce(s.value->'$.d.tags', '[]'), s.value->'$.d', NULL, s.value->>'o', s.value->>'e', 1, ?2${columns
      .map((c) => `, coalesce(${field(c)}, ${defaultFor(c)})`)
      .join("")}
    ${base} WHERE true
    ON CONFLICT (id) DO UPDATE SET previous = ${T}.data, data = json_patch(${T}.data, excluded.data),
      occurred_at = excluded.occurred_at, event_id = excluded.event_id, deleted = 1, updated_at = excluded.updated_at
    WHERE (excluded.occurred_at, excluded.event_id) > (${T}.occurred_at, ${T}.event_id)`;

  // A run's change (changeStatements): `ho`/`he` name the snapshot it was computed from. While the
  // row still holds that one, tags it lost are dropped, the row is updated (in place when no
  // indexed column moves, else in full: after the first took, the second finds another snapshot
  // and writes nothing) and new tags are added; once anything else landed, nothing is written.
  const holds = (t: string) => `${t}.occurred_at = s.value->>'ho' AND ${t}.event_id = s.value->>'he' AND ${t}.deleted = 0`;
  const changeTags = `DELETE FROM entity_tags WHERE entity = '${kind}' AND (tag, entity_id) IN (${tagsOf}
    WHERE ${holds("t")} AND o.value NOT IN (SELECT value FROM json_each(s.value->'$.d.tags')))`;
  const changeRow = (cols: readonly Column[], guard: readonly Column[]) => `UPDATE ${T} SET previous = ${T}.data, data = s.value->'$.d',
    tags = s.value->'$.d.tags', occurred_at = s.value->>'o', event_id = s.value->>'e', updated_at = ?2
    ${cols.map((c) => `, ${c.name} = ${field(c)}`).join("")}
    ${base} WHERE ${T}.id = s.value->>'$.d.id' AND ${holds(T)}${guard.map((c) => ` AND ${T}.${c.name} IS ${field(c)}`).join("")}`;
  const change = [changeTags, changeRow(plain, indexed), ...(indexed.length > 0 ? [changeRow(columns, [])] : []), addTags];

  return {
    live: [staleTags, inPlace, upsert, addTags],
    deleted: [dropAllTags, tombstone],
    change,
    snapshot: `SELECT data, previous, event_id, occurred_at, deleted FROM ${T} WHERE id = ?1`,
  };
}

const sqlCache = new Map<EntityKind, KindSql>();
function kindSql(kind: EntityKind): KindSql {
  let s = sqlCache.get(kind);
  if (!s) {
    s = buildSql(entitySpec(kind));
    sqlCache.set(kind, s);
  }
  return s;
}

// ---------------------------------------------------------------- upserts

/** Statements for rows already validated, grouped per chunk: run each group in one `d1.batch`. */
export function upsertPreparedChunks(d1: D1Database, kind: EntityKind, rows: readonly PreparedRow[], now = new Date()): D1PreparedStatement[][] {
  const sqls = kindSql(kind);
  const at = now.toISOString();
  const newest = newestPerId(rows);
  const groups: D1PreparedStatement[][] = [];
  for (const [list, texts] of [
    [newest.filter((r) => !r.deleted), sqls.live],
    [newest.filter((r) => r.deleted), sqls.deleted],
  ] as const) {
    // D1 refuses a statement bound with more values than it names: only some use ?2 (the time).
    for (const json of chunkJson(list)) groups.push(texts.map((text) => (text.includes("?2") ? d1.prepare(text).bind(json, at) : d1.prepare(text).bind(json))));
  }
  return groups;
}

/** Validates rows (throwing a ZodError whose paths start with the row index) and groups statements per chunk. */
export function upsertChunks(d1: D1Database, kind: EntityKind, rows: readonly UpsertRow[], now = new Date()): D1PreparedStatement[][] {
  return upsertPreparedChunks(d1, kind, prepareRows(kind, rows), now);
}

/**
 * Statements that upsert snapshots. An older snapshot (by (occurred_at, event_id)) never overwrites
 * a newer one; the row keeps the snapshot it replaced in `previous`; re-applying the same event id
 * changes nothing. Tags are kept in entity_tags without rewriting unchanged tag rows. Updating an
 * entity whose indexed columns and tags did not change writes exactly one row.
 *
 * A deleted row may carry only `{id}`: the mirror keeps the last snapshot (marked deleted) and drops
 * its tags. Rows are validated with the kind's schema; an invalid row throws a ZodError.
 */
export function upsertStatements(
  d1: D1Database,
  kind: EntityKind,
  rows: { data: Record<string, unknown>; occurredAt: string; eventId: string; deleted?: boolean }[],
): D1PreparedStatement[] {
  return upsertChunks(d1, kind, rows).flat();
}

/**
 * Statements that replace one live entity's snapshot with `row` only while the mirror still holds
 * the snapshot `held` names (compare and set: a run's change computed from `held` never
 * overwrites an event that landed meanwhile), keeping entity_tags in step; the last statement
 * reads the row back, so the caller sees whether `row` took (it then holds row's occurred_at and
 * event id) and, if not, what it must compute the change from next. Run them in one `d1.batch`.
 */
export function changeStatements(
  d1: D1Database,
  kind: EntityKind,
  held: { occurred_at: string; event_id: string },
  row: PreparedRow,
  now = new Date(),
): D1PreparedStatement[] {
  const json = JSON.stringify([{ d: row.d, o: row.o, e: row.e, ho: held.occurred_at, he: held.event_id }]);
  const at = now.toISOString();
  const statements = kindSql(kind).change.map((text) => (text.includes("?2") ? d1.prepare(text).bind(json, at) : d1.prepare(text).bind(json)));
  return [...statements, snapshotStatement(d1, kind, row.d.id)];
}

/** A statement reading the current row of one entity: {data, previous, event_id, occurred_at, deleted} or no row. */
export function snapshotStatement(d1: D1Database, kind: EntityKind, id: string): D1PreparedStatement {
  return d1.prepare(kindSql(kind).snapshot).bind(id);
}

const JsonText = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: "custom", message: "not JSON" });
    return z.NEVER;
  }
});
const SnapshotObject = JsonText.pipe(z.record(z.string(), z.unknown()));

/** The row snapshotStatement reads, with its JSON parsed. */
export const SnapshotRowSchema = z.object({
  data: SnapshotObject,
  previous: SnapshotObject.nullable(),
  event_id: z.string(),
  occurred_at: z.string(),
  deleted: z.union([z.boolean(), z.int()]).transform(Boolean),
});
export type SnapshotRow = z.infer<typeof SnapshotRowSchema>;

// ---------------------------------------------------------------- API reads

export interface ListOptions {
  tag?: string | undefined;
  /** Case-insensitive (ASCII) substring of the id or of the kind's searchable columns. */
  q?: string | undefined;
  limit: number;
  after?: string | undefined;
}

/** Live snapshots in id order, `limit` at most, after the id `after`. */
export async function listEntities(d1: D1Database, kind: EntityKind, opts: ListOptions): Promise<{ id: string; data: Record<string, unknown> }[]> {
  const { table: T, search } = entitySpec(kind);
  const params: unknown[] = [];
  const where: string[] = ["e.deleted = 0"];
  let from = `${T} e`;
  let order = "e.id";
  if (opts.tag !== undefined) {
    // Driven by the tag index: reads only entities that carry the tag.
    from = `entity_tags t JOIN ${T} e ON e.id = t.entity_id`;
    where.push("t.entity = ?", "t.tag = ?");
    params.push(kind, opts.tag);
    order = "t.entity_id";
  }
  if (opts.after !== undefined) {
    where.push(`${order} > ?`);
    params.push(opts.after);
  }
  if (opts.q !== undefined && opts.q !== "") {
    // instr, not LIKE: D1 caps LIKE patterns at 50 bytes, and a search term needs no escaping.
    const cols = ["e.id", ...search.map((c) => `e.${c}`)];
    where.push(`(${cols.map((c) => `instr(lower(${c}), lower(?)) > 0`).join(" OR ")})`);
    params.push(...cols.map(() => opts.q));
  }
  params.push(opts.limit);
  const res = await d1
    .prepare(`SELECT e.id AS id, e.data AS data FROM ${from} WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`)
    .bind(...params)
    .all();
  return z.array(z.object({ id: z.string(), data: SnapshotObject })).parse(res.results);
}

/** One entity's current row (deleted ones included), or undefined. */
export async function getEntity(d1: D1Database, kind: EntityKind, id: string): Promise<SnapshotRow | undefined> {
  const row = await snapshotStatement(d1, kind, id).first();
  return row === null ? undefined : SnapshotRowSchema.parse(row);
}
