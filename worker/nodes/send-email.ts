import { z } from "zod";
import { escapeHtml, escapeMarkdown, interpolate, type Scope, toText } from "../definition/interpolate";
import {
  buildMime,
  interpolatedLinkRefusal,
  messageIdFor,
  renderBodies,
  renderMarkdown,
  VALUE_END,
  VALUE_START,
  withoutMarks,
} from "../lib/mime";
import { type ActionResult, defineAction, notPreviewable } from "../engine/step";
import { issuesText } from "../lib/issues";

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
  format: z.enum(["text", "html", "markdown"]).default("text"),
  body: z.string().max(256 * 1024),
});
export type SendEmailConfig = z.infer<typeof SendEmailConfigSchema>;

const Email = z.email("Not an email address");
/** After interpolation an entry may be a list (`{{trigger.data.emails}}`); lists are flattened. */
const AddressList = z
  .array(z.union([z.string(), z.array(z.string())]))
  .transform((list) => list.flat().map((a) => a.trim()))
  .pipe(z.array(Email).max(50, "At most 50 addresses"));
/** Interpolated text: whatever a reference gave, as text. */
const Text = z.unknown().transform(toText);

/** The step's input: the config after interpolation, checked again because values may now be anything. */
export const SendEmailInputSchema = z.object({
  to: AddressList.refine((l) => l.length > 0, { message: "Add at least one recipient" }),
  cc: AddressList.default([]),
  bcc: AddressList.default([]),
  from: Email.optional(),
  reply_to: Email.optional(),
  // Line breaks in a subject would end the header; they become spaces.
  subject: Text.transform((s) => s.replace(/[\r\n]+/g, " ").trim()).pipe(z.string().min(1, "The subject is empty after interpolation")),
  format: z.enum(["text", "html", "markdown"]).default("text"),
  body: Text,
});
export type SendEmailInput = z.infer<typeof SendEmailInputSchema>;

/** What a previous invocation of this step saved: the envelope recipients already sent to. */
const CheckpointSchema = z.object({ delivered: z.array(z.string()) });

const PERMANENT_CODE = /VALIDATION|MISSING|INVALID|NOT_ALLOWED|NOT_VERIFIED|SUPPRESSED|TOO_MANY|TOO_LARGE|UNSUPPORTED/;
const PERMANENT_MESSAGE = /not allowed|invalid|could not parse|does not match|not verified|suppressed|too many|too large|malformed|unsupported/i;

/**
 * Whether a `send_email` binding error is worth retrying. The production binding throws errors
 * with a string `code` (E_SENDER_NOT_VERIFIED, E_RECIPIENT_NOT_ALLOWED, E_RATE_LIMIT_EXCEEDED ...);
 * the local one plain messages ("email to x not allowed", "invalid message-id"). Refusals of the
 * message or an address are permanent; anything else (rate limits, internal errors, lost
 * connections) is transient.
 */
export function classifyEmailError(e: unknown): { message: string; retryable: boolean } {
  const coded = z.object({ code: z.string() }).safeParse(e);
  const message = e instanceof Error ? e.message : String(e);
  const code = coded.success ? coded.data.code : undefined;
  const permanent = code ? PERMANENT_CODE.test(code) : PERMANENT_MESSAGE.test(message);
  return { message: code && !message.includes(code) ? `${code}: ${message}` : message, retryable: !permanent };
}

