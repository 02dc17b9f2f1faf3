import type { DiscountCodeStatus } from "./discount";

/*
 * Discount codes as text: the alphabet, the deterministic derivation, lookup normalization and
 * the status rule. Pure (WebCrypto only), so the node, the D1 store and tests share it.
 */

/** Digits and capitals without the look-alikes 0/O, 1/I/L: 31 symbols, read aloud and typed without doubt. */
export const CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/** 31^12 ≈ 7.9 × 10^17 codes (59 bits): not worth guessing at a checkout, short enough to type. */
export const CODE_LENGTH = 12;
/**
 * How many times a code may grow by one symbol when a different step already owns it. The first
 * collision is already astronomically unlikely; eight in a row mean something else is wrong.
 */
export const MAX_EXTENSIONS = 8;
/** Up to ten capitals and digits, put before the code with a hyphen: "BACK-7K3M…". */
export const PREFIX_PATTERN = /^[A-Z0-9]{0,10}$/;

const encoder = new TextEncoder();
/** Bytes at or above this are skipped, so that every symbol is equally likely (248 = 8 × 31). */
const UNBIASED = 256 - (256 % CODE_ALPHABET.length);

/**
 * The HMAC key codes are derived with, from a deployment secret by HKDF (its own `info`, so the
 * secret's other use learns nothing from codes). Without the secret, codes would follow from the
 * run id alone, which webhook receivers see in Idempotency-Key.
 */
export async function codeKey(secret: string): Promise<CryptoKey> {
  // An empty secret (a deployment without one) still derives a key; codes are then only as secret as run ids.
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret || "edge-workflows"), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("edge-workflows discount codes v1") },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

/** `length` symbols of the step's stream: HMAC(key, stepKey ␀ block) for blocks 0, 1, … mapped onto the alphabet. */
async function symbols(key: CryptoKey, stepKey: string, length: number): Promise<string> {
  let out = "";
  for (let block = 0; out.length < length; block++) {
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${stepKey}\u0000${block}`)));
    for (const b of mac) if (b < UNBIASED && out.length < length) out += CODE_ALPHABET[b % CODE_ALPHABET.length];
  }
  return out;
}

/**
 * The codes a step may own, in the order it tries them: CODE_LENGTH symbols, then the same code
 * one symbol longer, up to MAX_EXTENSIONS more. The same step key (run id and node id) always
 * gives the same list, so every retry of a step arrives at the code its first attempt stored.
 */
export async function codeCandidates(key: CryptoKey, stepKey: string, prefix = ""): Promise<string[]> {
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`"${prefix}" is not a code prefix (up to 10 capitals A-Z and digits)`);
  const stream = await symbols(key, stepKey, CODE_LENGTH + MAX_EXTENSIONS);
  return Array.from({ length: MAX_EXTENSIONS + 1 }, (_, n) => {
    const body = stream.slice(0, CODE_LENGTH + n);
    return prefix ? `${prefix}-${body}` : body;
  });
}

/** Codes are stored in upper case and looked up case-insensitively. */
export const normalizeCode = (text: string): string => text.trim().toUpperCase();

/** The last instant a code made to expire on `date` (YYYY-MM-DD) works: the end of that UTC day. */
export const endOfDay = (date: string): string => `${date}T23:59:59.999Z`;

/** A code's status at `now`; `used_up` wins over `expired`. Instants are toISOString text, so they compare as text. */
export function codeStatus(code: { used: number; usage_limit: number; expires_at: string }, now: Date): DiscountCodeStatus {
  if (code.used >= code.usage_limit) return "used_up";
  return code.expires_at < now.toISOString() ? "expired" : "active";
}
