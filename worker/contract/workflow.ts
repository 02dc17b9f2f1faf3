import { z } from "zod";
import { WORKFLOW_STATUSES } from "../definition/workflow-status";
import { DefinitionSchema, TriggerSchema, WarningSchema } from "./definition";
import { IssueSchema } from "./error";
import { PageQuerySchema } from "./page";

/** Workflows and their versions as the API answers them (SPEC §7). */

export const WorkflowStatusSchema = z.enum(WORKFLOW_STATUSES);
export type { WorkflowStatus } from "../definition/workflow-status";

/** A workflow: the current version's definition with its metadata. */
export const WorkflowSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  status: WorkflowStatusSchema,
  version: z.int(),
  trigger_entity: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Why the engine paused the workflow itself, e.g. a daily cap (SPEC §14); null otherwise. */
  paused_reason: z.string().nullable(),
  definition: DefinitionSchema,
});
export type WorkflowRecord = z.infer<typeof WorkflowSchema>;

/** What creating or saving answers: the workflow, and the warnings about the definition it saved. */
export const SavedWorkflowSchema = WorkflowSchema.extend({ warnings: z.array(WarningSchema) });
export type SavedWorkflow = z.infer<typeof SavedWorkflowSchema>;

/** What the list shows of a workflow's runs (from the D1 run index). */
export const WorkflowStatsSchema = z.object({
  last_run: z.object({ id: z.string(), status: z.string(), started_at: z.string() }).nullable(),
  runs_24h: z.int(),
});
export type WorkflowStats = z.infer<typeof WorkflowStatsSchema>;

/** A workflow in a list: its trigger and size instead of the whole definition. */
export const WorkflowListItemSchema = WorkflowSchema.omit({ definition: true }).extend({
  trigger: TriggerSchema,
  node_count: z.int(),
  stats: WorkflowStatsSchema,
});
export type WorkflowListItem = z.infer<typeof WorkflowListItemSchema>;

export const WorkflowListQuerySchema = PageQuerySchema.extend({
  status: WorkflowStatusSchema.optional(),
  q: z.string().trim().max(100).optional().describe("Only workflows whose name contains this, ignoring case"),
});

/** One saved version in the history. Versions are immutable. */
export const WorkflowVersionSchema = z.object({ version: z.int(), created_at: z.string(), definition: DefinitionSchema });
export type WorkflowVersion = z.infer<typeof WorkflowVersionSchema>;
/** One version read by its number. */
export const VersionDefinitionSchema = WorkflowVersionSchema.omit({ created_at: true });
export type VersionDefinition = z.infer<typeof VersionDefinitionSchema>;

/** POST /workflows/validate: `issues` block saving, `activation_issues` block activation, `warnings` block nothing. */
export const ValidateAnswerSchema = z.object({
  valid: z.boolean(),
  issues: z.array(IssueSchema),
  activation_issues: z.array(IssueSchema),
  warnings: z.array(WarningSchema),
});
export type ValidateAnswer = z.infer<typeof ValidateAnswerSchema>;

export const WorkflowStatusChangeSchema = z.object({ status: WorkflowStatusSchema });

/**
 * An event given by hand (a test run, a preview): without `data`, the entity is read from the
 * mirror by entity_id. `kinds` are the event kinds its type may name.
 */
export function givenEventSchema(kinds: readonly string[]) {
  const type = new RegExp(`^[a-z_]+\\.(${kinds.join("|")})$`);
  return z
    .object({
      id: z.string().min(1).max(255).optional(),
      type: z.string().regex(type, `Use <entity>.<${kinds.join("|")}>`).optional(),
      entity_id: z.string().min(1).max(255).optional(),
      occurred_at: z.iso.datetime({ offset: true }).optional(),
      data: z.record(z.string(), z.unknown()).optional(),
      previous: z.record(z.string(), z.unknown()).nullable().optional(),
    })
    .refine((e) => e.entity_id !== undefined || (e.data !== undefined && typeof e.data.id === "string"), {
      message: "Give entity_id, or data with an id",
      path: ["entity_id"],
    });
}

/** The event of a test run: a platform event, or `subscription.back_in_stock` for a back-in-stock workflow (SPEC §12). */
export const TestEventSchema = givenEventSchema(["created", "updated", "deleted", "back_in_stock"]);
export type TestEvent = z.input<typeof TestEventSchema>;

/** A test run started; follow it at /api/runs/{id}. */
export const TestRunStartedSchema = z.object({ id: z.string(), status: z.string() });
export type TestRunStarted = z.infer<typeof TestRunStartedSchema>;
