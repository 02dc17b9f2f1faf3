/**
 * The headers a reader looks at (From, To, Cc, Reply-To, Subject, Date) from a raw RFC 5322
 * message, as the email viewer shows them above the body: folded lines joined, RFC 2047 encoded
 * words ("=?UTF-8?B?…?=", "=?UTF-8?Q?…?=") decoded. Pure (unit-tested in workerd).
 */

export interface MailHeaders {
  from: string;
  to: string;
  cc: string;
  replyTo: string;
  subject: string;
  date: string;
}

const WANTED: Record<string, keyof MailHeaders> = { from: "from", to: "to", cc: "cc", "reply-to": "replyTo", subject: "subject", date: "date" };

function bytesOfBase64(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function bytesOfQ(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "_") out.push(0x20);
    else if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

/** "=?UTF-8?B?w6k=?= x" → "é x"; whitespace between two encoded words is dropped, as RFC 2047 says. */
export function decodeWords(value: string): string {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  return value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, "$1").replace(word, (all, charset: string, enc: string, text: string) => {
    try {
      const bytes = enc.toUpperCase() === "B" ? bytesOfBase64(text) : bytesOfQ(text);
      return new TextDecoder(charset.toLowerCase()).decode(bytes);
    } catch {
      return all;
    }
  });
}

export function parseHeaders(raw: string): MailHeaders {
  const out: MailHeaders = { from: "", to: "", cc: "", replyTo: "", subject: "", date: "" };
  // The header block ends at the first empty line; a line starting with white space continues the one before.
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? "";
  const lines: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
  }
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = WANTED[line.slice(0, colon).trim().toLowerCase()];
    if (key && out[key] === "") out[key] = decodeWords(line.slice(colon + 1).trim());
  }
  for (const key of ["from", "to", "cc", "replyTo"] as const) out[key] = bareAddresses(out[key]);
  return out;
}

/** "<a@x.io>, Bob <b@x.io>" → "a@x.io, Bob <b@x.io>": a mailbox without a name reads as its address. */
function bareAddresses(list: string): string {
  return list.replace(/(^|,\s*)<([^<>\s]+@[^<>\s]+)>/g, "$1$2");
}
