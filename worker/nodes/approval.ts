import { z } from "zod";
import { interpolate, toText } from "../definition/interpolate";
import { type ActionResult, type BranchOutput, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { deliverEmail, Email, fail, previewEmail, wouldFail } from "./email-common";
import { Duration, durationMs, humanDuration } from "./wait";

/*
 * The approval node (SPEC §15): approvers get an email with a link to the approval's page; the
 * run then waits, costing nothing (the alarm stands at the deadline), until a decision arrives
 * (`POST /api/runs/{id}/steps/{node_id}/decision`, a signal to the run) or the deadline passes
 * (`on_timeout`). It goes on to `then` when approved, to `else` when rejected.
 */

/** An address, or a template that gives one at run time. */
const Approver = z
  .string()
  .trim()
  .min(1)
  .max(320)
  .refine((a) => a.includes("{{") || z.email().safeParse(a).success, { message: "Not an email address" });

export const ON_TIMEOUT = ["reject", "approve"] as const;
export const DECISIONS = ["approve", "reject"] as const;
export type Decision = (typeof DECISIONS)[number];

export const ApprovalConfigSchema = z.strictObject({
  title: z.string().trim().min(1, "Give the approval a title").max(200),
  message: z.string().max(10_000).default(""),
  approvers: z.array(Approver).min(1, "Add at least one approver").max(20, "At most 20 approvers"),
  timeout: Duration.default({ days: 2 }),
  on_timeout: z.enum(ON_TIMEOUT).default("reject"),
});
export type ApprovalConfig = z.infer<typeof ApprovalConfigSchema>;

/** The step's input: the config interpolated, the deadline fixed when the step began (retries of the email keep it). */
export const ApprovalInputSchema = z.object({
  title: z
    .string()
    .transform((s) => s.replace(/[\r\n]+/g, " ").trim())
    .pipe(z.string().min(1, "The title is empty after interpolation").max(200)),
  message: z.string().max(10_000),
  approvers: z.array(z.string().trim().pipe(Email)).min(1).max(20),
  timeout_at: z.iso.datetime(),
  on_timeout: z.enum(ON_TIMEOUT),
});
export type ApprovalInput = z.infer<typeof ApprovalInputSchema>;

/** What the step's output holds while it waits: its request, and where approvers decide. */
export const ApprovalRequestSchema = ApprovalInputSchema.extend({
  link: z.string(),
  message_id: z.string(),
});

/** The decision as the run receives it: who decided is resolved by the route (a name, never a token). */
export const DecisionSignalSchema = z.object({
  decision: z.enum(DECISIONS),
  by: z.string().min(1).max(200),
  comment: z.string().max(2000).nullable(),
});
export type DecisionSignal = z.infer<typeof DecisionSignalSchema>;

/** The step's output once decided: the request, the decision, who, when, why, and the branch taken. */
export const ApprovalOutputSchema = ApprovalRequestSchema.extend({
  decision: z.enum(DECISIONS).nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  comment: z.string().nullable(),
  timed_out: z.boolean(),
  result: z.boolean(),
  branch: z.enum(["then", "else"]),
});
export type ApprovalOutput = z.infer<typeof ApprovalOutputSchema>;

/** The approval's page in the UI: what approvers open from the email. */
export const approvalLink = (publicUrl: string, runId: string, nodeId: string) => `${publicUrl}/approvals/${runId}/${encodeURIComponent(nodeId)}`;

function emailBody(input: ApprovalInput, link: string): string {
  const fallback = input.on_timeout === "approve" ? "approved" : "rejected";
  return [
    input.title,
    "",
    ...(input.message.trim() ? [input.message.trim(), ""] : []),
    `Approve or reject: ${link}`,
    "",
    `Without a decision by ${input.timeout_at.slice(0, 16).replace("T", " ")} UTC, it counts as ${fallback}.`,
  ].join("\n");
}

function decided(request: z.infer<typeof ApprovalRequestSchema>, decision: Decision, rest: Pick<ApprovalOutput, "decided_by" | "decided_at" | "comment" | "timed_out">): BranchOutput {
  const approved = decision === "approve";
  const output: ApprovalOutput = { ...request, decision, ...rest, result: approved, branch: approved ? "then" : "else" };
  return output;
}

export const approval = defineAction({
  type: "approval",
  label: "Approval",
  configSchema: ApprovalConfigSchema,
  branches: true,
  resolve(config, scope, now): unknown {
    const text = (v: string) => toText(interpolate(v, scope));
    return {
      title: text(config.title),
      message: text(config.message),
      approvers: config.approvers.map(text),
      timeout_at: new Date(now.getTime() + durationMs(config.timeout)).toISOString(),
      on_timeout: config.on_timeout,
    };
  },
  /** Emails the approvers (like send_email: one envelope each, none twice across retries), then awaits the decision. */
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = ApprovalInputSchema.safeParse(raw);
    if (!parsed.success) return fail(`The approval's input is invalid: ${issuesText(parsed.error)}`, false);
    const input = parsed.data;
    const publicUrl = deps.config.PUBLIC_URL;
    if (!publicUrl) return fail("PUBLIC_URL is not an http(s) URL: set it, so that approvers get a link to the approval", false);
    const from = deps.config.EMAIL_FROM;
    if (!Email.safeParse(from).success) return fail(`The sender ${from} is not an email address: set EMAIL_FROM`, false);
    const link = approvalLink(publicUrl, ctx.runId, ctx.nodeId);
    const sent = await deliverEmail(
      { from, to: input.approvers, cc: [], bcc: [], subject: `Approval needed: ${input.title}`, format: "text", body: emailBody(input, link) },
      ctx,
      deps,
    );
    if (sent.ok !== true) return sent;
    const message = z.object({ message_id: z.string() }).parse(sent.output);
    const request: z.infer<typeof ApprovalRequestSchema> = { ...input, link, message_id: message.message_id };
    ctx.log(`Waiting for ${input.approvers.join(", ")} until ${input.timeout_at}`);
    return { ok: "await", until: input.timeout_at, output: { ...request, decision: null }, ...(sent.artifact ? { artifact: sent.artifact } : {}) };
  },
  awaits: {
    receive(output, signal, now) {
      const request = ApprovalRequestSchema.safeParse(output);
      const s = DecisionSignalSchema.safeParse(signal);
      if (!request.success) return { ok: false, refused: "The step holds no approval request" };
      if (!s.success) return { ok: false, refused: `The decision is invalid: ${issuesText(s.error)}` };
      return { ok: true, output: decided(request.data, s.data.decision, { decided_by: s.data.by, decided_at: now.toISOString(), comment: s.data.comment, timed_out: false }) };
    },
    timeout(output, now) {
      // The request was stored by this module; were it not, the deadline still ends the step, rejected.
      const request = ApprovalRequestSchema.safeParse(output);
      const onTimeout = request.success ? request.data.on_timeout : "reject";
      const base = request.success ? request.data : { title: "", message: "", approvers: [], timeout_at: now.toISOString(), on_timeout: onTimeout, link: "", message_id: "" };
      return decided(base, onTimeout, { decided_by: null, decided_at: now.toISOString(), comment: null, timed_out: true });
    },
  },
  /**
   * The email approvers would get (the link shown as it would be, for a run id yet to come), and
   * the branch the preview follows: `then`, as if approved.
   */
  preview(raw, ctx): Promise<Preview> {
    const parsed = ApprovalInputSchema.safeParse(raw);
    if (!parsed.success) return wouldFail(`The approval's input is invalid: ${issuesText(parsed.error)}`);
    const input = parsed.data;
    const from = ctx.config?.EMAIL_FROM ?? "";
    const link = "<PUBLIC_URL>/approvals/<run id>/<node id>";
    const email = previewEmail({ from, to: input.approvers, cc: [], bcc: [], subject: `Approval needed: ${input.title}`, format: "text", body: emailBody(input, link) });
    if (!email.previewable) return Promise.resolve(email);
    const wait = humanDuration(Math.max(60_000, Date.parse(input.timeout_at) - ctx.now.getTime()));
    const request = { ...input, link, message_id: "<preview@preview>" };
    return Promise.resolve({
      previewable: true,
      output: { email: email.output, text: `would wait up to ${wait} for a decision, then count as ${input.on_timeout === "approve" ? "approved" : "rejected"}; the preview follows “approved”` },
      stepOutput: decided(request, "approve", { decided_by: "preview", decided_at: input.timeout_at, comment: null, timed_out: false }),
      ...(email.error === undefined ? {} : { error: email.error }),
      impact: { emails: 1 },
    });
  },
});
