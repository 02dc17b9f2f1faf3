import { z } from "zod";

/** The service's own answers: liveness, credential names, counters. */

export const HealthSchema = z.object({ ok: z.literal(true), time: z.string() });

/** The names of the webhook credentials (CREDENTIAL_<NAME> secrets), never their values; one page. */
export const CredentialsSchema = z.object({ items: z.array(z.object({ name: z.string() })), next_cursor: z.null() });
export type Credentials = z.infer<typeof CredentialsSchema>;

export const MetricsSchema = z.object({
  counters: z.record(z.string(), z.number()),
  inbox: z.object({ pending: z.int(), oldest_ms: z.number().nullable() }),
  isolate_started_at: z.string(),
});
