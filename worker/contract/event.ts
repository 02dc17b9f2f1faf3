import { z } from "zod";

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
