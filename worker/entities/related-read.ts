import { z } from "zod";
import { track } from "../lib/metrics";
import { MAX_RELATED_BYTES, RELATED_LINKS } from "./related";
import { entitySpec, type EntityKind } from "./registry";

/*
 * Reads the related entities of triggers (SPEC §11) from the mirror: one statement per trigger
 * kind, a LEFT JOIN per link, all in one D1 batch, so a batch of events costs one round trip.
 * Table and column names come from the registry, never from input; ids travel as one bound JSON
 * array (`json_each(?1)`).
 */

/** What `trigger.related` holds: a snapshot per related kind found; a kind not found is absent. */
export type Related = Record<string, Record<string, unknown>>;

/** A trigger whose related entities to read: its kind and its snapshot (ids are read from it). */
export interface RelatedQuery {
  entity: EntityKind;
  data: unknown;
}

/** Triggers per statement: their ids are one bound value, far below D1's 1 MB per value. */
const ROWS_PER_STATEMENT = 500;

const sqlCache = new Map<EntityKind, string>();

/**
 * The statement for triggers of one kind. A related entity marked deleted, or larger than
 * MAX_RELATED_BYTES, is not returned (the run sees it absent), but the chain goes on through it:
 * a deleted product still names its brand.
 */
function relatedSql(kind: EntityKind): string | undefined {
  const links = RELATED_LINKS[kind];
  if (links.length === 0) return undefined;
  let sql = sqlCache.get(kind);
  if (!sql) {
    const alias = new Map<string, string>();
    const joins: string[] = [];
    const columns: string[] = [];
    links.forEach((link, i) => {
      const a = `j${i}`;
      const source = link.from === "trigger" ? `s.value->>'$.${link.field}'` : `${alias.get(link.from)}.${link.field}`;
      alias.set(link.kind, a);
      joins.push(`LEFT JOIN ${entitySpec(link.kind).table} ${a} ON ${a}.id = ${source}`);
      columns.push(`CASE WHEN ${a}.deleted = 0 AND length(CAST(${a}.data AS BLOB)) <= ${MAX_RELATED_BYTES} THEN ${a}.data END AS r${i}`);
    });
    sql = `SELECT s.key AS k, ${columns.join(", ")} FROM json_each(?1) s ${joins.join(" ")}`;
    sqlCache.set(kind, sql);
  }
  return sql;
}

const SnapshotText = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "not JSON" });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.unknown()));
const RowSchema = z.looseObject({ k: z.int() });

/** The ids a trigger's links read from its own data: only those travel to D1, not the snapshot. */
function linkIds(q: RelatedQuery): Record<string, string> {
  const ids: Record<string, string> = {};
  const data = q.data !== null && typeof q.data === "object" ? (q.data as Record<string, unknown>) : {};
  for (const link of RELATED_LINKS[q.entity]) {
    const id = link.from === "trigger" ? data[link.field] : undefined;
    if (typeof id === "string") ids[link.field] = id;
  }
  return ids;
}

/** Statements reading the related entities of `queries`; `collect` turns their results into one Related per query. */
export function relatedStatements(d1: D1Database, queries: readonly RelatedQuery[]): { statements: D1PreparedStatement[]; collect(results: D1Result[]): Related[] } {
  const parts: { kind: EntityKind; at: number[] }[] = [];
  const statements: D1PreparedStatement[] = [];
  const byKind = new Map<EntityKind, number[]>();
  queries.forEach((q, i) => byKind.set(q.entity, [...(byKind.get(q.entity) ?? []), i]));
  for (const [kind, indexes] of byKind) {
    const sql = relatedSql(kind);
    if (!sql) continue;
    for (let from = 0; from < indexes.length; from += ROWS_PER_STATEMENT) {
      const at = indexes.slice(from, from + ROWS_PER_STATEMENT);
      parts.push({ kind, at });
      statements.push(d1.prepare(sql).bind(JSON.stringify(at.map((i) => linkIds(queries[i]!)))));
    }
  }
  return {
    statements,
    collect(results) {
      const out: Related[] = queries.map(() => ({}));
      parts.forEach((part, p) => {
        const links = RELATED_LINKS[part.kind];
        for (const raw of results[p]!.results) {
          const row = RowSchema.parse(raw);
          const related = out[part.at[row.k]!]!;
          links.forEach((link, i) => {
            const text = row[`r${i}`];
            if (typeof text === "string") related[link.kind] = SnapshotText.parse(text);
          });
        }
      });
      return out;
    },
  };
}

/** The related entities of each trigger, in one D1 round trip (none when no trigger has links). */
export async function readRelated(d1: D1Database, queries: readonly RelatedQuery[]): Promise<Related[]> {
  const { statements, collect } = relatedStatements(d1, queries);
  if (statements.length === 0) return queries.map(() => ({}));
  return collect(track(await d1.batch(statements)));
}
