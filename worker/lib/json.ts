/*
 * JSON from outside, bounded before it is parsed. `JSON.parse` itself accepts any depth, but what
 * comes after it does not: our recursive walkers overflow the stack at a few thousand levels and
 * SQLite's JSON functions refuse more than 1,000. A depth limit checked on the text, without
 * recursion, keeps every such input a 400 at the door instead of a 500 (or a retry forever) later.
 */

/** Deepest nesting of arrays and objects we accept anywhere: far beyond any real entity or definition. */
export const MAX_JSON_DEPTH = 64;

/** UTF-8 size of a string, without allocating its bytes. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair is one code point
      i++;
    } else bytes += 3; // includes a lone surrogate, which TextEncoder writes as U+FFFD (3 bytes)
  }
  return bytes;
}

/** The deepest nesting of `[` and `{` in JSON text, ignoring brackets inside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return max;
}

/** Depth of a value already parsed (iterative; for values that did not come from text). */
export function valueDepth(value: unknown, stopAt = MAX_JSON_DEPTH + 1): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max >= stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth]);
  }
  return max;
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; message: string };

/** Parses JSON text that must nest at most `maxDepth` levels; never throws. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonResult {
  const depth = jsonDepth(text);
  if (depth > maxDepth) return { ok: false, message: `The JSON nests ${depth} levels deep; at most ${maxDepth} are allowed` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: "The body is not valid JSON" };
  }
}
