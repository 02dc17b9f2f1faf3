/**
 * Pure helpers for calling webhooks: URL building, the outbound host rule, status classification,
 * `Retry-After`, capped body reading and base64. No bindings, no env. Redaction is in redact.ts.
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

type IPv4 = [number, number, number, number];

/** One part of a WHATWG IPv4 host: 0x… is hex, a leading 0 octal, else decimal. */
function ipv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return parseInt(part.slice(1), 8);
  if (/^(0|[1-9]\d*)$/.test(part)) return Number(part);
  return undefined;
}

/**
 * IPv4 as four octets, read the way the URL parser reads a host: one to four parts, each
 * decimal, octal (0177) or hex (0x7f), the last filling the remaining bytes (127.1, 2130706433,
 * 0x7f000001). Undefined for anything else. `new URL` already normalizes these spellings; this
 * also holds for a host name that did not come through it.
 */
export function parseIPv4(host: string): IPv4 | undefined {
  const parts = host.split(".");
  if (parts.length > 1 && parts.at(-1) === "") parts.pop();
  if (parts.length < 1 || parts.length > 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    const n = ipv4Part(part);
    if (n === undefined || !Number.isSafeInteger(n)) return undefined;
    octets.push(n);
  }
  const last = octets.pop()!;
  if (octets.some((n) => n > 255) || last >= 256 ** (4 - octets.length)) return undefined;
  for (let i = 3 - octets.length; i >= 0; i--) octets.push(Math.floor(last / 256 ** i) % 256);
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return [a, b, c, d];
}

/** The URL parser's "ends in a number": such a host is an IPv4 address or invalid, never a name. */
function endsInNumber(host: string): boolean {
  const parts = host.split(".");
  if (parts.length > 1 && parts.at(-1) === "") parts.pop();
  const last = parts.at(-1) ?? "";
  return /^\d+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

/**
 * IPv6 (brackets, zone id and upper case allowed, an embedded dotted IPv4 tail too) as eight
 * 16-bit groups; undefined when it is not an IPv6 address.
 */
export function parseIPv6(host: string): number[] | undefined {
  let h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!h.includes(":")) return undefined;
  h = h.replace(/%.*$/, ""); // zone id
  const lastColon = h.lastIndexOf(":");
  const maybeV4 = h.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    // ::ffff:1.2.3.4 — rewrite the dotted tail as two groups; only dotted decimal is IPv6 syntax
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(maybeV4)) return undefined;
    const v4 = parseIPv4(maybeV4.replace(/(^|\.)0+(?=\d)/g, "$1"));
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

/** Loopback, private, link-local, shared, documentation, reserved, multicast or unspecified IPv4. */
function isNonPublicIPv4([a, b, c]: IPv4): boolean {
  return (
    a === 0 || // 0.0.0.0/8 "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // 100.64/10 carrier-grade NAT
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // protocol assignments, TEST-NET-1
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast (deprecated)
    (a === 198 && (b === 18 || b === 19)) || // 198.18/15 benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224 // multicast, reserved, broadcast
  );
}

/**
 * Public IPv6 is global unicast (2000::/3) outside its special ranges. Everything else is
 * refused: loopback and unspecified, IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96),
 * NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard (100::/64), unique local (fc00::/7), link-local
 * (fe80::/10), site-local (fec0::/10), multicast (ff00::/8) and unassigned space. Inside
 * 2000::/3: the IETF protocol block 2001::/23 (Teredo 2001::/32, benchmarking, ORCHID),
 * documentation (2001:db8::/32, 3fff::/20), and 6to4 (2002::/16) when it embeds a non-public IPv4.
 */
function isNonPublicIPv6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0] = g;
  if ((g0 & 0xe000) !== 0x2000) return true;
  if (g0 === 0x2001) return g1 < 0x0200 || g1 === 0x0db8;
  if (g0 === 0x3fff) return g1 < 0x1000;
  if (g0 === 0x2002) return isNonPublicIPv4([g1 >> 8, g1 & 255, g2 >> 8, g2 & 255]);
  return false;
}

/** Suffixes of names that only resolve inside a network. */
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "localdomain", "lan"];

/**
 * Public wildcard-DNS services whose names resolve to loopback (localtest.me, lvh.me, vcap.me,
 * localho.st) or to whatever address is spelled in the name (127.0.0.1.nip.io,
 * 10-0-0-1.sslip.io): they exist to reach local or arbitrary addresses, so every name under them
 * is refused unless listed. We do not decode the address they embed.
 */
const LOOPBACK_DNS = ["nip.io", "sslip.io", "xip.io", "traefik.me", "localtest.me", "lvh.me", "vcap.me", "localho.st"];

const under = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/**
 * True when a URL hostname names a loopback, private, link-local or otherwise non-public
 * address in any spelling (IPv4 in decimal, octal or hex parts; IPv6 compressed, bracketed,
 * with an embedded dotted quad, a zone id or upper case), a name that only resolves inside a
 * network (localhost, single labels, .local, .internal ...) or a wildcard-DNS name that points
 * at one. Anything that looks like an IP literal but does not parse is non-public too.
 */
export function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  const v6 = parseIPv6(host);
  if (v6) return isNonPublicIPv6(v6);
  if (host.includes(":") || host.startsWith("[")) return true; // unparseable IP literal
  const v4 = parseIPv4(host);
  if (v4) return isNonPublicIPv4(v4);
  if (endsInNumber(host)) return true; // neither an IPv4 address nor a name
  if (!host.includes(".")) return true; // a single label, localhost among them
  return LOCAL_SUFFIXES.some((s) => host.endsWith(`.${s}`)) || LOOPBACK_DNS.some((d) => under(host, d));
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
// Base64 (Basic auth, MIME, and the encoded forms of a secret that redaction looks for)

/** Base64 of the UTF-8 bytes of `text` (btoa alone only takes Latin-1). */
export function base64Utf8(text: string): string {
  return base64Bytes(new TextEncoder().encode(text));
}

export function base64Bytes(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
