import { z } from "zod";
import type { VapidSetting } from "./engine/step";
import { vapidKeysProblem } from "./lib/web-push";
import { DEFAULT_ATTRIBUTION_DAYS } from "./engagement/conversion";

const list = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export const DEFAULT_RETENTION_DAYS = 30;

/** The string settings the Worker reads from vars and secrets (SPEC §2), parsed once per env. */
const SettingsSchema = z.object({
  API_TOKENS: z.string().optional().transform(list),
  EVENTS_SECRET: z.string().default(""),
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v) => list(v).map((h) => h.toLowerCase())),
  EMAIL_FROM: z.string().default("workflows@example.com"),
  INTERNAL_EMAILS: z.string().optional().transform(list),
  /** Web Push (RFC 8292): raw P-256 keys in base64url; the subject defaults to mailto:EMAIL_FROM. */
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().optional(),
  /**
   * The Worker's public origin, for the tracked links of `track_links` (`<PUBLIC_URL>/l/<token>`):
   * steps run without a request, so the origin cannot be read from one. Not an http(s) URL: null,
   * and a step that tracks links fails with the reason (the Worker itself keeps working).
   */
  PUBLIC_URL: z
    .string()
    .default("http://localhost:8787")
    .transform((v) => {
      const url = URL.parse(v.trim());
      return url && /^https?:$/.test(url.protocol) ? `${url.origin}${url.pathname}`.replace(/\/+$/, "") : null;
    }),
  /** Days after its notification within which an order converts a subscription (SPEC §12); not a whole number 0–365: the default. */
  ATTRIBUTION_DAYS: z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v?.trim() || NaN);
      return Number.isInteger(n) && n >= 0 && n <= 365 ? n : DEFAULT_ATTRIBUTION_DAYS;
    }),
  /** Days runs, dead and stale events and ended restock episodes are kept (SPEC §16); not a whole number 1–3650: the default. */
  RETENTION_DAYS: z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v?.trim() || NaN);
      return Number.isInteger(n) && n >= 1 && n <= 3650 ? n : DEFAULT_RETENTION_DAYS;
    }),
});

/**
 * The VAPID settings as send_push and `GET /api/push/public-key` use them. Malformed keys do not
 * stop the Worker: they make each push step fail with the reason, and the route answer 503.
 */
function vapidSetting(raw: z.infer<typeof SettingsSchema>): VapidSetting {
  const keys = {
    publicKey: raw.VAPID_PUBLIC_KEY?.trim() ?? "",
    privateKey: raw.VAPID_PRIVATE_KEY?.trim() ?? "",
    subject: raw.VAPID_SUBJECT?.trim() || `mailto:${raw.EMAIL_FROM}`,
  };
  const problem = vapidKeysProblem(keys);
  return problem === undefined ? { ok: true, keys } : { ok: false, reason: problem };
}

/** The settings, with what is derived from them: `VAPID`, the keys send_push signs with or why there are none usable. */
export const ConfigSchema = SettingsSchema.transform((s) => ({ ...s, VAPID: vapidSetting(s) }));
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
