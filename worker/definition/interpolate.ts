/**
 * `{{path}}` templates (SPEC §8). Pure: nothing is evaluated, paths are looked up in a scope.
 * A string that is exactly one reference takes the referenced value with its type; any other
 * string joins values as text. A missing path is an error unless the caller asks for `undefined`.
 */

export interface Scope {
  trigger: {
    id: string;
    type: string;
    entity: string;
    entity_id: string;
    occurred_at: string;
    data: unknown;
    previous: unknown;
    /**
     * The snapshots the trigger's entity points to, by kind (SPEC §11), read once when the run
     * starts; a kind the mirror does not hold is absent. Absent on runs started before it existed.
     */
    related?: Record<string, unknown> | undefined;
  };
  steps: Record<string, { output: unknown }>;
  workflow: { id: string; name: string; version: number };
  run: { id: string };
  now: string;
  today: string;
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const EXACT = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
export const ROOTS = ["trigger", "steps", "workflow", "run", "now", "today"] as const;

export class InterpolationError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "InterpolationError";
  }
}

/** Splits `steps.plan.output.items[0].id` into segments; undefined when it is not a path. */
export function parsePath(path: string): string[] | undefined {
  const normalized = path.replace(/\[(\d+)\]/g, ".$1");
  const parts = normalized.split(".");
  if (parts.length === 0 || parts.some((p) => !SEGMENT.test(p))) return undefined;
  return parts;
}

/** The fields of the roots whose shape is fixed (the trigger's data, previous and related hold entities). */
const FIELDS_OF_ROOT = {
  trigger: ["id", "type", "entity", "entity_id", "occurred_at", "data", "previous", "related"],
  workflow: ["id", "name", "version"],
  run: ["id"],
} as const satisfies Partial<Record<(typeof ROOTS)[number], readonly string[]>>;

/**
 * Why a path can never resolve, checked when a definition is saved; undefined when it may.
 * `local` are roots the node resolves itself (wait_for_event's `event`); their fields are its to check.
 */
export function checkPath(path: string, local: readonly string[] = []): string | undefined {
  const parts = parsePath(path);
  if (!parts) return `"{{${path}}}" is not a path: use names joined by dots, like trigger.data.on_hand`;
  const [root, second, third] = parts;
  if (local.includes(root!)) return undefined;
  if (!(ROOTS as readonly string[]).includes(root!)) {
    return `"{{${path}}}" must start with one of ${[...ROOTS, ...local].join(", ")}`;
  }
  if (root === "steps" && (second === undefined || third !== "output")) {
    return `"{{${path}}}" must look like steps.<node_id>.output...`;
  }
  if ((root === "now" || root === "today") && parts.length > 1) return `"{{${path}}}": ${root} has no fields`;
  const known = FIELDS_OF_ROOT[root as keyof typeof FIELDS_OF_ROOT];
  if (known && second !== undefined && !(known as readonly string[]).includes(second)) {
    return `"{{${path}}}": ${root} has no field ${second}; use one of ${known.join(", ")}`;
  }
  return undefined;
}

/** Every `{{path}}` in a JSON value, with the JSON path of the string holding it. */
export function collectReferences(value: unknown, at: (string | number)[] = []): { path: string; at: (string | number)[] }[] {
  if (typeof value === "string") {
    return [...value.matchAll(TEMPLATE)].map((m) => ({ path: m[1]!, at }));
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => collectReferences(v, [...at, i]));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => collectReferences(v, [...at, k]));
  }
  return [];
}

const MISSING = Symbol("missing");

function lookup(scope: Scope, parts: string[]): unknown {
  let cur: unknown = scope;
  for (const part of parts) {
    if (cur === null || cur === undefined || typeof cur !== "object") return MISSING;
    if (Array.isArray(cur)) {
      const i = Number(part);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) return MISSING;
      cur = cur[i];
    } else {
      if (!Object.hasOwn(cur, part)) return MISSING;
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return cur;
}

function resolvePath(scope: Scope, path: string, missingOk: boolean): unknown {
  const parts = parsePath(path);
  if (!parts) throw new InterpolationError(`"{{${path}}}" is not a valid path`, path);
  const value = lookup(scope, parts);
  if (value !== MISSING) return value;
  if (missingOk) return undefined;
  if (parts[0] === "steps" && parts[1] && !Object.hasOwn(scope.steps, parts[1])) {
    throw new InterpolationError(`"{{${path}}}": step "${parts[1]}" has not produced output in this run`, path);
  }
  throw new InterpolationError(`"{{${path}}}" is missing in this run`, path);
}

export function toText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export interface InterpolateOptions {
  /** Applied to every interpolated value joined into text (e.g. HTML escaping); not to the template. */
  escape?: (text: string) => string;
  /**
   * Resolve a missing path to undefined instead of failing (conditions); a string with several
   * references is then undefined as a whole when any of them is missing.
   */
  missingOk?: boolean;
}

export function interpolateString(template: string, scope: Scope, opts: InterpolateOptions = {}): unknown {
  if (!template.includes("{{")) return template;
  const missingOk = opts.missingOk ?? false;
  const exact = EXACT.exec(template);
  if (exact && !opts.escape) return resolvePath(scope, exact[1]!, missingOk);
  let missing = false;
  const text = template.replace(TEMPLATE, (_, path: string) => {
    const value = resolvePath(scope, path, missingOk);
    if (value === undefined) missing = true;
    const t = toText(value);
    return opts.escape ? opts.escape(t) : t;
  });
  // Text with a hole is not the value the author meant: under missingOk the whole string is missing.
  return missing && missingOk ? undefined : text;
}

/** Interpolates every string inside a JSON value (objects and arrays are walked, keys kept). */
export function interpolate(value: unknown, scope: Scope, opts: InterpolateOptions = {}): unknown {
  if (typeof value === "string") return interpolateString(value, scope, opts);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, scope, opts));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, scope, opts);
    return out;
  }
  return value;
}

const HTML_CHARS: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_CHARS[c]!);
}

/**
 * Escapes a value interpolated into a markdown body so that it renders as its literal text: the
 * five HTML characters become character references (which also keeps them inert inside raw HTML
 * the author wrote), every other ASCII punctuation character gets a backslash (CommonMark makes
 * any escaped punctuation literal), so a value cannot start a heading, a list, a link, an image,
 * emphasis, a table or an autolink. Letters, digits, spaces and non-ASCII are left alone.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, (c) => HTML_CHARS[c] ?? `\\${c}`);
}
