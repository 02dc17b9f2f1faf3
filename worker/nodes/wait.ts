import { z } from "zod";
import { DateSpecSchema, SCHEDULE_LIMIT_MS } from "../definition/common";
import { parseCalendarDate, resolveDateSpec } from "../definition/date-spec";
import type { Preview, WaitModule } from "../engine/step";

const Duration = z
  .strictObject({
    minutes: z.number().min(0).optional(),
    hours: z.number().min(0).optional(),
    days: z.number().min(0).optional(),
  })
  .refine((d) => (d.minutes ?? 0) + (d.hours ?? 0) + (d.days ?? 0) > 0, {
    message: "Give minutes, hours or days greater than 0",
  })
  .refine((d) => durationMs(d) <= SCHEDULE_LIMIT_MS, { message: "A wait is at most 365 days" });

export const WaitConfigSchema = z.union([
  z.strictObject({ duration: Duration }),
  z.strictObject({ until: DateSpecSchema }),
]);
export type WaitConfig = z.infer<typeof WaitConfigSchema>;

export function durationMs(d: { minutes?: number | undefined; hours?: number | undefined; days?: number | undefined }): number {
  return Math.round(((d.days ?? 0) * 24 * 60 + (d.hours ?? 0) * 60 + (d.minutes ?? 0)) * 60_000);
}

/** Sleeps on the run's alarm until a duration has passed or a UTC date has begun. */
export const wait = {
  kind: "wait",
  type: "wait",
  label: "Wait",
  configSchema: WaitConfigSchema,
  until(config, scope, now) {
    // resolveDateSpec gives a calendar date or throws, so it always parses.
    return "duration" in config ? now.getTime() + durationMs(config.duration) : parseCalendarDate(resolveDateSpec(config.until, scope, now))!;
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
