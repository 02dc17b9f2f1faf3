/*
 * Tokens of tracked links: 128 bits of an HMAC-SHA256 over the step's idempotency key and the
 * URL, keyed with a secret (EVENTS_SECRET), base64url. Unguessable without the secret and
 * carrying no data; the same for every attempt of the same step, so a retry does not mint new
 * links (the row it wrote first is found again).
 */

const encoder = new TextEncoder();
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function tokenKey(secret: string): Promise<CryptoKey> {
  // HMAC takes a key of any length; an empty secret (a misconfigured deployment) still works, guessably.
  const raw = encoder.encode(`tracked-links\u0000${secret}`);
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The token of one link of one step. */
export async function linkToken(key: CryptoKey, stepKey: string, url: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${stepKey}\u0000${url}`));
  return base64url(new Uint8Array(mac).slice(0, 16));
}
