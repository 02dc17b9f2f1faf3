import { z } from "zod";
import { IssueSchema } from "./error";

/*
 * Events as the platform posts them (SPEC §6) and as the API lists the ones it could not use.
 * The envelope here documents the wire; worker/intake/envelope.ts checks it, with every rule.
 */

export const EventSchema = z.object({
  id: z.string().meta({ example: "evt_01JD8X" }),
  type: z.string().meta({ example: "inventory_item.updated" }),
  entity_id: z.string().meta({ example: "inv_42" }),
  occurred_at: z.string().meta({ example: "2026-11-22T10:00:00Z" }),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type Event = z.infer<typeof EventSchema>;

/** What POST /api/events answers once the events are recorded and queued. */
export const AcceptedSchema = z.object({ accepted: z.int() });

/** An event the consumer gave up on. `event` is null when it was too large to keep. */
export const DeadEventSchema = z.object({
  id: z.string(),
  event_id: z.string().nullable(),
  event: z.unknown(),
  error: z.string(),
  attempts: z.int(),
  dead_at: z.string(),
});
export type DeadEvent = z.infer<typeof DeadEventSchema>;

export const ReplayedSchema = z.object({ replayed: z.literal(true), event_id: z.string() });
export type Replayed = z.infer<typeof ReplayedSchema>;

/**
 * An event that arrived after a newer one for the same entity: the mirror kept the newer
 * snapshot, and the workflows it matched started no run unless their trigger opts in.
 */
export const StaleEventSchema = z.object({
  event_id: z.string(),
  type: z.string().meta({ example: "inventory_item.updated" }),
  entity: z.string(),
  entity_id: z.string(),
  occurred_at: z.string(),
  held_event_id: z.string().describe("The event whose newer snapshot the mirror held"),
  held_occurred_at: z.string(),
  skipped_workflows: z.array(z.string()).describe("Workflows it matched and did not start (at most 100 listed)"),
  skipped_count: z.int(),
  recorded_at: z.string(),
});
export type StaleEvent = z.infer<typeof StaleEventSchema>;

/**
 * A request POST /api/events refused (400, 401, 429): why, when, and — only when its signature
 * held, so the sender is the platform — the ids of its events and the start of its body. The last
 * few hundred are kept; an unsigned request is kept without anything it sent.
 */
export const RefusedEventSchema = z.object({
  id: z.string(),
  refused_at: z.string(),
  status: z.int(),
  code: z.string(),
  reason: z.string(),
  issues: z.array(IssueSchema),
  webhook_id: z.string().nullable().describe("The request's webhook-id header (up to 200 characters)"),
  signed: z.boolean().describe("Whether the signature held"),
  body_bytes: z.int(),
  event_count: z.int().nullable().describe("How many events the body held, when it was signed JSON"),
  events: z
    .array(z.object({ id: z.string().nullable(), type: z.string().nullable(), entity_id: z.string().nullable() }))
    .describe("The first 20 of them: id, type, entity_id"),
  excerpt: z.string().nullable().describe("The body's first 1,024 characters, when signed"),
});
export type RefusedEvent = z.infer<typeof RefusedEventSchema>;
