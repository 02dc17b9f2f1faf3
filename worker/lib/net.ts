/**
 * Pure helpers for calling webhooks: URL building, the outbound host rule, status classification,
 * `Retry-After`, capped body reading and secret redaction. No bindings, no env.
 */

export type QueryValue = string | number | boolean;

/**
 * The URL with `query` merged into its search params; a key given in `query` replaces the same
 * key written in the URL. Throws a TypeError when `url` is not an absolute URL.
 */
export function buildUrl(url: string, query: Record<string, QueryValue> = {}): URL {
  const u = new URL(url);
  for (const [key, value] of Object.entries(query)) u.searchParams.set(key, String(value));
  return u;
}

// ---------------------------------------------------------------------------------------------
// The host rule (SPEC §9): https to public hosts; anything else only for WEBHOOK_ALLOWED_HOSTS.

/** Dotted-decimal IPv4 as four octets; undefined for anything else (URL has normalized 0x7f.1 etc.). */
export function parseIPv4(host: string): [number, number, number, number] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (octets.some((o) => !(o >= 0 && o <= 255))) return undefined;
  return [octets[0]!, octets[1]!, octets[2]!, octets[3]!];
}

/** IPv6 (brackets optional) as eight 16-bit groups; undefined when it is not an IPv6 address. */
export function parseIPv6(host: string): number[] | undefined {
  let h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!h.includes(":")) return undefined;
  h = h.replace(/%.*$/, ""); // zone id
  const lastColon = h.lastIndexOf(":");
  const maybeV4 = h.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    // ::ffff:1.2.3.4 — rewrite the dotted tail as two groups
    const v4 = parseIPv4(maybeV4);
    if (!v4) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    h = `${h.slice(0, lastColon + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return undefined;
  const group = (s: string) => (s === "" ? [] : s.split(":"));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const valid = (g: string) => /^[0-9a-f]{1,4}$/i.test(g);
  if (![...head, ...rest].every(valid)) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const zeros = new Array<number>(8 - explicit).fill(0);
  const groups = [...head.map((g) => parseInt(g, 16)), ...(halves.length === 2 ? zeros : []), ...rest.map((g) => parseInt(g, 16))];
  return groups.length === 8 ? groups : undefined;
}

/** Loopback, private, link-local, shared, reserved, multicast or unspecified IPv4. */
function isNonPublicIPv4([a, b, c]: [number, number, number, number]): boolean {
  return (
    a === 0 || // 0.0.0.0/8 "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // 100.64/10 carrier-grade NAT
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && c === 0) || // 192.0.0/24 protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // 198.18/15 benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function isNonPublicIPv6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const v4 = (hi: number, lo: number): [number, number, number, number] => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstFiveZero && g5 === 0) {
    // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
    if (g6 === 0 && (g7 === 0 || g7 === 1)) return true;
    return isNonPublicIPv4(v4(g6, g7));
  }
  if (firstFiveZero && g5 === 0xffff) return isNonPublicIPv4(v4(g6, g7)); // ::ffff:a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isNonPublicIPv4(v4(g6, g7)); // NAT64
  if (g0 === 0x2002) return isNonPublicIPv4(v4(g1, g2)); // 6to4 embeds an IPv4
  return (
    (g0 & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (g0 & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (g0 & 0xffc0) === 0xfec0 || // fec0::/10 site-local (deprecated)
    (g0 & 0xff00) === 0xff00 // multicast
  );
}

const LOCAL_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain", ".lan"];

/**
 * True when a URL hostname (as `URL` normalizes it: lower case, IPv6 in brackets) names a
 * loopback, private, link-local or otherwise non-public address, or a name that only resolves
 * inside a network (localhost, single labels, .local, .internal ...).
 */
export function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  const v4 = parseIPv4(host);
  if (v4) return isNonPublicIPv4(v4);
  const v6 = parseIPv6(host);
  if (v6) return isNonPublicIPv6(v6);
  if (host.startsWith("[")) return true; // unparseable IP literal: never treat as public
  if (host === "localhost" || !host.includes(".")) return true;
  return LOCAL_SUFFIXES.some((s) => host.endsWith(s));
}

/** Whether `url`'s host is listed; entries are host names or IPs, optionally with a port. */
export function isAllowedHost(url: URL, allowed: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase().replace(/\.$/, "");
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  const host = url.host.toLowerCase();
  return allowed.some((entry) => {
    const e = entry.trim().toLowerCase().replace(/\.$/, "");
    return e !== "" && (e === hostname || e === bare || e === host);
  });
}

/**
 * Why a webhook may not call `url`, or undefined when it may: https to a public host is always
 * allowed; plain http, or a private / loopback / link-local host, only when the host is listed in
 * WEBHOOK_ALLOWED_HOSTS. Credentials in the URL are refused so that they never sit in a definition.
 */
export function hostRefusal(url: URL, allowed: readonly string[]): string | undefined {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `Only http and https URLs can be called, not ${url.protocol}`;
  }
  if (url.username || url.password) {
    return "The URL carries a user name or password: put credentials in auth (basic) instead";
  }
  if (isAllowedHost(url, allowed)) return undefined;
  const listed = allowed.length ? allowed.join(", ") : "nothing";
  if (isNonPublicHost(url.hostname)) {
    return (
      `Refused to call ${url.hostname}: private, loopback and link-local hosts can only be called when ` +
      `listed in WEBHOOK_ALLOWED_HOSTS (now: ${listed})`
    );
  }
  if (url.protocol === "http:") {
    return (
      `Refused to call http://${url.host}: plain http is only allowed for hosts listed in ` +
      `WEBHOOK_ALLOWED_HOSTS (now: ${listed}); use https`
    );
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Status classification

