import { z } from "zod";
import { ENTITY_KINDS, entitySchema, type EntityKind } from "../entities";
import { EVENT_KINDS, type EventKind } from "../definition/common";
import { zodIssues, type Issue } from "../errors";

/** At most this many events per request (SPEC §6). */
export const MAX_EVENTS_PER_REQUEST = 500;

const TYPE = /^([a-z_]+)\.([a-z]+)$/;

const EnvelopeSchema = z.strictObject({
  id: z.string().min(1, "Give every event a unique id").max(255),
  type: z
    .string()
    .regex(TYPE, "Use <entity>.<created|updated|deleted>, e.g. inventory_item.updated")
    .refine((t) => (ENTITY_KINDS as readonly string[]).includes(t.split(".")[0]!), {
      message: `The entity must be one of ${ENTITY_KINDS.join(", ")}`,
    })
    .refine((t) => (EVENT_KINDS as readonly string[]).includes(t.split(".")[1]!), {
      message: "The event kind must be created, updated or deleted",
    }),
  entity_id: z.string().min(1).max(255),
  occurred_at: z.iso.datetime({ offset: true, message: "Use an ISO 8601 timestamp, e.g. 2026-11-22T10:00:00Z" }),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** An event as the engine keeps it: validated, entity split out, data carrying its id. */
export const EntityEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  entity: z.enum(ENTITY_KINDS as unknown as [EntityKind, ...EntityKind[]]),
  kind: z.enum(EVENT_KINDS),
  entity_id: z.string(),
  /** Normalised to UTC ISO with milliseconds, so snapshots order as text. */
  occurred_at: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EntityEvent = z.infer<typeof EntityEventSchema>;

export type Parsed = { ok: true; events: EntityEvent[] } | { ok: false; issues: Issue[] };

function parseOne(raw: unknown, at: (string | number)[]): { event?: EntityEvent; issues: Issue[] } {
  const env = EnvelopeSchema.safeParse(raw);
  if (!env.success) return { issues: zodIssues(env.error, at) };
  const [entity, kind] = env.data.type.split(".") as [EntityKind, EventKind];
  const data = { ...(env.data.data ?? {}) };
  if (data.id !== undefined && data.id !== env.data.entity_id) {
    return { issues: [{ path: [...at, "data", "id"].join("."), message: "data.id must equal entity_id" }] };
  }
  data.id = env.data.entity_id;
  if (kind !== "deleted") {
    if (env.data.data === undefined) return { issues: [{ path: [...at, "data"].join("."), message: `A ${kind} event carries the entity in data` }] };
    const checked = entitySchema(entity).safeParse(data);
    if (!checked.success) return { issues: zodIssues(checked.error, [...at, "data"]) };
  }
  return {
    event: {
      id: env.data.id,
      type: env.data.type,
      entity,
      kind,
      entity_id: env.data.entity_id,
      occurred_at: new Date(env.data.occurred_at).toISOString(),
      data,
    },
    issues: [],
  };
}

/** One event, or `{"events": [...]}`; every problem is reported, and any problem rejects them all. */
export function parseEvents(body: unknown): Parsed {
  const batch = body !== null && typeof body === "object" && !Array.isArray(body) && "events" in body;
  const list: unknown[] = batch ? ((body as { events: unknown }).events as unknown[]) : [body];
  if (batch && !Array.isArray((body as { events: unknown }).events)) {
    return { ok: false, issues: [{ path: "events", message: "events must be a list" }] };
  }
  if (list.length === 0) return { ok: false, issues: [{ path: "events", message: "Send at least one event" }] };
  if (list.length > MAX_EVENTS_PER_REQUEST) {
    return { ok: false, issues: [{ path: "events", message: `Send at most ${MAX_EVENTS_PER_REQUEST} events per request` }] };
  }
  const events: EntityEvent[] = [];
  const issues: Issue[] = [];
  list.forEach((raw, i) => {
    const one = parseOne(raw, batch ? ["events", i] : []);
    issues.push(...one.issues);
    if (one.event) events.push(one.event);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, events };
}

/** What travels on the EVENTS queue: the event inline, or only its place in the inbox when large. */
export const QueueMessageSchema = z.object({
  v: z.literal(1),
  shard: z.int().min(0),
  seq: z.int().min(0),
  event: EntityEventSchema.optional(),
});
export type QueueMessage = z.infer<typeof QueueMessageSchema>;
