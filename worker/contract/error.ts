import { z } from "zod";
import type { Issue } from "../lib/issues";

/*
 * The one error body every failure answers with (README, "API"). worker/errors.ts maps each code
 * to its HTTP status, and the compiler holds that map to exactly these codes.
 */

export const ERROR_CODES = [
  "bad_request",
  "validation_failed",
  "unauthorized",
  "not_found",
  "method_not_allowed",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "unprocessable",
  "rate_limited",
  "internal",
  "unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One problem with the input: `path` into the submitted JSON ("nodes.1.config.url"), "" for the whole. */
export const IssueSchema = z.object({ path: z.string(), message: z.string() }) satisfies z.ZodType<Issue>;
export type { Issue };

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    issues: z.array(IssueSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
