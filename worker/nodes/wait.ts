import { z } from "zod";
import { DateSpecSchema, SCHEDULE_LIMIT_MS } from "../definition/common";
import { parseCalendarDate, resolveDateSpec } from "../definition/date-spec";
import { notPreviewable, type WaitModule } from "../engine/step";

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
  preview: notPreviewable,
} as const satisfies WaitModule<typeof WaitConfigSchema, "wait">;
