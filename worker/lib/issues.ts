import type { z } from "zod";

/*
 * The one rendering of zod issues: as a list for the API's error body, as one line for a step's
 * error, a dead letter or a log.
 */

export interface Issue {
  path: string;
  message: string;
}

/** Renders a zod path (["nodes", 1, "config", "url"]) the way the API reports it: "nodes.1.config.url". */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

/** Each issue with `prefix` before its path: where the parsed value sits in the request. */
export function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/**
 * Every issue on one line, "shops.ids.0: Expected string; name: Too long"; an issue at the root
 * is its message alone. `skip` leaves out the first path segments a wrapper added (a row index).
 */
export function issuesText(error: z.ZodError, skip = 0): string {
  return error.issues
    .map((issue) => {
      const path = formatPath(issue.path.slice(skip));
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
