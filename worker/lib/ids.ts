const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/**
 * `prefix_` + 10 characters of millisecond time + 16 random ones: unique, URL-safe, and sorted by
 * creation time, so lists can page on the id alone.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}

/** A run object's name: one run per (workflow, event), so a second delivery finds the first run. */
export const runName = (workflowId: string, eventId: string) => `${workflowId}:${eventId}`;