/** A status code or an inclusive [low, high] range, as in `success_status`. */
export type StatusRange = number | readonly [number, number];

export function statusMatches(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => (typeof r === "number" ? r === status : status >= r[0] && status <= r[1]));
}

export type StatusClass = "success" | "retryable" | "permanent";

/**
 * SPEC §9: a status in `success` succeeds (even 5xx when listed); 408, 429 and 5xx are worth
 * retrying; every other status (other 4xx, unlisted 1xx/2xx/3xx) fails at once.
 */
export function classifyStatus(status: number, success: readonly StatusRange[]): StatusClass {
  if (statusMatches(status, success)) return "success";
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) return "retryable";
  return "permanent";
}

/**
 * `Retry-After` as milliseconds from `nowMs`: delay-seconds or an HTTP-date (never negative).
 * Undefined when absent or unparseable — the engine then uses its own back-off.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date starts with a day name (IMF-fixdate, RFC 850 and asctime all do); requiring it
  // keeps Date.parse from reading "1.5" or "-1" as some date.
  if (!/^[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

// ---------------------------------------------------------------------------------------------
// Response bodies

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Reads at most `limit` bytes of a body and cancels the rest, so a huge answer costs neither
 * memory nor time. `truncated` is true when the body had more.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  limit = BODY_LIMIT_BYTES,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), truncated: false };
  signal?.throwIfAborted();
  const reader = body.getReader();
  // A stalled body must not outlive the timeout: cancelling ends the pending read.
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > limit) {
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (truncated) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  signal?.throwIfAborted();
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, truncated };
}

export function isJsonContentType(contentType: string | null | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/**
 * The body as the output shows it: parsed JSON when the answer says JSON and is complete,
 * otherwise text. A cut inside a multi-byte character drops that partial character.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null | undefined, truncated: boolean): unknown {
  const text = new TextDecoder("utf-8").decode(bytes, { stream: truncated });
  if (!truncated && isJsonContentType(contentType) && text.trim() !== "") {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Redaction

export const REDACTED = "[redacted]";

/** Base64 of the UTF-8 bytes of `text` (btoa alone only takes Latin-1). */
export function base64Utf8(text: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Every spelling of the secrets that could come back from a server that echoes a request: the
 * value, its base64 (Basic auth), its JSON-escaped and URL-encoded forms, and the password half
 * of a "user:password" secret. Longest first, so a longer form is replaced before its parts.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(base64Utf8(s));
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
    const colon = s.indexOf(":");
    if (colon > 0 && s.length - colon - 1 >= 4) forms.add(s.slice(colon + 1));
  }
  return [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
}

export function redactText(text: string, forms: readonly string[]): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.replaceAll(f, REDACTED);
  return out;
}

/** A copy of a JSON-like value with every string (and key) scrubbed of the secret forms. */
export function redact(value: unknown, forms: readonly string[]): unknown {
  if (forms.length === 0) return value;
  if (typeof value === "string") return redactText(value, forms);
  if (Array.isArray(value)) return value.map((v) => redact(v, forms));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactText(k, forms)] = redact(v, forms);
    return out;
  }
  return value;
}
