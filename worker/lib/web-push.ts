import { z } from "zod";

/*
 * Web Push on WebCrypto alone: message encryption (RFC 8291, the `aes128gcm` content coding of
 * RFC 8188) and VAPID (RFC 8292). No bindings, no Node built-ins.
 *
 * Written here rather than taken from a package: @pushforge/builder encrypts with the obsolete
 * `aesgcm` draft coding, not RFC 8291's; @block65/webcrypto-web-push refuses http endpoints
 * (the webhook host rule allows them for listed hosts, and tests use a local push service), reads
 * the wall clock for the JWT, and takes no salt or sender key, so it cannot be checked against
 * the RFC's test vector.
 */

// ------------------------------------------------------------------------------ base64url

/** base64url without padding (RFC 4648 §5), as every Web Push key and JWT part is written. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Bytes of base64url text (padding optional); undefined when it is not base64url. */
export function base64UrlDecode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return undefined;
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) return undefined;
  try {
    const binary = atob(bare.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (bare.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const utf8 = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// ------------------------------------------------------------------------------ keys

/** An uncompressed P-256 point (X9.62): 0x04, then x and y, 32 bytes each. */
export const isP256Point = (b: Uint8Array | undefined): b is Uint8Array => b !== undefined && b.byteLength === 65 && b[0] === 0x04;

/** base64url text of exactly `bytes` bytes (and, with `point`, an uncompressed P-256 point). */
const KeyText = (bytes: number, what: string, point = false) =>
  z.string().refine(
    (t) => {
      const b = base64UrlDecode(t);
      return point ? isP256Point(b) : b?.byteLength === bytes;
    },
    { message: `${what} must be base64url of ${point ? "an uncompressed P-256 public key (65 bytes, starting 0x04)" : `${bytes} bytes`}` },
  );

/**
 * A browser's PushSubscription as `toJSON()` gives it (the customer's `push_subscriptions`):
 * the push service URL, the user agent's ECDH public key and its 16-byte auth secret.
 */
export const PushSubscriptionSchema = z.looseObject({
  endpoint: z.url({ protocol: /^https?$/, message: "A push endpoint is an http(s) URL" }).max(2048),
  keys: z.looseObject({ p256dh: KeyText(65, "keys.p256dh", true), auth: KeyText(16, "keys.auth") }),
});
export type PushSubscription = z.infer<typeof PushSubscriptionSchema>;

/** JWK of a P-256 key from its raw public point, with the private scalar when given. */
function p256Jwk(publicPoint: Uint8Array, d?: Uint8Array): JsonWebKey {
  return {
    kty: "EC",
    crv: "P-256",
    x: base64UrlEncode(publicPoint.subarray(1, 33)),
    y: base64UrlEncode(publicPoint.subarray(33, 65)),
    ...(d ? { d: base64UrlEncode(d) } : {}),
  };
}

/** An ECDH P-256 key pair of raw bytes (public point, private scalar), for key agreement. */
export function importEcdhPrivateKey(publicPoint: Uint8Array, privateScalar: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("jwk", p256Jwk(publicPoint, privateScalar), { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
}

type DeriveParams = Parameters<SubtleCrypto["deriveBits"]>[0];

/**
 * ECDH parameters naming the peer's public key. The runtime reads the member `public`; the
 * generated Workers types spell it `$public` (the `$` escapes the C++ keyword), so the object is
 * typed by hand and handed over as deriveBits' parameter type (DOM's and the Workers' alike).
 */
export function ecdhWith(peer: CryptoKey): DeriveParams {
  const params: { name: "ECDH"; public: CryptoKey } = { name: "ECDH", public: peer };
  return params as DeriveParams;
}

export function importEcdhPublicKey(publicPoint: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", publicPoint as Uint8Array<ArrayBuffer>, { name: "ECDH", namedCurve: "P-256" }, false, []);
}

// ------------------------------------------------------------------------------ RFC 8291

/** RFC 8291 §4: the record size we declare; one record carries the whole message. */
export const RECORD_SIZE = 4096;
/** RFC 8188 §2.1 header with a 65-byte key id: salt (16), rs (4), idlen (1), keyid (65). */
export const HEADER_BYTES = 86;
/**
 * The longest plaintext a push message carries: push services need only accept 4096 bytes of
 * body (RFC 8030 §7.2), which hold the header, the padding delimiter and the 16-byte GCM tag.
 */
export const MAX_PLAINTEXT_BYTES = RECORD_SIZE - HEADER_BYTES - 1 - 16;

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm as Uint8Array<ArrayBuffer>, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, info: info as Uint8Array<ArrayBuffer> }, key, bytes * 8);
  return new Uint8Array(bits);
}

/**
 * The content encryption key and nonce of RFC 8291 §3.3–3.4 (both sides derive the same):
 * IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" 0x00 ua_public as_public, 32), then
 * CEK and NONCE from HKDF(salt, IKM) with the RFC 8188 infos.
 */
export async function deriveContentKeys(ecdhSecret: Uint8Array, authSecret: Uint8Array, uaPublic: Uint8Array, asPublic: Uint8Array, salt: Uint8Array) {
  const keyInfo = concat(utf8.encode("WebPush: info\0"), uaPublic, asPublic);
  const ikm = await hkdf(authSecret, ecdhSecret, keyInfo, 32);
  const cek = await hkdf(salt, ikm, utf8.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, utf8.encode("Content-Encoding: nonce\0"), 12);
  return { ikm, cek, nonce };
}

/** The sender's side of one message; fresh per message unless a test fixes it (the RFC's vector). */
export interface EncryptOptions {
  salt?: Uint8Array;
  sender?: { publicKey: Uint8Array; privateKey: CryptoKey };
}

/**
 * Encrypts `plaintext` for one push subscription (RFC 8291 §3–4): an ephemeral ECDH P-256 key
 * pair and a random 16-byte salt per message; one record (`plaintext || 0x02`, no padding)
 * behind the 86-byte header. Throws when the keys are malformed or the plaintext is too long.
 */
export async function encryptPushMessage(plaintext: Uint8Array, keys: { p256dh: string; auth: string }, opts: EncryptOptions = {}): Promise<Uint8Array> {
  if (plaintext.byteLength > MAX_PLAINTEXT_BYTES) {
    throw new Error(`The push message is ${plaintext.byteLength} bytes; at most ${MAX_PLAINTEXT_BYTES} fit`);
  }
  const uaPublic = base64UrlDecode(keys.p256dh);
  const authSecret = base64UrlDecode(keys.auth);
  if (!isP256Point(uaPublic)) throw new Error("keys.p256dh is not an uncompressed P-256 public key");
  if (authSecret?.byteLength !== 16) throw new Error("keys.auth is not 16 bytes");

  const salt = opts.salt ?? crypto.getRandomValues(new Uint8Array(16));
  let sender = opts.sender;
  if (!sender) {
    const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
    sender = { publicKey: new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer), privateKey: pair.privateKey };
  }
  const ecdh = new Uint8Array(await crypto.subtle.deriveBits(ecdhWith(await importEcdhPublicKey(uaPublic)), sender.privateKey, 256));
  const { cek, nonce } = await deriveContentKeys(ecdh, authSecret, uaPublic, sender.publicKey, salt);
  const key = await crypto.subtle.importKey("raw", cek as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt"]);
  // 0x02 delimits the last (here the only) record; no padding follows it.
  const record = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce as Uint8Array<ArrayBuffer> }, key, concat(plaintext, Uint8Array.of(2))));
  const rs = new Uint8Array(4);
  new DataView(rs.buffer).setUint32(0, RECORD_SIZE);
  return concat(salt, rs, Uint8Array.of(sender.publicKey.byteLength), sender.publicKey, record);
}

