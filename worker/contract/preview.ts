import { z } from "zod";
import { ENTITY_KINDS } from "../entities/registry";
import { givenEventSchema } from "./workflow";

/*
 * The preview (dry run) of a workflow on real data (SPEC §13): what POST /api/workflows/{id}/preview
 * takes and answers. Nothing a preview does is written anywhere.
 */

/** An event to preview on: a test run's event, whose type may also be a trigger-only kind (`subscription.back_in_stock`). */
export const PreviewEventSchema = givenEventSchema(["created", "updated", "deleted", "back_in_stock"]);

const Version = z.int().min(1).optional().describe("The saved version to preview; default: the current one");

/** One of: an event (like a test run's), a mirrored entity (seen as an `updated` event), or every entity that matches now. */
export const PreviewRequestSchema = z.union([
  z.strictObject({ event: PreviewEventSchema, version: Version }),
  z.strictObject({ entity: z.enum(ENTITY_KINDS), entity_id: z.string().min(1).max(255), version: Version }),
  z.strictObject({
    matching_now: z.literal(true),
    limit: z.int().min(1).max(1000).default(1000).describe("The most runs previewed (entities that match)"),
    version: Version,
  }),
]);
export type PreviewRequest = z.input<typeof PreviewRequestSchema>;

export const PreviewImpactSchema = z.object({
  emails: z.number(),
  pushes: z.number(),
  webhooks: z.number(),
  discount_codes: z.number(),
  plan_lines: z.number(),
  units: z.number(),
  cost_value: z.number(),
  retail_value: z.number(),
});
export type PreviewImpactBody = z.infer<typeof PreviewImpactSchema>;

export const PreviewStepSchema = z.object({
  node_id: z.string(),
  type: z.string(),
  status: z.enum(["would_run", "skipped", "would_fail"]),
  /** The step's input as a run would record it. */
  input: z.unknown(),
  /** What it would do: an email {from, to, subject, html, text}, a webhook request (redacted), a wait, plan lines... */
  preview: z.unknown(),
  error: z.string().nullable(),
});
export type PreviewStep = z.infer<typeof PreviewStepSchema>;

export const TriggerVerdictSchema = z.object({ matches: z.boolean(), reasons: z.array(z.string()) });

/** The preview of one run. */
export const RunPreviewSchema = z.object({
  version: z.int(),
  trigger: TriggerVerdictSchema,
  steps: z.array(PreviewStepSchema),
  impact: PreviewImpactSchema,
});
export type RunPreview = z.infer<typeof RunPreviewSchema>;

/** The preview over the entities that match the trigger now: how many runs would start and their summed impact. */
export const MatchingNowPreviewSchema = z.object({
  version: z.int(),
  matching_now: z.literal(true),
  /** Entities read from the mirror. */
  examined: z.int(),
  /** Of them, those that match the trigger: the runs that would start (at most `limit`). */
  runs: z.int(),
  /** Runs with a step that would fail. */
  failing: z.int(),
  /** True when `limit` (or the scan's bound) stopped the count before the last entity. */
  truncated: z.boolean(),
  impact: PreviewImpactSchema,
});
export type MatchingNowPreview = z.infer<typeof MatchingNowPreviewSchema>;

export const PreviewAnswerSchema = z.union([RunPreviewSchema, MatchingNowPreviewSchema]);
export type PreviewAnswer = z.infer<typeof PreviewAnswerSchema>;
