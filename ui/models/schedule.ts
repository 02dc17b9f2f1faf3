import { signal } from "@preact/signals";
import { api, describeError } from "../src/api";

/*
 * The builder's schedule (SPEC §15): `trigger.schedule` of the draft, a few common expressions,
 * and the next times the expression runs. The times come from the worker (GET
 * /api/workflows/schedule/times), so the builder and the scheduler read a cron with one parser;
 * the words and formats here are pure.
 */

export type Each = "entity" | "tick";

/** A schedule as the builder writes it when it is switched on: Mondays at six, per entity. */
export const DEFAULT_SCHEDULE = { cron: "0 6 * * 1", each: "entity" as Each };

export const CRON_PRESETS: readonly { cron: string; label: string }[] = [
  { cron: "0 6 * * 1", label: "Mondays at 06:00" },
  { cron: "0 6 * * *", label: "Every day at 06:00" },
  { cron: "0 6 * * 1-5", label: "Weekdays at 06:00" },
  { cron: "0 * * * *", label: "Every hour" },
  { cron: "*/15 * * * *", label: "Every 15 minutes" },
  { cron: "0 7 1 * *", label: "The 1st of each month at 07:00" },
];

/** What each tick starts, in words. */
export function eachLabel(each: Each, entity: string): string {
  const noun = entity.replaceAll("_", " ");
  return each === "tick" ? "One run per tick" : `One run per ${noun} that matches at the tick`;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** A time as the builder lists it, in UTC as the schedule runs: "Mon 23 Nov 2026, 06:00 UTC". */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** The next times of the expression being edited. A later request wins; an invalid expression shows the worker's words. */
export function createScheduleTimes() {
  const data = {
    /** The expression the times (or the problem) are of. */
    cron: signal<string | null>(null),
    times: signal<string[]>([]),
  };
  const view = { loading: signal(false), problem: signal<string | null>(null) };
  let seq = 0;
  async function load(cron: string) {
    const text = cron.trim();
    const mine = ++seq;
    if (text === "") {
      data.cron.value = null;
      data.times.value = [];
      view.problem.value = null;
      return;
    }
    view.loading.value = true;
    try {
      const answer = await api.cronTimes(text, 5);
      if (mine !== seq) return;
      data.cron.value = text;
      data.times.value = answer.next;
      view.problem.value = null;
    } catch (err) {
      if (mine !== seq) return;
      data.cron.value = text;
      data.times.value = [];
      view.problem.value = describeError(err);
    } finally {
      if (mine === seq) view.loading.value = false;
    }
  }
  return { data, view, load };
}
export type ScheduleTimes = ReturnType<typeof createScheduleTimes>;
