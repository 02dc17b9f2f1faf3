import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { ErrorBodySchema } from "../contract/error";
import { AppError, validationError, zodIssues } from "../errors";
import { parseJson } from "../lib/json";

/** `json` holds the request's JSON body once `jsonBodies` has parsed it (wrapped: `null` is a body too). */
export type AppEnv = { Bindings: Env; Variables: { json?: { value: unknown } } };

/** A resource's router: validation failures become our 400 with issues, like every other error. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(zodIssues(result.error as z.ZodError));
      }
    },
  });
}

/** The media types Hono's validator reads as JSON: application/json and application/<anything>+json. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  return /^application\/([\w.-]+\+)?json$/i.test((contentType ?? "").split(";")[0]!.trim());
}

/**
 * Every JSON request body is read here, once, and must be valid JSON nested at most
 * MAX_JSON_DEPTH levels: deeper input overflows the stack of recursive walkers (zod, the run's
 * interpolation, RPC serialization) and SQLite's JSON functions, so it becomes a 400 before any
 * of them sees it. Hono caches the text, so a route's validator parses it without reading the
 * stream again. An empty body is left to the route (some routes take none). POST /api/events is
 * left alone: it verifies its signature over the raw bytes and bounds depth itself.
 */
export const jsonBodies: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { method, path } = c.req;
  const skip =
    method === "GET" || method === "HEAD" || !c.req.raw.body || (method === "POST" && path === "/api/events") || !isJsonMediaType(c.req.header("content-type"));
  if (skip) return next();
  const text = await c.req.text();
  if (text === "") return next();
  const parsed = parseJson(text);
  if (!parsed.ok) throw new AppError("bad_request", parsed.message);
  c.set("json", { value: parsed.value });
  return next();
};

/** The JSON body `jsonBodies` parsed; a 400 when the request had none. */
export function parsedBody(c: Context<AppEnv>): unknown {
  const body = c.get("json");
  if (!body) throw new AppError("bad_request", "The body is not valid JSON");
  return body.value;
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** Every failure's body, one component of the document. */
const ErrorBody = ErrorBodySchema.openapi("Error");
export const errorResponse = (description: string) => jsonContent(ErrorBody, description);

/** Error responses most routes share, for the OpenAPI document. */
export const commonErrors = {
  400: errorResponse("Malformed or invalid input; `issues` names each problem"),
  401: errorResponse("Missing or unknown bearer token"),
} as const;

/** OpenAPI's Example Objects of a body, by name (worker/routes/examples.ts). */
type Examples = Record<string, { summary: string; value: unknown }>;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string, examples?: Examples) => ({
  body: { content: { "application/json": { schema, ...(examples ? { examples } : {}) } }, required: true, ...(description ? { description } : {}) },
});

/**
 * A JSON body documented as the schema component `name` but read as any JSON, for a route that
 * checks the body itself: after its own lookups (an unknown id answers 404 before a bad body
 * answers 400) and with its own rules and messages. A response of the route names the component.
 */
export const bodyDocumentedAs = (name: string, description?: string, examples?: Examples) =>
  jsonBody(z.unknown().openapi({ allOf: [{ $ref: `#/components/schemas/${name}` }] }), description, examples);
