import { z } from "zod";
import { IssueSchema, type Issue } from "../contract/error";
import type { RefusedEvent } from "../contract/event";
import { newId } from "../lib/ids";
import { parseJson } from "../lib/json";
import { logError } from "../log";

/*
 * The requests POST /api/events refused, kept so that an operator sees them (the events page):
 * the reason and the issues, always; the events' ids and the start of the body only when the
 * signature held — an unsigned body comes from anyone, and is kept as nothing but its size. Only
 * the last KEPT rows stay: each new one deletes what falls past them, so a flood of bad requests
 * costs a bounded table, never a growing one.
 */

export const KEPT_REFUSALS = 500;
const MAX_EVENTS = 20;
const MAX_ISSUES = 50;
const EXCERPT_CHARS = 1024;
const FIELD_CHARS = 200;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const field = (v: unknown) => (typeof v === "string" ? cut(v, FIELD_CHARS) : null);

const BatchSchema = z.object({ events: z.array(z.unknown()) });
const NamesSchema = z.object({ id: z.unknown(), type: z.unknown(), entity_id: z.unknown() }).partial();

/** What a body names: its events (one, or `{"events": [...]}`) by id, type and entity, and how many. */
function named(text: string): { count: number | null; events: RefusedEvent["events"] } {
  const json = parseJson(text);
  if (!json.ok || json.value === null || typeof json.value !== "object" || Array.isArray(json.value)) return { count: null, events: [] };
  const batch = BatchSchema.safeParse(json.value);
  const list = batch.success ? batch.data.events : [json.value];
  const events = list.slice(0, MAX_EVENTS).map((e) => {
    const names = NamesSchema.safeParse(e);
    const o = names.success ? names.data : {};
    return { id: field(o.id), type: field(o.type), entity_id: field(o.entity_id) };
  });
  return { count: list.length, events };
}

export interface Refusal {
  status: number;
  code: string;
  reason: string;
  issues: readonly Issue[];
  webhookId: string | null;
  signed: boolean;
  body: Uint8Array;
}

/**
 * Records one refusal and drops the rows past the last KEPT_REFUSALS, in one batch. Never throws:
 * the sender gets its answer whether or not the record could be written.
 */
export async function recordRefusal(d1: D1Database, r: Refusal, now = new Date()): Promise<void> {
  try {
    const text = r.signed ? new TextDecoder().decode(r.body) : "";
    const { count, events } = r.signed ? named(text) : { count: null, events: [] };
    const issues = r.issues.slice(0, MAX_ISSUES).map((i) => ({ path: cut(i.path, FIELD_CHARS), message: cut(i.message, 500) }));
    await d1.batch([
      d1
        .prepare(
          `INSERT INTO refused_events (id, refused_at, status, code, reason, issues, webhook_id, signed, body_bytes, event_count, events, excerpt)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(
          newId("ref", now.getTime()),
          now.toISOString(),
          r.status,
          r.code,
          cut(r.reason, 1000),
          JSON.stringify(issues),
          r.webhookId === null ? null : cut(r.webhookId, FIELD_CHARS),
          r.signed ? 1 : 0,
          r.body.byteLength,
          count,
          JSON.stringify(events),
          r.signed ? cut(text, EXCERPT_CHARS) : null,
        ),
      // The id orders by time: everything older than the KEPT-th newest goes.
      d1.prepare(`DELETE FROM refused_events WHERE id < (SELECT id FROM refused_events ORDER BY id DESC LIMIT 1 OFFSET ?)`).bind(KEPT_REFUSALS - 1),
    ]);
  } catch (err) {
    logError("refusal_record", err, { status: r.status });
  }
}

const JsonText = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.infer<T> => {
    const parsed = parseJson(text);
    const result = schema.safeParse(parsed.ok ? parsed.value : undefined);
    if (!result.success) {
      ctx.addIssue({ code: "custom", message: "unreadable" });
      return z.NEVER;
    }
    return result.data;
  });

const EventsSchema = z.array(z.object({ id: z.string().nullable(), type: z.string().nullable(), entity_id: z.string().nullable() }));
const RowSchema = z.object({
  id: z.string(),
  refused_at: z.string(),
  status: z.int(),
  code: z.string(),
  reason: z.string(),
  issues: JsonText(z.array(IssueSchema)).catch([]),
  webhook_id: z.string().nullable(),
  signed: z.int().transform((n) => n === 1),
  body_bytes: z.int(),
  event_count: z.int().nullable(),
  events: JsonText(EventsSchema).catch([]),
  excerpt: z.string().nullable(),
});

/** Refusals newest first, after the id `after`. */
export async function listRefusals(d1: D1Database, after: string | undefined, limit: number): Promise<RefusedEvent[]> {
  const { results } = await d1
    .prepare(
      `SELECT id, refused_at, status, code, reason, issues, webhook_id, signed, body_bytes, event_count, events, excerpt
       FROM refused_events ${after ? "WHERE id < ?" : ""} ORDER BY id DESC LIMIT ?`,
    )
    .bind(...(after ? [after] : []), limit)
    .all();
  return z.array(RowSchema).parse(results);
}
