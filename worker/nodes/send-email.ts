import { z } from "zod";
import { interpolate } from "../definition/interpolate";
import { type ActionResult, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { BodyInput, deliverEmail, Email, EmailFormatSchema, fail, previewEmail, resolveBody, SubjectInput, wouldFail } from "./email-common";

/** An address, or a template that gives one at run time. */
const Address = z
  .string()
  .min(1)
  .max(320)
  .refine((a) => a.includes("{{") || z.email().safeParse(a).success, { message: "Not an email address" });

export const SendEmailConfigSchema = z.strictObject({
  to: z.array(Address).min(1, "Add at least one recipient").max(50),
  cc: z.array(Address).max(50).default([]),
  bcc: z.array(Address).max(50).default([]),
  from: Address.optional(),
  reply_to: Address.optional(),
  subject: z.string().min(1, "Give the email a subject").max(998),
  format: EmailFormatSchema.default("text"),
  body: z.string().max(256 * 1024),
  /** Rewrite http(s) links to `/l/{token}`: a click is counted and engages the trigger's subscription (SPEC §12). */
  track_links: z.boolean().optional(),
});
export type SendEmailConfig = z.infer<typeof SendEmailConfigSchema>;

/** After interpolation an entry may be a list (`{{trigger.data.emails}}`); lists are flattened. */
const AddressList = z
  .array(z.union([z.string(), z.array(z.string())]))
  .transform((list) => list.flat().map((a) => a.trim()))
  .pipe(z.array(Email).max(50, "At most 50 addresses"));

/** The step's input: the config after interpolation, checked again because values may now be anything. */
export const SendEmailInputSchema = z.object({
  to: AddressList.refine((l) => l.length > 0, { message: "Add at least one recipient" }),
  cc: AddressList.default([]),
  bcc: AddressList.default([]),
  from: Email.optional(),
  reply_to: Email.optional(),
  subject: SubjectInput,
  format: EmailFormatSchema.default("text"),
  body: BodyInput,
  track_links: z.boolean().optional(),
});
export type SendEmailInput = z.infer<typeof SendEmailInputSchema>;

/** Sends one email (SPEC §9) to every address of to, cc and bcc once (see deliverEmail). */
export const sendEmail = defineAction({
  type: "send_email",
  label: "Send email",
  configSchema: SendEmailConfigSchema,
  /** Only the body is escaped (see resolveBody); other fields are plain. */
  resolve(config, scope): unknown {
    const plain = (v: unknown) => interpolate(v, scope);
    return {
      to: plain(config.to),
      cc: plain(config.cc),
      bcc: plain(config.bcc),
      ...(config.from === undefined ? {} : { from: plain(config.from) }),
      ...(config.reply_to === undefined ? {} : { reply_to: plain(config.reply_to) }),
      subject: plain(config.subject),
      format: config.format,
      body: resolveBody(config.format, config.body, scope),
      ...(config.track_links === undefined ? {} : { track_links: config.track_links }),
    };
  },
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = SendEmailInputSchema.safeParse(raw);
    if (!parsed.success) return fail(`The email's input is invalid: ${issuesText(parsed.error)}`, false);
    const input = parsed.data;
    const from = input.from ?? deps.config.EMAIL_FROM;
    if (!Email.safeParse(from).success) return fail(`The sender ${from} is not an email address: set from or EMAIL_FROM`, false);
    return deliverEmail({ from, to: input.to, cc: input.cc, bcc: input.bcc, replyTo: input.reply_to, subject: input.subject, format: input.format, body: input.body, trackLinks: input.track_links }, ctx, deps);
  },
  summary: { counters: ["emails_sent"], summarize: () => ({ emails_sent: 1 }) },
  /** The email as execute would build it (same checks, same sender rule), not sent. */
  preview(raw, ctx): Promise<Preview> {
    const parsed = SendEmailInputSchema.safeParse(raw);
    if (!parsed.success) return wouldFail(`The email's input is invalid: ${issuesText(parsed.error)}`);
    const input = parsed.data;
    const from = input.from ?? ctx.config?.EMAIL_FROM ?? "";
    if (!Email.safeParse(from).success) return wouldFail(`The sender ${from} is not an email address: set from or EMAIL_FROM`);
    return Promise.resolve(previewEmail({ from, to: input.to, cc: input.cc, bcc: input.bcc, replyTo: input.reply_to, subject: input.subject, format: input.format, body: input.body, trackLinks: input.track_links }));
  },
});
