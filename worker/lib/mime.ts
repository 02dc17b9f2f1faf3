/**
 * Pure helpers for building email: bodies (text / html / markdown), a plain-text rendering of
 * HTML, RFC 2047 header words, the stable Message-ID and the RFC 5322 message itself.
 */
import { Marked } from "marked";
// The package's default entry is for Node (it imports node:os and mime-types, which is not
// installed) and ends lines with "\n"; the browser entry runs in workerd and ends them with CRLF.
import { createMimeMessage, Mailbox } from "mimetext/browser";
import { base64Utf8 } from "./net";

export type EmailFormat = "text" | "html" | "markdown";

const CRLF = "\r\n";

// One instance with fixed options, so nothing another module sets on the global `marked` leaks in.
const markdown = new Marked({ gfm: true, breaks: false, async: false });

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  euro: "€",
};

/** Decodes character references in one pass (so "&amp;lt;" becomes "&lt;", not "<"). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+);/gi, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

const PRE_SPACE = "\uE000";
const PRE_BREAK = "\uE001";

const BLOCK = "p|div|h[1-6]|ul|ol|table|thead|tbody|tr|blockquote|section|article|header|footer|nav|aside|main|dl|dd|dt|figure|figcaption|address";

/**
 * A readable plain-text version of an HTML body, for the text/plain alternative: paragraphs and
 * blocks become blank lines, list items "- ", links "text (href)", entities decoded, script,
 * style and head dropped. Whitespace inside <pre> is kept.
 */
export function htmlToText(html: string): string {
  let s = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|head|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, "");
  // Collapse source whitespace the way a browser does, except inside <pre>, whose spaces and
  // line breaks are parked as private-use characters until the layout below is done.
  s = s
    .split(/(<pre\b[^>]*>[\s\S]*?<\/pre\s*>)/i)
    .map((part) => (/^<pre\b/i.test(part) ? `\n\n${part.replace(/ /g, PRE_SPACE).replace(/\r?\n/g, PRE_BREAK)}\n\n` : part.replace(/\s+/g, " ")))
    .join("");
  s = s
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<hr\b[^>]*>/gi, "\n\n---\n\n")
    .replace(/<li\b[^>]*>/gi, "\n- ")
    .replace(/<\/li\s*>/gi, "")
    .replace(/<\/?(t[dh])\b[^>]*>/gi, (tag) => (tag.startsWith("</") ? "\t" : ""))
    .replace(/<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, h1, h2, h3, inner: string) => {
      const href = decodeEntities(String(h1 ?? h2 ?? h3 ?? ""));
      const label = decodeEntities(inner.replace(/<[^>]*>/g, "")).trim();
      if (!href || href.startsWith("#") || href === label || `mailto:${label}` === href) return inner;
      return `${inner} (${href})`;
    })
    .replace(new RegExp(`</?(?:${BLOCK})\\b[^>]*>`, "gi"), "\n\n")
    .replace(/<\/?pre\b[^>]*>/gi, "")
    .replace(/<[^>]*>/g, "");
  return decodeEntities(s)
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.replace(/[ \t]+$/g, "").replace(/^ +/, ""))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
    .replaceAll(PRE_SPACE, " ")
    .replaceAll(PRE_BREAK, "\n");
}

function wrapHtml(fragment: string): string {
  if (/<html[\s>]/i.test(fragment)) return fragment;
  return `<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n${fragment}\n</body></html>`;
}

export function renderMarkdown(body: string): string {
  return markdown.parse(body, { async: false });
}

