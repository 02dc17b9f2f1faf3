import { decodeEntities } from "../lib/mime";

/*
 * Link tracking (SPEC §12 `track_links`), pure: which http(s) links a message holds, and the
 * message with each of them replaced by its tracked URL. Only links a reader follows are
 * rewritten: `href` of <a> and <area> in HTML (never `src`: an image loading is not a click) and
 * bare URLs in text (between tags in HTML). mailto:, relative and fragment links stay as they are.
 */

const HTTP = /^https?:\/\//i;
/** A bare URL in text; it ends before whitespace, quotes, brackets and angle brackets. */
const TEXT_URL = /\bhttps?:\/\/[^\s<>"'()[\]{}]+/gi;
/** Punctuation that ends a sentence rather than a URL ("see https://x.com/a."). */
const TRAILING = /[.,;:!?]+$/;
/** The href of an <a> or <area>, quoted (both quotes) or bare. */
const HREF = /(<(?:a|area)\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s>"']+))/gi;

export const isHttpUrl = (url: string) => HTTP.test(url.trim());

function textUrls(text: string): string[] {
  return [...text.matchAll(TEXT_URL)].map((m) => m[0].replace(TRAILING, ""));
}

function htmlUrls(html: string): string[] {
  const hrefs = [...html.matchAll(HREF)].map((m) => decodeEntities(m[2] ?? m[3] ?? m[4] ?? "").trim()).filter(isHttpUrl);
  const bare = html.split(/<[^>]*>/).flatMap((text) => textUrls(text).map(decodeEntities));
  return [...hrefs, ...bare];
}

/** The distinct http(s) links of a message, in order of appearance (the HTML part first). */
export function linksOf(parts: { text: string; html?: string | undefined }): string[] {
  return [...new Set([...(parts.html === undefined ? [] : htmlUrls(parts.html)), ...textUrls(parts.text)])];
}

/** The text with every bare link that `tracked` maps replaced. */
export function rewriteText(text: string, tracked: ReadonlyMap<string, string>): string {
  return text.replace(TEXT_URL, (whole) => {
    const url = whole.replace(TRAILING, "");
    const to = tracked.get(url);
    return to === undefined ? whole : to + whole.slice(url.length);
  });
}

/**
 * The HTML with every link that `tracked` maps replaced: hrefs of <a> and <area>, and bare URLs
 * in the text between tags (mail clients make those clickable too, and the text part has them).
 * Tracked URLs hold no character that needs escaping.
 */
export function rewriteHtml(html: string, tracked: ReadonlyMap<string, string>): string {
  return html
    .split(/(<[^>]*>)/)
    .map((part) => {
      if (part.startsWith("<")) {
        return part.replace(HREF, (whole, head: string, d?: string, s?: string, bare?: string) => {
          const to = tracked.get(decodeEntities(d ?? s ?? bare ?? "").trim());
          return to === undefined ? whole : `${head}"${to}"`;
        });
      }
      return part.replace(TEXT_URL, (whole) => {
        const url = whole.replace(TRAILING, "");
        const to = tracked.get(decodeEntities(url));
        return to === undefined ? whole : to + whole.slice(url.length);
      });
    })
    .join("");
}