/** Each address once, first spelling kept; addresses compare case-insensitively. */
function unique(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The body after interpolation. In an html body values are HTML-escaped (SPEC §8); in a
 * markdown body also markdown-escaped, so data renders as its literal text and cannot add a
 * heading, a link or a tracking image. A link that data supplies — a value inside href, src and
 * the like, in the HTML sent (after markdown) — must be http, https, mailto or relative, and a
 * value may not sit in a tag outside quotes; otherwise this throws, which fails the step without
 * a retry (the data will not change). Found with a probe rendering whose values are marked.
 */
export function resolveBody(format: SendEmailConfig["format"], body: string, scope: Scope): unknown {
  if (format === "text") return interpolate(body, scope);
  const escape = format === "html" ? escapeHtml : escapeMarkdown;
  const resolved = interpolate(body, scope, { escape });
  if (!body.includes("{{")) return resolved;
  const marked = (text: string) => `${VALUE_START}${escape(withoutMarks(text))}${VALUE_END}`;
  const probe = String(interpolate(body, scope, { escape: marked }));
  const refusal = interpolatedLinkRefusal(format === "markdown" ? renderMarkdown(probe) : probe);
  if (refusal) throw new Error(refusal);
  return resolved;
}

/**
 * Sends one email (SPEC §9). The email service takes one envelope recipient per message, so the
 * same raw message (To and Cc headers listing everyone, no Bcc header) goes once to each of to,
 * cc and bcc. When some recipients got it and a later one fails transiently, the step saves who
 * has it (`continue` with a checkpoint, kept across attempts) so no retry sends them a second copy.
 */
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
    };
  },
  async execute(raw, ctx, deps): Promise<ActionResult> {
    const fail = (error: string, retryable: boolean, output?: unknown): ActionResult => ({
      ok: false,
      error,
      retryable,
      ...(output === undefined ? {} : { output }),
    });
    const parsed = SendEmailInputSchema.safeParse(raw);
    if (!parsed.success) return fail(`The email's input is invalid: ${issuesText(parsed.error)}`, false);
    const input = parsed.data;
    const from = input.from ?? deps.config.EMAIL_FROM;
    if (!Email.safeParse(from).success) return fail(`The sender ${from} is not an email address: set from or EMAIL_FROM`, false);

    const messageId = await messageIdFor(ctx.idempotencyKey, from);
    let rawMessage: string;
    try {
      const bodies = renderBodies(input.format, input.body);
      rawMessage = buildMime({ from, to: input.to, cc: input.cc, replyTo: input.reply_to, subject: input.subject, messageId, date: ctx.now, ...bodies });
    } catch (e) {
      return fail(`The message could not be built: ${e instanceof Error ? e.message : String(e)}`, false);
    }

    const envelope = unique([...input.to, ...input.cc, ...input.bcc]);
    const saved = CheckpointSchema.safeParse(ctx.checkpoint);
    const before = new Set(saved.success ? saved.data.delivered.map((a) => a.toLowerCase()) : []);
    const pending = envelope.filter((a) => !before.has(a.toLowerCase()));
    const sentNow: string[] = [];
    const refused: string[] = [];
    let transient: string | undefined;
    for (const rcpt of pending) {
      try {
        await deps.sendEmail({ from, to: rcpt, raw: rawMessage });
        sentNow.push(rcpt);
      } catch (e) {
        const { message, retryable } = classifyEmailError(e);
        if (!retryable) {
          refused.push(`${rcpt} (${message})`);
          continue;
        }
        transient = `Sending to ${rcpt} failed: ${message}`;
        break;
      }
    }
    const delivered = [...envelope.filter((a) => before.has(a.toLowerCase())), ...sentNow];
    ctx.log(`Message ${messageId}: sent to ${sentNow.length} of ${envelope.length} recipients now, ${delivered.length} in all`);
    const progress = { message_id: messageId, delivered: delivered.length, recipients: envelope.length };

    if (transient) {
      // Progress is saved before retrying, so the recipients served so far are not sent to again.
      if (sentNow.length > 0) return { ok: "continue", checkpoint: { delivered } };
      return fail(transient, true, progress);
    }
    if (refused.length) return fail(`The email service refused ${refused.join(", ")}`, false, progress);
    return {
      ok: true,
      output: { message_id: messageId, to: input.to, subject: input.subject },
      artifact: { name: "message", contentType: "message/rfc822", content: rawMessage },
    };
  },
  summary: { counters: ["emails_sent"], summarize: () => ({ emails_sent: 1 }) },
  preview: notPreviewable,
});
