import { z } from "zod";
import { DateSpecSchema, SCHEDULE_LIMIT_MS } from "../definition/common";
import { parseCalendarDate, resolveDateSpec } from "../definition/date-spec";
import type { ActionResult, Preview, WaitModule } from "../engine/step";
import { isEntityKind } from "../entities/registry";

export const Duration = z
  .strictObject({
    minutes: z.number().min(0).optional(),
    hours: z.number().min(0).optional(),
    days: z.number().min(0).optional(),
  })
  .refine((d) => (d.minutes ?? 0) + (d.hours ?? 0) + (d.days ?? 0) > 0, {
    message: "Give minutes, hours or days greater than 0",
  })
  .refine((d) => durationMs(d) <= SCHEDULE_LIMIT_MS, { message: "A wait is at most 365 days" });

/** On waking, read the trigger's entity again and end the run early when the trigger no longer matches (SPEC §15). */
const recheck = z.boolean().optional().describe("Re-check the trigger's tags and conditions on the entity as it is when the wait ends");

export const WaitConfigSchema = z.union([
  z.strictObject({ duration: Duration, recheck_trigger: recheck }),
  z.strictObject({ until: DateSpecSchema, recheck_trigger: recheck }),
]);
export type WaitConfig = z.infer<typeof WaitConfigSchema>;

export function durationMs(d: { minutes?: number | undefined; hours?: number | undefined; days?: number | undefined }): number {
  return Math.round(((d.days ?? 0) * 24 * 60 + (d.hours ?? 0) * 60 + (d.minutes ?? 0)) * 60_000);
}

/**
 * Sleeps on the run's alarm until a duration has passed or a UTC date has begun. With
 * `recheck_trigger` the engine then has it read the trigger's entity (`execute`) and re-checks the
 * trigger on it (engine/trigger-match.ts `stillMatches`).
 */
export const wait = {
  kind: "wait",
  type: "wait",
  label: "Wait",
  configSchema: WaitConfigSchema,
  until(config, scope, now) {
    // resolveDateSpec gives a calendar date or throws, so it always parses.
    return "duration" in config ? now.getTime() + durationMs(config.duration) : parseCalendarDate(resolveDateSpec(config.until, scope, now))!;
  },
  rechecks: (config) => config.recheck_trigger === true,
  /** The trigger's entity as the mirror holds it now: `{entity: null}` when it is gone (deleted, or never mirrored). */
  async execute(_input, ctx, deps): Promise<ActionResult> {
    const kind = ctx.trigger.entity;
    if (!isEntityKind(kind)) return { ok: true, output: { entity: null } };
    try {
      return { ok: true, output: { entity: (await deps.mirror.read(kind, ctx.trigger.entity_id)) ?? null } };
    } catch (err) {
      return { ok: false, error: `Reading the ${kind} ${ctx.trigger.entity_id} again failed: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
    }
  },
  /** From the step's input (`{until}`, as the engine records it): how long it would sleep, in words. */
  preview(input, ctx): Promise<Preview> {
    const parsed = z.object({ until: z.iso.datetime() }).safeParse(input);
    if (!parsed.success) return Promise.resolve({ previewable: false, reason: "A wait's preview needs the time it ends" });
    const until = parsed.data.until;
    const ms = Date.parse(until) - ctx.now.getTime();
    const text = ms <= 0 ? `would not wait: ${until.slice(0, 10)} has begun` : `would wait ${humanDuration(ms)}, until ${until.slice(0, 10)}`;
    return Promise.resolve({ previewable: true, output: { until, wait_ms: Math.max(0, ms), text } });
  },
} as const satisfies WaitModule<typeof WaitConfigSchema, "wait">;

/** A duration as a merchant reads it: "45 minutes", "5 hours", "3 days". */
export function humanDuration(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return plural(Math.max(1, minutes), "minute");
  const hours = ms / 3_600_000;
  if (hours < 48 && !Number.isInteger(hours / 24)) return plural(Math.round(hours), "hour");
  return plural(Math.round(ms / 86_400_000), "day");
}
