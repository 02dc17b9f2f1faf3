import { z } from "zod";

const list = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** The string settings the Worker reads from vars and secrets (SPEC §2), parsed once per env. */
export const ConfigSchema = z.object({
  API_TOKENS: z.string().optional().transform(list),
  EVENTS_SECRET: z.string().default(""),
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v) => list(v).map((h) => h.toLowerCase())),
  EMAIL_FROM: z.string().default("workflows@example.com"),
  INTERNAL_EMAILS: z.string().optional().transform(list),
});
export type Config = z.infer<typeof ConfigSchema> & {
  /** `CREDENTIAL_<NAME>` secrets by NAME. Never logged, never returned. */
  credentials: ReadonlyMap<string, string>;
};

export const CREDENTIAL_PREFIX = "CREDENTIAL_";
const cache = new WeakMap<object, Config>();

export function config(env: object): Config {
  let parsed = cache.get(env);
  if (!parsed) {
    const raw = env as Record<string, unknown>;
    const credentials = new Map<string, string>();
    for (const [key, value] of Object.entries(raw)) {
      if (key.startsWith(CREDENTIAL_PREFIX) && typeof value === "string" && key.length > CREDENTIAL_PREFIX.length) {
        credentials.set(key.slice(CREDENTIAL_PREFIX.length), value);
      }
    }
    parsed = { ...ConfigSchema.parse(raw), credentials };
    cache.set(env, parsed);
  }
  return parsed;
}
