import { z } from "zod";
import { escapeHtml, escapeMarkdown, interpolate, type Scope, toText } from "../definition/interpolate";
import { type ActionContext, type ActionResult, capExceeded, type NodeDeps, type Preview } from "../engine/step";
import { linksOf, rewriteHtml, rewriteText } from "../engagement/links";
import type { Tracked, TrackingStep } from "../engagement/port";
import {
  buildMime,
  type EmailFormat,
  interpolatedLinkRefusal,
  messageIdFor,
  renderBodies,
  renderMarkdown,
  VALUE_END,
  VALUE_START,
  withoutMarks,
} from "../lib/mime";

/* What the email nodes share (send_email, send_internal_email): the fields of their inputs, the body's escaping and the delivery. */

export const EmailFormatSchema = z.enum(["text", "html", "markdown"]);
export const Email = z.email("Not an email address");
/** Interpolated text: whatever a reference gave, as text. */
const Text = z.unknown().transform(toText);
// Line breaks in a subject would end the header; they become spaces.
export const SubjectInput = Text.transform((s) => s.replace(/[\r\n]+/g, " ").trim()).pipe(z.string().min(1, "The subject is empty after interpolation"));
export const BodyInput = Text;

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
export function resolveBody(format: EmailFormat, body: string, scope: Scope): unknown {
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

/** One email as the nodes hand it over: addresses checked, body interpolated. */
export interface EmailToSend {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string | undefined;
  subject: string;
  format: EmailFormat;
  body: string;
  /** `track_links`: http(s) links of both parts go through `/l/{token}` (SPEC §12). */
  trackLinks?: boolean | undefined;
}

/** The step as link tracking knows it; the trigger's subscription is the one a click engages. */
export function trackingStep(ctx: ActionContext): TrackingStep {
  const t = ctx.trigger;
  return {
    runId: ctx.runId,
    workflowId: ctx.workflowId,
    nodeId: ctx.nodeId,
    stepKey: ctx.idempotencyKey,
    test: ctx.test,
    subscriptionId: t.entity === "subscription" ? t.entity_id : null,
    at: ctx.now,
  };
}

/** The tracked URLs of `urls`, or why not: a D1 failure is retryable, a setting that does not work is not. */
export async function trackLinks(urls: string[], ctx: ActionContext, deps: NodeDeps): Promise<Tracked & { retryable?: boolean }> {
  try {
    return await deps.links.track(trackingStep(ctx), urls);
  } catch (e) {
    return { ok: false, reason: `Storing the tracked links failed: ${e instanceof Error ? e.message : String(e)}`, retryable: true };
  }
}

export const fail = (error: string, retryable: boolean, output?: unknown): ActionResult => ({ ok: false, error, retryable, ...(output === undefined ? {} : { output }) });

/**
 * Builds one message and sends it (SPEC §9). The email service takes one envelope recipient per
 * message, so the same raw message (To and Cc headers listing everyone, no Bcc header) goes once
 * to each of to, cc and bcc. When some recipients got it and a later one fails transiently, the
 * step saves who has it (`continue` with a checkpoint, kept across attempts) so no retry sends
 * them a second copy. Output `{message_id, to, subject}`; the raw message is the artifact.
 */
export async function deliverEmail(email: EmailToSend, ctx: ActionContext, deps: NodeDeps): Promise<ActionResult> {
  const { from } = email;
  const messageId = await messageIdFor(ctx.idempotencyKey, from);
  let bodies: { text: string; html?: string };
  try {
    bodies = renderBodies(email.format, email.body);
  } catch (e) {
    return fail(`The message could not be built: ${e instanceof Error ? e.message : String(e)}`, false);
  }
  // Links are rewritten in the parts as sent (after markdown), with the same tokens on every attempt.
  let tracked = 0;
  if (email.trackLinks) {
    const urls = linksOf(bodies);
    const t = await trackLinks(urls, ctx, deps);
    if (!t.ok) return fail(t.reason, t.retryable ?? false);
    bodies = { text: rewriteText(bodies.text, t.urls), ...(bodies.html === undefined ? {} : { html: rewriteHtml(bodies.html, t.urls) }) };
    tracked = urls.length;
  }
  let rawMessage: string;
  try {
    rawMessage = buildMime({ from, to: email.to, cc: email.cc, replyTo: email.replyTo, subject: email.subject, messageId, date: ctx.now, ...bodies });
  } catch (e) {
    return fail(`The message could not be built: ${e instanceof Error ? e.message : String(e)}`, false);
  }

  const envelope = unique([...email.to, ...email.cc, ...email.bcc]);
  const saved = CheckpointSchema.safeParse(ctx.checkpoint);
  const before = new Set(saved.success ? saved.data.delivered.map((a) => a.toLowerCase()) : []);
  const pending = envelope.filter((a) => !before.has(a.toLowerCase()));
  // One message counts one email against the daily cap (SPEC §14), once for all its tries.
  if (pending.length > 0) {
    const cap = await deps.caps.reserve("emails", 1);
    if (!cap.ok) return capExceeded(cap);
  }
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
    output: { message_id: messageId, to: email.to, subject: email.subject, ...(email.trackLinks ? { tracked_links: tracked } : {}) },
    artifact: { name: "message", contentType: "message/rfc822", content: rawMessage },
  };
}

/**
 * The preview of an email (SPEC §13): the message as it would go out — sender, recipients,
 * subject, the HTML and text bodies rendered as deliverEmail renders them — and nothing sent.
 * One email counts once in the impact, however many recipients it has.
 */
export function previewEmail(email: EmailToSend): Preview {
  const shown = { from: email.from, to: email.to, cc: email.cc, bcc: email.bcc, subject: email.subject };
  let bodies: { text: string; html?: string };
  try {
    bodies = renderBodies(email.format, email.body);
  } catch (e) {
    return { previewable: true, output: { ...shown, html: null, text: null }, error: `The message could not be built: ${e instanceof Error ? e.message : String(e)}` };
  }
  // Tracked links are shown as written: the /l/{token} each becomes is made only when the email is sent.
  const output = { ...shown, html: bodies.html ?? null, text: bodies.text, ...(email.trackLinks ? { track_links: true } : {}) };
  // What later steps read: send_email's output, with a message id that says it is a preview.
  return { previewable: true, output, stepOutput: { message_id: "<preview@preview>", to: email.to, subject: email.subject }, impact: { emails: 1 } };
}

/** A step that would fail on its input: the preview says why and shows nothing else. */
export const wouldFail = (error: string): Promise<Preview> => Promise.resolve({ previewable: true, output: null, error });
