/*
 * The receiving side of Web Push, for tests: a browser's subscription keys, the decryption a user
 * agent performs (RFC 8291 §3, RFC 8188 §2), and the check a push service makes of a VAPID
 * Authorization header (RFC 8292 §3). Written apart from worker/lib/web-push.ts on purpose, from
 * the RFCs alone, so that a mistake there cannot cancel out here.
 */

const enc = new TextEncoder();

export function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function unb64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function join(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 5869 with HMAC-SHA-256, step by step (extract, then expand; one block is enough here). */
async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const hmac = async (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(await crypto.subtle.sign("HMAC", await crypto.subtle.importKey("raw", join(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]), join(data)));
  const prk = await hmac(salt, ikm);
  const t1 = await hmac(prk, join(info, Uint8Array.of(1)));
  return t1.slice(0, length);
}

/** A user agent's subscription: keys to hand the sender, and what it needs to read a message. */
export interface Subscriber {
  keys: { p256dh: string; auth: string };
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  auth: Uint8Array;
}

/** A subscriber from fixed keys (the RFC's) or fresh ones. */
export async function subscriber(fixed?: { publicKey: string; privateKey: string; auth: string }): Promise<Subscriber> {
  if (fixed) {
    const publicKey = unb64url(fixed.publicKey);
    return { keys: { p256dh: fixed.publicKey, auth: fixed.auth }, publicKey, privateKey: unb64url(fixed.privateKey), auth: unb64url(fixed.auth) };
  }
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const auth = crypto.getRandomValues(new Uint8Array(16));
  return { keys: { p256dh: b64url(publicKey), auth: b64url(auth) }, publicKey, privateKey: unb64url(jwk.d!), auth };
}

/** What a message's header says (RFC 8188 §2.1), and its plaintext once decrypted. */
export interface Opened {
  salt: Uint8Array;
  recordSize: number;
  senderKey: Uint8Array;
  plaintext: Uint8Array;
  text: string;
}

/** Decrypts an `aes128gcm` push message with the subscription's private key, as a browser does. */
export async function decryptPush(body: Uint8Array, sub: Subscriber): Promise<Opened> {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idlen = body[20]!;
  const senderKey = body.slice(21, 21 + idlen);
  const record = body.slice(21 + idlen);
  if (record.length > recordSize) throw new Error("More than one record: a push message has one");

  const jwk = { kty: "EC", crv: "P-256", x: b64url(sub.publicKey.slice(1, 33)), y: b64url(sub.publicKey.slice(33)), d: b64url(sub.privateKey) };
  const mine = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const theirs = await crypto.subtle.importKey("raw", join(senderKey), { name: "ECDH", namedCurve: "P-256" }, false, []);
  // The runtime reads `public`; the Workers types spell it `$public`.
  const params: { name: string; public: CryptoKey } = { name: "ECDH", public: theirs };
  const ecdh = new Uint8Array(await crypto.subtle.deriveBits(params as Parameters<SubtleCrypto["deriveBits"]>[0], mine, 256));

  const ikm = await hkdf(sub.auth, ecdh, join(enc.encode("WebPush: info\0"), sub.publicKey, senderKey), 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", join(cek), "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: join(nonce) }, key, join(record)));

  // RFC 8188 §2: the last record ends with 0x02, then any number of zero bytes of padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("The record does not end with the last-record delimiter 0x02");
  const plaintext = padded.slice(0, end);
  return { salt, recordSize, senderKey, plaintext, text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plaintext) };
}

export interface VapidToken {
  header: Record<string, unknown>;
  claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  publicKey: string;
}

/**
 * Checks an `Authorization: vapid t=…, k=…` header as a push service does: the JWT's ES256
 * signature must verify with the key in `k`. Throws otherwise.
 */
export async function verifyVapid(authorization: string): Promise<VapidToken> {
  const m = /^vapid t=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(authorization);
  if (!m) throw new Error(`Not a VAPID Authorization header: ${authorization}`);
  const [, header, claims, signature, k] = m as unknown as [string, string, string, string, string];
  const point = unb64url(k);
  const key = await crypto.subtle.importKey("raw", point, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, unb64url(signature), enc.encode(`${header}.${claims}`));
  if (!ok) throw new Error("The VAPID signature does not verify with the key in k=");
  const parse = (part: string) => JSON.parse(new TextDecoder().decode(unb64url(part))) as Record<string, unknown>;
  return { header: parse(header), claims: parse(claims), publicKey: k };
}

/** A fresh VAPID key pair as the secrets hold it: raw public point and private scalar, base64url. */
export async function vapidKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  return { publicKey: b64url(raw), privateKey: jwk.d! };
}
