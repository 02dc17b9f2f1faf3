import { base64Bytes } from "./net";

/**
 * Secret redaction: every spelling of a credential that a server could echo back or an action
 * could log is replaced before it reaches a run record or a log line. Pure; no bindings, no env.
 */

export const REDACTED = "[redacted]";

/** Secrets and their encoded forms shorter than this are not scrubbed: they would match ordinary text. */
export const MIN_SECRET_LENGTH = 6;

const toBase64Url = (b64: string) => b64.replaceAll("+", "-").replaceAll("/", "_");

/**
 * The base64 text of `text` wherever it sits inside a longer encoded string (a Basic header
 * encodes "user:" before it): for each of the three byte alignments, the characters that
 * depend on the secret's bytes alone. Also the whole value with and without padding.
 */
function base64Forms(text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  const forms = [base64Bytes(bytes)];
  for (const shift of [0, 1, 2]) {
    const padded = new Uint8Array(shift + bytes.length);
    padded.set(bytes, shift);
    const b64 = base64Bytes(padded);
    // Leading characters mix in the padding bytes; trailing ones the bytes after the secret.
    const from = [0, 2, 3][shift]!;
    const to = Math.floor(((shift + bytes.length) * 8) / 6);
    forms.push(b64.slice(from, to));
  }
  return forms.flatMap((f) => [f, toBase64Url(f)]);
}

/**
 * Every spelling of the secrets that could come back from a server that echoes a request, or
 * that an action could write into a log: the value (matched in any letter case, which also
 * covers upper-case hex and percent-encoding), its base64 in standard and URL-safe alphabets,
 * with or without padding and at any offset inside longer base64 (Basic auth of "user:secret"),
 * its hex, its JSON-escaped and URL-encoded forms (encodeURIComponent, and the form encoding
 * with "+" for spaces), the password half of a "user:password" secret and the key of a
 * Standard Webhooks "whsec_" secret — each in the same encodings. Forms shorter than
 * MIN_SECRET_LENGTH are left out. Longest first, so a longer form is replaced before its parts.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  const add = (s: string) => {
    forms.add(s);
    for (const f of base64Forms(s)) forms.add(f);
    forms.add([...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join(""));
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(new URLSearchParams({ s }).toString().slice(2));
    try {
      forms.add(encodeURIComponent(s));
    } catch {
      // A lone surrogate cannot be URL-encoded, so it is never sent that way either.
    }
  };
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    add(s);
    const colon = s.indexOf(":");
    if (colon > 0) add(s.slice(colon + 1));
    // The key of a Standard Webhooks secret is base64, printed with or without its padding.
    if (s.startsWith("whsec_")) add(s.slice("whsec_".length).replace(/=+$/, ""));
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

const patterns = new WeakMap<readonly string[], RegExp>();

/** One case-insensitive pattern per list of forms, built once. */
function patternOf(forms: readonly string[]): RegExp {
  let re = patterns.get(forms);
  if (!re) {
    re = new RegExp(forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "giu");
    patterns.set(forms, re);
  }
  return re;
}

export function redactText(text: string, forms: readonly string[]): string {
  if (forms.length === 0) return text;
  return text.replace(patternOf(forms), REDACTED);
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
