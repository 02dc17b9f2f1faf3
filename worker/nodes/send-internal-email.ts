import { z } from "zod";
import { interpolate } from "../definition/interpolate";
import { type ActionResult, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { BodyInput, deliverEmail, Email, EmailFormatSchema, fail, previewEmail, resolveBody, SubjectInput, wouldFail } from "./email-common";

/** The recipients are the team's (`INTERNAL_EMAILS`), never the config's: a workflow cannot email anyone else through this node. */
export const SendInternalEmailConfigSchema = z.strictObject({
  subject: z.string().min(1, "Give the email a subject").max(998),
  format: EmailFormatSchema.default("text"),
  body: z.string().max(256 * 1024),
});
export type SendInternalEmailConfig = z.infer<typeof SendInternalEmailConfigSchema>;

export const SendInternalEmailInputSchema = z.object({ subject: SubjectInput, format: EmailFormatSchema.default("text"), body: BodyInput });

/** The most addresses one internal email goes to, as for send_email's `to`. */
const MAX_TEAM = 50;

/**
 * Emails the team (SPEC §12): one message, To listing every address of `INTERNAL_EMAILS`, from
 * `EMAIL_FROM`, built and delivered like send_email (same escaping, one envelope per recipient,
 * no second copy on a retry). An empty or malformed `INTERNAL_EMAILS` fails the step at once:
 * retrying cannot fix a setting. Counted apart from send_email (`internal_emails_sent`), so that
 * a run's `emails_sent` stays the emails to the people the workflow addresses.
 */
export const sendInternalEmail = defineAction({
  type: "send_internal_email",
  label: "Send internal email",
  configSchema: SendInternalEmailConfigSchema,
  resolve(config, scope): unknown {
    return { subject: interpolate(config.subject, scope), format: config.format, body: resolveBody(config.format, config.body, scope) };
  },
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = SendInternalEmailInputSchema.safeParse(raw);
    if (!parsed.success) return fail(`The email's input is invalid: ${issuesText(parsed.error)}`, false);
    const input = parsed.data;
    const team = deps.config.INTERNAL_EMAILS;
    if (team.length === 0) return fail("INTERNAL_EMAILS is empty: set it to the team's addresses, separated by commas", false);
    const bad = team.filter((a) => !Email.safeParse(a).success);
    if (bad.length > 0) return fail(`INTERNAL_EMAILS holds ${bad.join(", ")}, which ${bad.length === 1 ? "is not an email address" : "are not email addresses"}`, false);
    if (team.length > MAX_TEAM) return fail(`INTERNAL_EMAILS lists ${team.length} addresses; at most ${MAX_TEAM}`, false);
    const from = deps.config.EMAIL_FROM;
    if (!Email.safeParse(from).success) return fail(`The sender ${from} is not an email address: set EMAIL_FROM`, false);
    return deliverEmail({ from, to: [...team], cc: [], bcc: [], subject: input.subject, format: input.format, body: input.body }, ctx, deps);
  },
  summary: { counters: ["internal_emails_sent"], summarize: () => ({ internal_emails_sent: 1 }) },
  /** The email to the team as execute would build it, with the same checks of INTERNAL_EMAILS, not sent. */
  preview(raw, ctx): Promise<Preview> {
    const parsed = SendInternalEmailInputSchema.safeParse(raw);
    if (!parsed.success) return wouldFail(`The email's input is invalid: ${issuesText(parsed.error)}`);
    const input = parsed.data;
    const team = ctx.config?.INTERNAL_EMAILS ?? [];
    if (team.length === 0) return wouldFail("INTERNAL_EMAILS is empty: set it to the team's addresses, separated by commas");
    const bad = team.filter((a) => !Email.safeParse(a).success);
    if (bad.length > 0) return wouldFail(`INTERNAL_EMAILS holds ${bad.join(", ")}, which is not a list of email addresses`);
    if (team.length > MAX_TEAM) return wouldFail(`INTERNAL_EMAILS lists ${team.length} addresses; at most ${MAX_TEAM}`);
    const from = ctx.config?.EMAIL_FROM ?? "";
    if (!Email.safeParse(from).success) return wouldFail(`The sender ${from} is not an email address: set EMAIL_FROM`);
    return Promise.resolve(previewEmail({ from, to: [...team], cc: [], bcc: [], subject: input.subject, format: input.format, body: input.body }));
  },
});
