/*
 * Five-field cron expressions in UTC (SPEC §15), as Workers Cron Triggers and crontab(5) read them:
 * `minute hour day-of-month month day-of-week`. Each field is `*`, a value, a range `a-b`, a step
 * `*\/n`, `a-b/n` or `a/n` (n at most the field's size: `*\/90` minutes would name minute 0 only), or
 * a list of these; months and weekdays also by name (JAN, MON), Sunday as 0 or 7. As in crontab,
 * when both day fields are restricted (neither starts with `*`) a day matches when either does:
 * `0 6 1 * MON` runs on the 1st and on every Monday.
 *
 * `croner` does the parsing, matching and next-time search. It reads more than we accept (seconds
 * and year fields, `?`, `L`, `W`, `#`, `+`), so each field is first checked against the grammar
 * above here: a saved schedule means the same to any crontab reader, and a person gets a message
 * naming the field, not croner's wording.
 */
import { Cron as Croner } from "croner";

export interface Cron {
  /** The expression as given (trimmed). */
  source: string;
  /** croner's job for it: never started (no function, paused), only asked for times. */
  job: Croner;
}

export class CronError extends Error {}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names for values from `min` on. */
  names?: string[];
  /** How many distinct values the field has: the largest step croner takes. */
  span: number;
}

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59, span: 60 },
  { name: "hour", min: 0, max: 23, span: 24 },
  { name: "day of month", min: 1, max: 31, span: 31 },
  { name: "month", min: 1, max: 12, span: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day of week", min: 0, max: 7, span: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

// Expanded here (croner knows them too) so that the fields are checked like any other.
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

function value(text: string, f: FieldSpec): number {
  const named = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return f.min + named;
  if (!/^\d{1,2}$/.test(text)) throw new CronError(`${f.name}: "${text}" is not a number${f.names ? ` or a name like ${f.names[1]}` : ""}`);
  const n = Number(text);
  if (n < f.min || n > f.max) throw new CronError(`${f.name}: ${n} is out of range ${f.min}-${f.max}`);
  return n;
}

/** Throws unless every item of the field is in the grammar of the header comment. */
function checkField(text: string, f: FieldSpec): void {
  for (const item of text.split(",")) {
    if (item === "") throw new CronError(`${f.name}: an empty item in "${text}"`);
    const unnamed = f.names ? item.toUpperCase().replace(new RegExp(f.names.join("|"), "g"), "") : item;
    if (/[?LW#+]/i.test(unnamed)) {
      throw new CronError(`${f.name}: "${item}" is not supported (no ?, L, W, # or +): use numbers, ranges, steps and lists`);
    }
    const [range, step, extra] = item.split("/");
    if (extra !== undefined) throw new CronError(`${f.name}: "${item}" has two steps`);
    if (step !== undefined && (!/^\d{1,2}$/.test(step) || Number(step) < 1 || Number(step) > f.span)) {
      throw new CronError(`${f.name}: the step of "${item}" must be a whole number from 1 to ${f.span}`);
    }
    if (range === "*") continue;
    const [a, b, more] = range!.split("-");
    if (more !== undefined || a === "" || b === "") throw new CronError(`${f.name}: "${range}" is not a range like 1-5`);
    const lo = value(a!, f);
    if (b !== undefined && lo > value(b, f)) throw new CronError(`${f.name}: the range ${range} runs backwards`);
  }
}

/** Parses an expression; throws a CronError whose message says what is wrong, for a person. */
export function parseCron(expression: string): Cron {
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  if (expanded.startsWith("@")) throw new CronError(`Unknown shorthand ${source}: use ${Object.keys(MACROS).join(", ")} or five fields`);
  const parts = expanded.split(/\s+/).filter(Boolean);
  if (parts.length === 6) throw new CronError("Use five fields (minute hour day-of-month month day-of-week): no seconds field, a schedule runs at most once a minute");
  if (parts.length !== 5) throw new CronError(`Use five fields (minute hour day-of-month month day-of-week); this has ${parts.length}`);
  parts.forEach((p, i) => checkField(p, FIELDS[i]!));
  let job: Croner;
  try {
    // utcOffset 0 rather than timezone "UTC": plain UTC arithmetic, no Intl lookups nor DST rules.
    // Days as crontab reads them: a day field starting with `*` (`*`, `*\/2`) leaves the other to
    // decide (AND); two restricted ones match on either (OR). croner's own OR rule counts only a bare
    // `*` as unrestricted, so the rule is chosen here. sloppyRanges allows `a/n`.
    const domAndDow = parts[2]!.startsWith("*") || parts[4]!.startsWith("*");
    job = new Croner(parts.join(" "), { paused: true, utcOffset: 0, mode: "5-part", domAndDow, sloppyRanges: true });
  } catch (err) {
    // Not reached for what checkField passes; kept so that every refusal is a CronError.
    throw new CronError(err instanceof Error ? err.message.replace(/^CronPattern: /, "") : String(err));
  }
  // `0 0 30 2 *` is well formed and never runs: refused too, so a saved schedule always fires.
  if (job.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) throw new CronError(`${source} never runs (no such day in any month it names)`);
  return { source, job };
}

/** The problem with an expression, or undefined when it is a valid schedule. */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (err) {
    if (err instanceof CronError) return err.message;
    throw err;
  }
}

const MINUTE_MS = 60_000;

/** Whether the expression runs in the UTC minute that holds `at`. */
export function cronMatches(cron: Cron, at: Date): boolean {
  // croner matches to the second (and five-field patterns run at second 0): ask about the minute.
  return cron.job.match(new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS));
}

/**
 * The next `count` minutes after `after` (exclusive) at which the expression runs, in order.
 * Fewer only past croner's horizon (the year 3000): parseCron refuses a cron that never runs.
 */
export function nextTimes(cron: Cron, after: Date, count: number): Date[] {
  return cron.job.nextRuns(count, after);
}
