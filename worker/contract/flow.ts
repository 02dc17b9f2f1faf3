import { z } from "zod";
import { CAP_KINDS, type CapKind } from "../definition/controls";

/** What flow control did for a workflow (SPEC §14): `GET /api/workflows/{id}/stats`. */

export const FlowDaySchema = z.object({
  day: z.iso.date(),
  /** Runs that began executing (left `pending`). */
  started: z.int(),
  /** Events that started no run: inside a cooldown, or folded into a later event by debounce. */
  suppressed: z.int(),
  /** Runs a throttle held past the period they arrived in. */
  delayed: z.int(),
  /** Runs held (pending) at the gate's last report that day. */
  waiting: z.int(),
});
export type FlowDay = z.infer<typeof FlowDaySchema>;

const CapCounts = z.object(Object.fromEntries(CAP_KINDS.map((k) => [k, z.int()])) as Record<CapKind, z.ZodInt>);

export const FlowStatsSchema = z.object({
  workflow_id: z.string(),
  /** Newest day first, at most `days` of them; days without activity are left out. */
  days: z.array(FlowDaySchema),
  /** Today's (UTC) use of each daily cap, and the caps of the current version (null: no cap). */
  caps: z.object({
    day: z.iso.date(),
    used: CapCounts,
    limits: z.object(Object.fromEntries(CAP_KINDS.map((k) => [k, z.int().nullable()])) as Record<CapKind, z.ZodNullable<z.ZodInt>>),
  }),
});
export type FlowStats = z.infer<typeof FlowStatsSchema>;

export const FlowStatsQuerySchema = z.object({ days: z.coerce.number().int().min(1).max(90).default(14) });
