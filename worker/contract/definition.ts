import { z } from "zod";
import { NodeIdSchema, RetryPolicySchema } from "../definition/common";
import { ControlsSchema } from "../definition/controls";
import { graphIssues } from "../definition/graph";
import { TriggerSchema } from "../definition/trigger";
import { checkVariables } from "../definition/variables";
import { zodIssues, type Issue } from "../lib/issues";
import { NODE_MODULES, nodeModule } from "../nodes";
import { IssueSchema } from "./error";
import { condition } from "../nodes/condition";

/*
 * The workflow definition as it crosses the wire (SPEC §7): the schema of every node is built
 * from the node registry, so a new node type needs no line here.
 */

export { successors } from "../definition/graph";
export { TriggerSchema, type Trigger } from "../definition/trigger";

const Meta = z.record(z.string(), z.unknown()).optional().describe("Free-form data the builder keeps");

/** What every node carries besides its type and config. */
const nodeCommon = {
  id: NodeIdSchema,
  name: z.string().max(200).optional(),
  retry: RetryPolicySchema.optional(),
  timeout_ms: z.int().min(100).max(900_000).optional(),
  on_error: z.enum(["fail", "continue"]).default("fail"),
  meta: Meta,
};

/** A branching node (a condition, or a module that says it branches) goes to `then` or `else`; every other node to `next`. */
const branches = (m: (typeof NODE_MODULES)[number]) => m.kind === "condition" || ("branches" in m && m.branches === true);

const branchingSchema = <M extends (typeof NODE_MODULES)[number]>(m: M) =>
  z.strictObject({
    ...nodeCommon,
    type: z.literal(m.type),
    config: m.configSchema,
    then: NodeIdSchema.optional(),
    else: NodeIdSchema.optional(),
  });

const ConditionNodeSchema = branchingSchema(condition);
const otherBranchingSchemas = NODE_MODULES.filter((m) => m.type !== condition.type && branches(m)).map(branchingSchema);

const otherNodeSchemas = NODE_MODULES.filter((m) => !branches(m)).map((m) =>
  z.strictObject({
    ...nodeCommon,
    type: z.literal(m.type),
    config: m.configSchema,
    next: NodeIdSchema.optional(),
  }),
);

export const NodeSchema = z.discriminatedUnion("type", [ConditionNodeSchema, ...otherBranchingSchemas, ...otherNodeSchemas]);
export type WorkflowNode = z.infer<typeof NodeSchema>;

export const DefinitionSchema = z.strictObject({
  name: z.string().trim().min(1, "Give the workflow a name").max(200),
  description: z.string().max(5000).optional(),
  trigger: TriggerSchema,
  start: NodeIdSchema,
  nodes: z.array(NodeSchema).min(1, "Add at least one action").max(200),
  controls: ControlsSchema.optional(),
  meta: Meta,
});
export type Definition = z.infer<typeof DefinitionSchema>;
/** A definition as a client may send it, before defaults are applied. */
export type DefinitionInput = z.input<typeof DefinitionSchema>;

/**
 * A warning about a definition (SPEC §11): a `{{trigger.…}}` field that is not one of the entity's.
 * It blocks nothing (entities may carry further attributes); it has an issue's shape.
 */
export const WarningSchema = IssueSchema.describe("Something that may be a mistake but blocks nothing, e.g. a field the entity does not have");
export type Warning = z.infer<typeof WarningSchema>;

export type Validation = { ok: true; definition: Definition; warnings: Issue[] } | { ok: false; issues: Issue[]; warnings: Issue[] };

/**
 * Schema first, then the graph rules and the checked variables; every issue and warning has a
 * path into the submitted JSON. A definition the schema refuses gets no warnings.
 */
export function validateDefinition(input: unknown): Validation {
  const parsed = DefinitionSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error), warnings: [] };
  const variables = checkVariables(parsed.data);
  const issues = [...graphIssues(parsed.data, (node) => nodeModule(node.type).localRoots ?? []), ...variables.issues];
  return issues.length > 0 ? { ok: false, issues, warnings: variables.warnings } : { ok: true, definition: parsed.data, warnings: variables.warnings };
}
