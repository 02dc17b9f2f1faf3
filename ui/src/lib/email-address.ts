/**
 * Whether a recipient typed into the builder can be sent to: an address the worker accepts
 * (zod's email pattern, the one worker/nodes/send-email.ts checks with), or a template whose
 * value is only known in the run. Pure (unit-tested beside zod's own check).
 */
const EMAIL = /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$/;

/** The problem with `value` as a recipient, in words; null when it is fine. */
export function emailProblem(value: string): string | null {
  if (value.includes("{{")) return null;
  return EMAIL.test(value) ? null : `“${value}” is not an email address`;
}
