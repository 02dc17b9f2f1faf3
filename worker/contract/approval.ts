import { z } from "zod";
import { DECISIONS, ON_TIMEOUT } from "../nodes/approval";
import { PageQuerySchema } from "./page";

/*
 * Approvals (SPEC §15) as the API shows them: the inbox's rows and the decision a client sends.
 * The run's approval step holds the same facts in its output (`steps.<id>.output`).
 */

export const ApprovalStatusSchema = z
  .enum(["waiting", "approved", "rejected", "cancelled"])
  .describe("waiting for a decision; approved or rejected (by a person, or at the deadline: timed_out); cancelled with its run");
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

export const ApprovalSchema = z.object({
  run_id: z.string(),
  node_id: z.string(),
  workflow_id: z.string(),
  /** The workflow's current name; null once the workflow is gone. */
  workflow_name: z.string().nullable(),
  workflow_version: z.int(),
  test: z.boolean(),
  status: ApprovalStatusSchema,
  title: z.string(),
  message: z.string(),
  approvers: z.array(z.string()),
  /** When the approvers were emailed. */
  requested_at: z.string(),
  /** When it counts as `on_timeout` without a decision. */
  timeout_at: z.string(),
  on_timeout: z.enum(ON_TIMEOUT),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  comment: z.string().nullable(),
  /** Decided by the deadline (`on_timeout`), not by a person. */
  timed_out: z.boolean(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

export const ApprovalListQuerySchema = PageQuerySchema.extend({
  /** `waiting`: not decided yet; `decided`: approved or rejected; absent: every approval. */
  status: z.enum(["waiting", "decided"]).optional(),
});

export const DecisionBodySchema = z.strictObject({
  decision: z.enum(DECISIONS),
  comment: z.string().max(2000).optional(),
  /** Who decides, as recorded in the step's output; API tokens carry no name. */
  by: z.string().trim().min(1).max(200).optional(),
});
export type DecisionBody = z.infer<typeof DecisionBodySchema>;
