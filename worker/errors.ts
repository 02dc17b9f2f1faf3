import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorBody, ErrorCode } from "./contract/error";
import { zodIssues, type Issue } from "./lib/issues";

export { zodIssues, type Issue } from "./lib/issues";

/** The status of each error code the API answers with (contract/error.ts): every code, no other. */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

export type { ErrorCode };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly issues: Issue[] | undefined;
  readonly headers: Record<string, string> | undefined;
  constructor(code: ErrorCode, message: string, opts: { issues?: Issue[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.issues = opts.issues;
    this.headers = opts.headers;
  }
  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

export function validationError(issues: Issue[], message = "The request is not valid"): AppError {
  return new AppError("validation_failed", message, { issues });
}

export function errorBody(err: AppError): ErrorBody {
  return {
    error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) },
  };
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "rate_limited",
  503: "unavailable",
};

/** Maps anything thrown inside a request to the one error shape; never leaks a stack trace. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return validationError(zodIssues(err));
  if (err instanceof HTTPException) {
    const code = HTTP_CODES[err.status] ?? (err.status < 500 ? "bad_request" : "internal");
    return new AppError(code, err.message || defaultMessage(code));
  }
  if (err instanceof SyntaxError) return new AppError("bad_request", "The body is not valid JSON");
  return new AppError("internal", "Something went wrong on our side; the request was not applied");
}

function defaultMessage(code: ErrorCode): string {
  return code.replaceAll("_", " ");
}

export function respondError(c: Context, err: AppError): Response {
  for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
  return c.json(errorBody(err), err.status);
}
