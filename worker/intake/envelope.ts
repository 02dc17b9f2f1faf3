import { z } from "zod";
import { ENTITY_KINDS, EntityKindSchema } from "../entities";
import { deletedEntitySchema, entitySchema } from "../entities/registry";
import { MAX_SNAPSHOT_BYTES, snapshotTooLarge } from "../entities/store";
import { EventKindSchema } from "../definition/common";
import { zodIssues, type Issue } from "../lib/issues";
import { MAX_JSON_DEPTH, valueDepth } from "../lib/json";

/** At most this many events per request (SPEC §6). */
export const MAX_EVENTS_PER_REQUEST = 500;
/** A request of events is at most 1 MiB (SPEC §4), so no one event is larger as JSON. */
export const MAX_EVENT_BYTES = 1024 * 1024;

const TYPE = /^([a-z_]+)\.([a-z]+)$/;

const EnvelopeSchema = z.strictObject({
  id: z.string().min(1, "Give every event a unique id").max(255),
  type: z
    .string()
    .regex(TYPE, "Use <entity>.<created|updated|deleted>, e.g. inventory_item.updated")
    .refine((t) => EntityKindSchema.safeParse(t.split(".")[0]).success, {
      message: `The entity must be one of ${ENTITY_KINDS.join(", ")}`,
    })
    .refine((t) => EventKindSchema.safeParse(t.split(".")[1]).success, {
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
  entity: EntityKindSchema,
  kind: EventKindSchema,
  entity_id: z.string(),
  /** Normalised to UTC ISO with milliseconds, so snapshots order as text. */
  occurred_at: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EntityEvent = z.infer<typeof EntityEventSchema>;

/** A type that passed the envelope's checks, split into its entity and kind. */
const TypePartsSchema = z.tuple([EntityKindSchema, EventKindSchema]);

export type Parsed = { ok: true; events: EntityEvent[] } | { ok: false; issues: Issue[] };

function parseOne(raw: unknown, at: (string | number)[]): { event?: EntityEvent; issues: Issue[] } {
  const env = EnvelopeSchema.safeParse(raw);
  if (!env.success) return { issues: zodIssues(env.error, at) };
  const [entity, kind] = TypePartsSchema.parse(env.data.type.split("."));
  const dataPath = [...at, "data"].join(".");
  const data = { ...(env.data.data ?? {}) };
  if (data.id !== undefined && data.id !== env.data.entity_id) {
    return { issues: [{ path: `${dataPath}.id`, message: "data.id must equal entity_id" }] };
  }
  data.id = env.data.entity_id;
  if (kind !== "deleted" && env.data.data === undefined) {
    return { issues: [{ path: dataPath, message: `A ${kind} event carries the entity in data` }] };
  }
  // Refused here, what the consumer could never process: it would only retry it into the dead-letter queue.
  const depth = valueDepth(data);
  if (depth > MAX_JSON_DEPTH) return { issues: [{ path: dataPath, message: `data nests more than ${MAX_JSON_DEPTH} levels deep` }] };
  // A deleted event may carry fields too: the mirror patches the last snapshot with them.
  const checked = (kind === "deleted" ? deletedEntitySchema(entity) : entitySchema(entity)).safeParse(data);
  if (!checked.success) return { issues: zodIssues(checked.error, [...at, "data"]) };
  if (snapshotTooLarge(checked.data)) {
    return { issues: [{ path: dataPath, message: `An entity is at most ${MAX_SNAPSHOT_BYTES / 1024} KiB of JSON (UTF-8)` }] };
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

const BatchSchema = z.object({ events: z.array(z.unknown()) });

/** One event, or `{"events": [...]}`; every problem is reported, and any problem rejects them all. */
export function parseEvents(body: unknown): Parsed {
  const isBatch = body !== null && typeof body === "object" && !Array.isArray(body) && Object.hasOwn(body, "events");
  let list: unknown[] = [body];
  if (isBatch) {
    const batch = BatchSchema.safeParse(body);
    if (!batch.success) return { ok: false, issues: [{ path: "events", message: "events must be a list" }] };
    list = batch.data.events;
  }
  if (list.length === 0) return { ok: false, issues: [{ path: "events", message: "Send at least one event" }] };
  if (list.length > MAX_EVENTS_PER_REQUEST) {
    return { ok: false, issues: [{ path: "events", message: `Send at most ${MAX_EVENTS_PER_REQUEST} events per request` }] };
  }
  const events: EntityEvent[] = [];
  const issues: Issue[] = [];
  list.forEach((raw, i) => {
    const one = parseOne(raw, isBatch ? ["events", i] : []);
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