/** The parts of the message: always a text part; html and markdown also give an HTML part. */
export function renderBodies(format: EmailFormat, body: string): { text: string; html?: string } {
  switch (format) {
    case "text":
      return { text: body };
    case "html":
      return { text: htmlToText(body), html: wrapHtml(body) };
    case "markdown": {
      const html = renderMarkdown(body);
      return { text: htmlToText(html), html: wrapHtml(html) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Links that come from data

/**
 * Private-use characters that wrap each interpolated value in a probe rendering of a body, so
 * that the HTML can tell the author's text from the data's. marked percent-encodes them in hrefs.
 */
export const VALUE_START = "\uE002";
export const VALUE_END = "\uE003";
const ENCODED_MARKS: [RegExp, string][] = [
  [/%EE%80%82/gi, VALUE_START],
  [/%EE%80%83/gi, VALUE_END],
];
const MARKS = /[\uE002\uE003]/g;
const MARK = /[\uE002\uE003]/;

/** Attributes whose value a mail client may open or load as a URL. */
const URL_ATTRIBUTES = new Set(["href", "src", "srcset", "action", "formaction", "background", "poster", "cite", "longdesc", "xlink:href"]);
export const LINK_SCHEMES = ["http", "https", "mailto"];

const TAG = /<[a-zA-Z][^\s/>]*((?:"[^"]*"|'[^']*'|[^'">])*)>/g;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;

/**
 * Whether a URL is one data may supply: http, https or mailto, or a relative reference. The
 * value is read as a browser would: character references decoded, tabs and line breaks dropped,
 * leading control characters and spaces ignored. A first segment that holds ":" or "&" without
 * being one of those schemes (`javascript:`, `data:`, `jav&#x61;script:`) is not accepted.
 */
export function isSafeLink(url: string): boolean {
  const u = decodeEntities(url)
    .replace(/[\t\n\r]/g, "")
    .replace(/^[\u0000-\u0020]+/, "");
  const head = u.split(/[/?#]/, 1)[0]!;
  if (!head.includes(":") && !head.includes("&")) return true;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u)?.[1]?.toLowerCase();
  return scheme !== undefined && LINK_SCHEMES.includes(scheme);
}

/**
 * Why an HTML probe (interpolated values wrapped in VALUE_START / VALUE_END) must not be sent,
 * or undefined. A value may not reach a tag outside a quoted attribute value (it could add
 * attributes), and a URL attribute holding a value must be a link data may supply (isSafeLink).
 * URLs the author wrote without a value in them are the author's and are not checked.
 */
export function interpolatedLinkRefusal(probe: string): string | undefined {
  let html = probe;
  for (const [encoded, mark] of ENCODED_MARKS) html = html.replace(encoded, mark);
  for (const tag of html.matchAll(TAG)) {
    for (const [, name = "", quotedOrBare = ""] of tag[1]!.matchAll(ATTRIBUTE)) {
      const quoted = /^["']/.test(quotedOrBare);
      if (MARK.test(name) || (!quoted && MARK.test(quotedOrBare))) {
        return "A value is interpolated into an HTML tag outside a quoted attribute value: put {{…}} inside quotes";
      }
      const attr = name.toLowerCase();
      const value = quoted ? quotedOrBare.slice(1, -1) : quotedOrBare;
      if (!URL_ATTRIBUTES.has(attr) || !MARK.test(value)) continue;
      const plain = value.replace(MARKS, "");
      const urls = attr === "srcset" ? plain.split(",").map((c) => c.trim().split(/\s+/, 1)[0]!) : [plain];
      const bad = urls.find((u) => !isSafeLink(u));
      if (bad !== undefined) {
        const shown = bad.length > 80 ? `${bad.slice(0, 80)}…` : bad;
        return `The link in ${attr}="${shown}" comes from data and is not ${LINK_SCHEMES.join(", ")} or relative: refused`;
      }
    }
  }
  return undefined;
}

/** A value with the probe's markers taken out, so data cannot open or close a marked span. */
export function withoutMarks(text: string): string {
  return text.replace(MARKS, "");
}

/**
 * RFC 2047 encoded words for a header value, folded so no line exceeds 78 characters. Each word
 * carries at most 45 bytes of UTF-8 (60 base64 characters) and never splits a character.
 */
export function encodeHeaderWords(value: string): string {
  const words: string[] = [];
  let chunk = "";
  let bytes = 0;
  for (const ch of value) {
    const n = new TextEncoder().encode(ch).length;
    if (bytes + n > 45 && chunk) {
      words.push(chunk);
      chunk = "";
      bytes = 0;
    }
    chunk += ch;
    bytes += n;
  }
  if (chunk || words.length === 0) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64Utf8(w)}?=`).join(`${CRLF} `);
}

/** Base64 of the UTF-8 text in lines of 76 characters (RFC 2045), safe for any content or line length. */
export function base64Lines(text: string): string {
  return (base64Utf8(text).match(/.{1,76}/g) ?? [""]).join(CRLF);
}

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

/**
 * A Message-ID that depends only on the step's idempotency key and the sender's domain, so every
 * retry of the step sends the same id and receivers can tell the copies are one message.
 */
export async function messageIdFor(idempotencyKey: string, from: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(idempotencyKey));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `<${hex.slice(0, 32)}@${domainOf(from)}>`;
}

export interface MimeInput {
  from: string;
  to: string[];
  cc: string[];
  replyTo?: string | undefined;
  subject: string;
  messageId: string;
  date: Date;
  text: string;
  html?: string | undefined;
}

/**
 * The raw RFC 5322 message. Bcc is deliberately absent: blind copies travel only in the
 * envelope, never in a header every recipient can read.
 */
export function buildMime(m: MimeInput): string {
  const msg = createMimeMessage();
  msg.setSender(m.from);
  msg.setTo(m.to);
  if (m.cc.length) msg.setCc(m.cc);
  if (m.replyTo) msg.setHeader("Reply-To", new Mailbox(m.replyTo));
  msg.setHeader("Message-ID", m.messageId);
  msg.setHeader("Date", rfc5322Date(m.date));
  msg.setSubject(m.subject);
  // mimetext writes the whole subject as one encoded word, which breaks the 998-character line
  // limit for long subjects; fold it into words of at most 75 characters instead.
  const subject = msg.headers.fields.find((f) => f.name === "Subject");
  if (subject) subject.dump = (v) => (typeof v === "string" ? encodeHeaderWords(v) : "");
  // mimetext only labels the transfer encoding; the data is encoded here.
  msg.addMessage({ contentType: "text/plain", charset: "UTF-8", encoding: "base64", data: base64Lines(m.text) });
  if (m.html !== undefined) {
    msg.addMessage({ contentType: "text/html", charset: "UTF-8", encoding: "base64", data: base64Lines(m.html) });
  }
  return msg.asRaw();
}
