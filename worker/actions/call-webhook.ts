import { z } from "zod";
import { CredentialNameSchema } from "../definition/common";
import { defineAction } from "./types";

const StatusRange = z.union([
  z.int().min(100).max(599),
  z
    .tuple([z.int().min(100).max(599), z.int().min(100).max(599)])
    .refine(([a, b]) => a <= b, { message: "A status range is [low, high]" }),
]);

const TemplateOrUrl = z
  .string()
  .min(1, "Give the URL to call")
  .max(4096)
  .superRefine((u, ctx) => {
    if (u.includes("{{")) return;
    if (!URL.canParse(u)) ctx.addIssue({ code: "custom", message: "Not a URL: use https://host/path" });
    else if (!/^https?:$/.test(new URL(u).protocol)) ctx.addIssue({ code: "custom", message: "Only http and https URLs can be called" });
  });

export const WebhookAuthSchema = z
  .strictObject({
    type: z.enum(["none", "bearer", "basic", "header", "hmac"]).default("none"),
    credential: CredentialNameSchema.optional(),
    /** The header that carries the credential when type is "header". */
    name: z.string().regex(/^[A-Za-z0-9-]+$/, "A header name is letters, digits and -").optional(),
  })
  .superRefine((a, ctx) => {
    if (a.type !== "none" && !a.credential) {
      ctx.addIssue({ code: "custom", path: ["credential"], message: `Pick the credential for ${a.type} auth` });
    }
    if (a.type === "header" && !a.name) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "Name the header that carries the credential" });
    }
  });

export const CallWebhookConfigSchema = z.strictObject({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
  url: TemplateOrUrl,
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "Not a valid header name"), z.string()).default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  body_type: z.enum(["json", "form", "raw", "none"]).default("json"),
  body: z.unknown().optional(),
  timeout_ms: z.int().min(100).max(120_000).default(30_000),
  success_status: z.array(StatusRange).min(1).default([[200, 299]]),
  auth: WebhookAuthSchema.default({ type: "none" }),
});
export type CallWebhookConfig = z.infer<typeof CallWebhookConfigSchema>;

export const callWebhook = defineAction({
  type: "call_webhook",
  label: "Call webhook",
  configSchema: CallWebhookConfigSchema,
  async execute() {
    return { ok: false, error: "call_webhook is not built yet", retryable: false };
  },
  summarize: () => ({ webhooks_called: 1 }),
});
