import type { DateSpec } from "./common";
import { interpolateString, InterpolationError, type Scope } from "./interpolate";

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class DateSpecError extends Error {}

/** "2026-11-22" for the UTC calendar day of an instant. */
export function utcDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/** Parses "2026-12-01" or an ISO timestamp to the UTC midnight of its calendar day. */
export function parseCalendarDate(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = Date.UTC(y, mo - 1, d);
    // Date.UTC rolls 2026-02-30 over to March; a real calendar date round-trips.
    return utcDate(new Date(t)) === text ? t : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) return undefined;
    return Date.parse(utcDate(new Date(t)));
  }
  return undefined;
}

export function addDays(date: string, days: number): string {
  const t = parseCalendarDate(date);
  if (t === undefined) throw new DateSpecError(`"${date}" is not a calendar date`);
  return utcDate(new Date(t + days * DAY_MS));
}

/** Resolves a DateSpec to a UTC calendar date (YYYY-MM-DD). */
export function resolveDateSpec(spec: DateSpec, scope: Scope, now: Date): string {
  switch (spec.type) {
    case "absolute":
      if (parseCalendarDate(spec.date) === undefined) throw new DateSpecError(`"${spec.date}" is not a calendar date`);
      return spec.date;
    case "relative":
      return addDays(utcDate(now), spec.days);
    case "interpolated": {
      let value: unknown;
      try {
        value = interpolateString(spec.value, scope);
      } catch (err) {
        if (err instanceof InterpolationError) throw new DateSpecError(err.message);
        throw err;
      }
      if (typeof value !== "string" || parseCalendarDate(value) === undefined) {
        throw new DateSpecError(`${spec.value} gave ${JSON.stringify(value)}, which is not a date`);
      }
      return addDays(utcDate(new Date(parseCalendarDate(value)!)), spec.offset_days);
    }
  }
}
