import { z } from "zod";
import { defineAction } from "./types";

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

export const sendEmail = defineAction({
  type: "send_email",
  label: "Send email",
  configSchema: SendEmailConfigSchema,
  async execute() {
    return { ok: false, error: "send_email is not built yet", retryable: false };
  },
  summarize: () => ({ emails_sent: 1 }),
});
