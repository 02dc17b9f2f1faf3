/**
 * Standard Webhooks (https://www.standardwebhooks.com) verification with WebCrypto: HMAC-SHA256
 * over `${id}.${timestamp}.${body}` keyed by the base64 secret after its `whsec_` prefix. Same
 * scheme as the `standardwebhooks` package (the tests sign with it); WebCrypto keeps a 1 MiB
 * body off the pure-JS hash.
 *
 * The MAC covers the body's bytes exactly as they arrived: decoding first would turn a byte order
 * mark or an invalid UTF-8 sequence into other bytes, and a correctly signed body would fail.
 */
export const TOLERANCE_SECONDS = 5 * 60;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function decodeBase64(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const raw = decodeBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    keys.set(secret, key);
  }
  return key;
}

export type Verification = { ok: true; id: string } | { ok: false; reason: string };

export async function verifyStandardWebhook(secret: string, headers: Headers, body: Uint8Array, nowMs: number): Promise<Verification> {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signatures = headers.get("webhook-signature");
  if (!id || !timestamp || !signatures) {
    return { ok: false, reason: "Send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks)" };
  }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: "webhook-timestamp must be Unix seconds" };
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > TOLERANCE_SECONDS) return { ok: false, reason: "webhook-timestamp is more than 5 minutes away from now" };
  let key: CryptoKey;
  try {
    key = await hmacKey(secret);
  } catch {
    return { ok: false, reason: "The events secret is not configured correctly" };
  }
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.byteLength + body.byteLength);
  signed.set(prefix);
  signed.set(body, prefix.byteLength);
  for (const part of signatures.split(" ")) {
    const [version, signature] = part.split(",");
    if (version !== "v1" || !signature) continue;
    let mac: Uint8Array;
    try {
      mac = decodeBase64(signature);
    } catch {
      continue;
    }
    // crypto.subtle.verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, mac, signed)) return { ok: true, id };
  }
  return { ok: false, reason: "No webhook-signature matches the body" };
}
