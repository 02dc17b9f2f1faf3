/**
 * The API's issues about parts of a definition the builder draws rather than shows as fields —
 * `start`, the `nodes` list, a step's `next` / `then` / `else` — said in the builder's words.
 * The user never sees a "start" field, so "start: Use 1-64 characters…" on an empty workflow
 * becomes "Add a first step". Pure, with contract types only (unit-tested in workerd).
 */
import type { Issue } from "../../../worker/contract";

export const FIRST_STEP = "Add a first step: press + under the trigger.";

/** The link fields of a step: drawn as arrows and branches, never as inputs. */
const LINKS: Record<string, string> = { next: "the step after it", then: "its “If true” branch", else: "its “If false” branch" };

const missingId = (message: string) => /no node has the id "([^"]*)"/i.exec(message)?.[1];

/**
 * Each issue on a hidden part rewritten as a sentence about what the user sees; the others as
 * they are. Two issues that say the same thing in the end (an empty workflow's `start` and
 * `nodes`) are one.
 */
export function humanIssues(issues: readonly Issue[], def: { start?: string | undefined; nodes?: readonly unknown[] | undefined }): Issue[] {
  const empty = (def.nodes?.length ?? 0) === 0;
  const out: Issue[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const next = human(issue, empty, def.start ?? "");
    const key = `${next.path}\n${next.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(next);
  }
  return out;
}

function human(issue: Issue, empty: boolean, start: string): Issue {
  if (issue.path === "nodes" || (issue.path === "start" && empty)) {
    return { ...issue, path: "nodes", message: empty ? FIRST_STEP : issue.message };
  }
  if (issue.path === "start") {
    return {
      ...issue,
      message: start === "" ? "No step follows the trigger: add one under it, or move a step there." : `The workflow starts at “${start}”, but no step has that id.`,
    };
  }
  const link = /^nodes\.\d+\.(next|then|else)$/.exec(issue.path)?.[1];
  if (link) {
    const id = missingId(issue.message);
    const where = LINKS[link]!;
    if (id !== undefined) return { ...issue, message: `It goes on to “${id}” (${where}), but no step has that id: add that step or remove the link in the JSON.` };
    return { ...issue, message: `${where[0]!.toUpperCase()}${where.slice(1)}: ${issue.message}` };
  }
  return issue;
}

/** Hidden parts are not fields: the issue list names none for them ("Workflow: Add a first step"). */
export function isHiddenPath(rest: string, atRoot: boolean): boolean {
  return atRoot ? rest === "start" || rest === "nodes" : /^(next|then|else)$/.test(rest);
}
