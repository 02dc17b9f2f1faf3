import { z } from "zod";

export const NODE_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const NodeIdSchema = z
  .string()
  .regex(NODE_ID_PATTERN, "Use 1-64 characters: a lowercase letter, then lowercase letters, digits or _");

export const CREDENTIAL_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
export const CredentialNameSchema = z
  .string()
  .regex(CREDENTIAL_NAME_PATTERN, "A credential name is upper case letters, digits and _, e.g. DEMO_ERP");

export const TRIGGER_ENTITIES = [
  "product",
  "product_variant",
  "brand",
  "inventory_item",
  "customer",
  "subscription",
  "order",
] as const;
export const TriggerEntitySchema = z.enum(TRIGGER_ENTITIES);
export type TriggerEntity = z.infer<typeof TriggerEntitySchema>;

export const EVENT_KINDS = ["created", "updated", "deleted"] as const;
export const EventKindSchema = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKindSchema>;

/**
 * What a trigger may listen to: the platform's event kinds, and `back_in_stock` (SPEC §12), which
 * no platform sends: the consumer derives it for subscriptions when their variant is restocked.
 */
export const TRIGGER_EVENT_KINDS = [...EVENT_KINDS, "back_in_stock"] as const;
export const TriggerEventKindSchema = z.enum(TRIGGER_EVENT_KINDS);
export type TriggerEventKind = z.infer<typeof TriggerEventKindSchema>;

const Tag = z.string().min(1).max(100);
export const TagFilterSchema = z.strictObject({
  include: z.array(Tag).max(100).default([]),
  exclude: z.array(Tag).max(100).default([]),
  match: z.enum(["any", "all"]).default("any"),
});
export type TagFilter = z.infer<typeof TagFilterSchema>;

export const DateSpecSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("absolute"),
    date: z.iso.date("Use a calendar date such as 2026-12-01"),
  }),
  z.strictObject({
    type: z.literal("relative"),
    days: z.int().min(-3650).max(3650),
  }),
  z.strictObject({
    type: z.literal("interpolated"),
    value: z.string().min(1),
    offset_days: z.int().min(-3650).max(3650).default(0),
  }),
]);
export type DateSpec = z.infer<typeof DateSpecSchema>;

export const RETRY_DEFAULTS = {
  max_attempts: 3,
  backoff: "exponential",
  initial_delay_ms: 1000,
  max_delay_ms: 300_000,
  jitter: true,
} as const;

export const RetryPolicySchema = z
  .strictObject({
    max_attempts: z.int().min(1).max(25).default(RETRY_DEFAULTS.max_attempts),
    backoff: z.enum(["exponential", "fixed"]).default(RETRY_DEFAULTS.backoff),
    initial_delay_ms: z.int().min(0).max(86_400_000).default(RETRY_DEFAULTS.initial_delay_ms),
    max_delay_ms: z.int().min(0).max(86_400_000).default(RETRY_DEFAULTS.max_delay_ms),
    jitter: z.boolean().default(RETRY_DEFAULTS.jitter),
  })
  .refine((r) => r.max_delay_ms >= r.initial_delay_ms, {
    message: "max_delay_ms must be at least initial_delay_ms",
    path: ["max_delay_ms"],
  });
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const SCHEDULE_LIMIT_MS = 365 * 86_400_000;
