import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ErrorBodySchema, validationError, zodIssues } from "../errors";

export type AppEnv = { Bindings: Env; Variables: { token?: string } };

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

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const errorResponse = (description: string) => jsonContent(ErrorBodySchema, description);

/** Error responses most routes share, for the OpenAPI document. */
export const commonErrors = {
  400: errorResponse("Malformed or invalid input; `issues` names each problem"),
  401: errorResponse("Missing or unknown bearer token"),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  body: { content: { "application/json": { schema } }, required: true, ...(description ? { description } : {}) },
});