// ------------------------------------------------------------------------------ RFC 8292

/** The application server's VAPID identity: raw P-256 keys in base64url and a contact URI. */
export interface VapidKeys {
  /** 65 bytes, uncompressed point: what browsers pass as `applicationServerKey`. */
  publicKey: string;
  /** 32 bytes: the private scalar d. */
  privateKey: string;
  /** `mailto:` or `https:` URI the push service can reach the sender at (RFC 8292 §2.1). */
  subject: string;
}

/** How long a VAPID token lives: RFC 8292 §2 allows at most 24 hours. */
export const VAPID_TOKEN_SECONDS = 12 * 60 * 60;

/** Why these VAPID settings cannot sign, or undefined when they have the right shapes. */
export function vapidKeysProblem(keys: { publicKey?: string | undefined; privateKey?: string | undefined; subject?: string | undefined }): string | undefined {
  if (!keys.publicKey || !keys.privateKey) return "VAPID keys are not set: add the secrets VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY";
  if (!isP256Point(base64UrlDecode(keys.publicKey))) return "VAPID_PUBLIC_KEY must be base64url of a raw P-256 public key (65 bytes, starting 0x04)";
  if (base64UrlDecode(keys.privateKey)?.byteLength !== 32) return "VAPID_PRIVATE_KEY must be base64url of a raw P-256 private key (32 bytes)";
  if (!keys.subject || !/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(keys.subject)) return "VAPID_SUBJECT must be a mailto: or https: URI";
  return undefined;
}

