// The Web Push keys of the demo customers' browsers (RFC 8291): a real P-256 key pair and auth
// secret per push subscription, derived from its name ("cust_0012/1"), so that the data set stays
// deterministic and the local push service (push-service.mjs) can read every message — it plays
// the browser too — with decryptPush. No I/O and no Node built-ins: data.mjs derives the keys
// synchronously (BigInt arithmetic) under Node and in workerd alike. Demo keys only: anyone who
// knows the name knows the private key.

/** Where the demo's push subscriptions point: the local push service `npm start` runs (push-service.mjs); DEMO_PUSH_PORT moves it. */
export const DEMO_PUSH_PORT = 8790;
export const demoPushOrigin = (port = DEMO_PUSH_PORT) => `http://127.0.0.1:${port}`;

// P-256 (SEC 2, secp256r1): y² = x³ − 3x + b over the prime field p, base point G of order n.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

const mod = (a) => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

function inverse(a) {
  // Fermat: a^(p−2) = a^−1 mod p.
  let result = 1n;
  let base = mod(a);
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % P;
    base = (base * base) % P;
  }
  return result;
}

/** Doubling in Jacobian coordinates for a = −3 (dbl-2001-b); Z = 0 is the point at infinity. */
function double([x, y, z]) {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const delta = mod(z * z);
  const gamma = mod(y * y);
  const beta = mod(x * gamma);
  const alpha = mod(3n * (x - delta) * (x + delta));
  const x3 = mod(alpha * alpha - 8n * beta);
  const z3 = mod((y + z) * (y + z) - gamma - delta);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma);
  return [x3, y3, z3];
}

/** Jacobian + affine (madd-2007-bl). */
function addAffine(p1, [x2, y2]) {
  const [x1, y1, z1] = p1;
  if (z1 === 0n) return [x2, y2, 1n];
  const z1z1 = mod(z1 * z1);
  const u2 = mod(x2 * z1z1);
  const s2 = mod(y2 * z1 * z1z1);
  const h = mod(u2 - x1);
  const r = mod(2n * (s2 - y1));
  if (h === 0n) return r === 0n ? double(p1) : [0n, 1n, 0n];
  const hh = mod(h * h);
  const i = mod(4n * hh);
  const j = mod(h * i);
  const v = mod(x1 * i);
  const x3 = mod(r * r - j - 2n * v);
  const y3 = mod(r * (v - x3) - 2n * y1 * j);
  const z3 = mod((z1 + h) * (z1 + h) - z1z1 - hh);
  return [x3, y3, z3];
}

/** d·G, affine. */
export function publicPoint(d) {
  if (d <= 0n || d >= N) throw new Error("The private scalar must be in [1, n−1]");
  let acc = [0n, 1n, 0n];
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = double(acc);
    if ((d >> bit) & 1n) acc = addAffine(acc, [GX, GY]);
  }
  const zi = inverse(acc[2]);
  const zi2 = mod(zi * zi);
  const x = mod(acc[0] * zi2);
  const y = mod(acc[1] * zi2 * zi);
  if (mod(y * y - (x * x * x - 3n * x + B)) !== 0n) throw new Error("Not on the curve: the arithmetic is wrong");
  return [x, y];
}

const bytesOf = (n, length) => Uint8Array.from({ length }, (_, i) => Number((n >> BigInt(8 * (length - 1 - i))) & 0xffn));
export const base64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
export const unbase64url = (text) => {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
};

/** 32-bit FNV-1a, the seed of a name's generator. */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** Bytes from Mulberry32 seeded with `seed` (deterministic, not secret). */
function randomBytes(seed, length) {
  let a = seed >>> 0;
  return Uint8Array.from({ length }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) & 0xff;
  });
}

const cache = new Map();

/**
 * The keys of the browser named `name`: `p256dh` (the public point, 65 bytes uncompressed) and
 * `auth` (16 bytes) as a push subscription carries them, and `d`, the private scalar (32 bytes)
 * the browser decrypts with; base64url, as in a PushSubscription's JSON.
 */
export function demoPushKeys(name) {
  let keys = cache.get(name);
  if (!keys) {
    const bytes = randomBytes(fnv1a(`demo-push:${name}`), 48);
    const d = (bytes.slice(0, 32).reduce((n, b) => (n << 8n) | BigInt(b), 0n) % (N - 1n)) + 1n;
    const [x, y] = publicPoint(d);
    keys = {
      p256dh: base64url(Uint8Array.of(0x04, ...bytesOf(x, 32), ...bytesOf(y, 32))),
      auth: base64url(bytes.slice(32, 48)),
      d: base64url(bytesOf(d, 32)),
    };
    cache.set(name, keys);
  }
  return keys;
}

const enc = new TextEncoder();
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

async function hkdf(salt, ikm, info, length) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8));
}

/**
 * Decrypts one `aes128gcm` Web Push message (RFC 8291 §3, RFC 8188 §2: a single record) as the
 * browser holding `keys` ({p256dh, auth, d}, base64url) does; the plaintext as text.
 */
export async function decryptPush(body, keys) {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idlen = body[20];
  const senderKey = body.slice(21, 21 + idlen);
  const record = body.slice(21 + idlen);
  if (record.length > recordSize) throw new Error("more than one record");
  const mine = unbase64url(keys.p256dh);
  const jwk = { kty: "EC", crv: "P-256", x: base64url(mine.slice(1, 33)), y: base64url(mine.slice(33)), d: keys.d };
  const priv = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const pub = await crypto.subtle.importKey("raw", senderKey, { name: "ECDH", namedCurve: "P-256" }, false, []);
  // Workers' types name the peer `$public`; the runtime, like the WebCrypto spec, reads `public`.
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, priv, 256));
  const ikm = await hkdf(unbase64url(keys.auth), shared, concat(enc.encode("WebPush: info\0"), mine, senderKey), 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, record));
  // A last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter");
  return new TextDecoder().decode(padded.slice(0, end));
}
