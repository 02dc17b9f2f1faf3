/**
 * One JSON object per line on stdout: `wrangler tail --format json` shows them in each log entry
 * and `npm start` prints them as they are. Fields are flat so that `jq 'select(.run_id == "...")'`
 * works. Lines made in one turn (say the transitions one step of a run went through) are written
 * with one console.log call, one line each: a console call costs far more than a line (measured
 * locally: ~0.6 ms of workerd CPU per call, ~0.05 ms per extra line in the same call).
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const line = (kind: string, fields: LogFields) => JSON.stringify({ kind, ts: new Date().toISOString(), ...fields });

export function log(kind: string, fields: LogFields): void {
  console.log(line(kind, fields));
}

/** Several lines in one call; each is still one JSON object on its own line. */
export function logLines(lines: { kind: string; fields: LogFields }[]): void {
  if (lines.length > 0) console.log(lines.map((l) => line(l.kind, l.fields)).join("\n"));
}

export function logError(kind: string, err: unknown, fields: LogFields = {}): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ kind, level: "error", ts: new Date().toISOString(), message, ...fields }));
}
