import { zodIssues, type Issue } from "../errors";
import { graphIssues } from "./graph";
import { DefinitionSchema, type Definition } from "./schema";

export type Validation = { ok: true; definition: Definition } | { ok: false; issues: Issue[] };

/** Schema first, then the graph rules; every issue has a path into the submitted JSON. */
export function validateDefinition(input: unknown): Validation {
  const parsed = DefinitionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const issues = graphIssues(parsed.data);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, definition: parsed.data };
}
