/**
 * One JSON object per line on stdout: `wrangler tail --format json` shows each as a log entry and
 * `npm start` prints it as is. Fields are flat so that `jq 'select(.run_id == "...")'` works.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function log(kind: string, fields: LogFields): void {
  console.log(JSON.stringify({ kind, ts: new Date().toISOString(), ...fields }));
}

export function logError(kind: string, err: unknown, fields: LogFields = {}): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ kind, level: "error", ts: new Date().toISOString(), message, ...fields }));
}
