import { z } from "zod";
import type { DateSpec } from "./common";
import { interpolateString, InterpolationError, type Scope } from "./interpolate";

/**
 * DateSpecs (SPEC §8) resolve to UTC calendar dates, "YYYY-MM-DD", years 0000 to 9999. A
 * timestamp stands for the UTC day it falls on (23:30-05:00 is the next UTC day). Input that is
 * not a real date (February 30th, hour 25, month 13) is refused, never rolled over.
 */

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** 0000-01-01 and 9999-12-31: the days a four-digit year can write. */
const FIRST = epochDay(0, 1, 1);
const LAST = epochDay(9999, 12, 31);

export class DateSpecError extends Error {
  override name = "DateSpecError";
}

/** Milliseconds of the UTC midnight of a calendar day; years below 100 are years, not 1900 + year. */
function epochDay(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

/** "2026-11-22" for the UTC calendar day of an instant. */
export function utcDate(instant: Date): string {
  const t = instant.getTime();
  if (Number.isNaN(t)) throw new DateSpecError("Not a valid time");
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  if (day < FIRST || day > LAST) throw new DateSpecError("The date falls outside the years 0000 to 9999");
  return new Date(day).toISOString().slice(0, 10);
}

/** Timestamps with a time of day (hours 00-23) and an offset or Z; without one, UTC is meant. */
const Timestamp = z.iso.datetime({ offset: true, local: true });

/** Parses "2026-12-01" or an ISO timestamp to the UTC midnight of its (UTC) calendar day; undefined when it is neither. */
export function parseCalendarDate(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
    const t = epochDay(y, mo, d);
    // setUTCFullYear rolls 2026-02-30 over to March; a real calendar date round-trips.
    return new Date(t).toISOString().slice(0, 10) === text ? t : undefined;
  }
  if (!Timestamp.safeParse(text).success) return undefined;
  // The date part must be a real date too: Date.parse turns 2026-02-30T10:00Z into March 2nd.
  if (parseCalendarDate(text.slice(0, 10)) === undefined) return undefined;
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const t = Date.parse(hasOffset ? text : `${text}Z`);
  if (Number.isNaN(t)) return undefined;
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  return day < FIRST || day > LAST ? undefined : day;
}

/** The calendar date `days` after `date` (before it when negative). */
export function addDays(date: string, days: number): string {
  const t = parseCalendarDate(date);
  if (t === undefined) throw new DateSpecError(`"${date}" is not a calendar date`);
  if (!Number.isInteger(days)) throw new DateSpecError(`${days} is not a whole number of days`);
  return utcDate(new Date(t + days * DAY_MS));
}

/** Resolves a DateSpec to a UTC calendar date (YYYY-MM-DD). Throws DateSpecError when it cannot. */
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
      const text = typeof value === "string" ? value.trim() : undefined;
      const t = text === undefined ? undefined : parseCalendarDate(text);
      if (t === undefined) {
        throw new DateSpecError(`${spec.value} gave ${JSON.stringify(value)}, which is not a date (use YYYY-MM-DD or an ISO timestamp)`);
      }
      return addDays(utcDate(new Date(t)), spec.offset_days);
    }
  }
}