/**
 * The Authorization header for one push (RFC 8292 §3.1): `vapid t=<JWT>, k=<public key>`, the
 * JWT signed ES256 with claims aud (the push service's origin), exp (now + 12 h) and sub.
 */
export async function vapidAuthorization(endpoint: URL, keys: VapidKeys, now: Date): Promise<string> {
  const publicKey = base64UrlDecode(keys.publicKey);
  const privateKey = base64UrlDecode(keys.privateKey);
  if (!isP256Point(publicKey) || privateKey?.byteLength !== 32) throw new Error("The VAPID keys are malformed");
  const signer = await crypto.subtle.importKey("jwk", p256Jwk(publicKey, privateKey), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const part = (value: unknown) => base64UrlEncode(utf8.encode(JSON.stringify(value)));
  const claims = { aud: endpoint.origin, exp: Math.floor(now.getTime() / 1000) + VAPID_TOKEN_SECONDS, sub: keys.subject };
  const signingInput = `${part({ typ: "JWT", alg: "ES256" })}.${part(claims)}`;
  // WebCrypto signs ECDSA as r || s (64 bytes), which is what JWS ES256 wants (RFC 7518 §3.4).
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signer, utf8.encode(signingInput)));
  return `vapid t=${signingInput}.${base64UrlEncode(signature)}, k=${keys.publicKey}`;
}

// ------------------------------------------------------------------------------ the request

export const URGENCIES = ["very-low", "low", "normal", "high"] as const;
export type Urgency = (typeof URGENCIES)[number];

/**
 * A `Topic` (RFC 8030 §5.4: at most 32 base64url characters) derived from `key`: a push service
 * replaces a message it still holds with a later one of the same topic, so a repeated send of the
 * same step never shows twice on a device that was offline.
 */
export async function pushTopic(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(key)));
  return base64UrlEncode(digest.subarray(0, 24));
}

export interface PushRequest {
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/** The POST that delivers `payload` to one subscription (RFC 8030 §5), encrypted and signed. */
export async function buildPushRequest(
  subscription: PushSubscription,
  payload: Uint8Array,
  opts: { vapid: VapidKeys; now: Date; ttlSeconds: number; urgency: Urgency; topic: string },
): Promise<PushRequest> {
  const url = new URL(subscription.endpoint);
  const body = await encryptPushMessage(payload, subscription.keys);
  const headers = new Headers({
    authorization: await vapidAuthorization(url, opts.vapid, opts.now),
    "content-encoding": "aes128gcm",
    "content-type": "application/octet-stream",
    ttl: String(opts.ttlSeconds),
    urgency: opts.urgency,
    topic: opts.topic,
  });
  return { url, headers, body };
}
