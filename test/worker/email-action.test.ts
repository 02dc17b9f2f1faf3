import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import { SendEmailConfigSchema, sendEmail } from "../../worker/nodes/send-email";
import type { ActionContext, ActionResult, NodeDeps } from "../../worker/engine/step";
import { stepDeps } from "../../worker/run/deps";
import { uid } from "../support/api";
import { actionContext, testScope } from "../support/action-context";

/** The deps the run shell gives actions: the real email binding behind the port. */
const deps = (): NodeDeps => stepDeps(env).deps;

const scope = testScope({ name: "<script>alert(1)</script> Sneaker", on_hand: 2, shop: "Berlin Mitte", buyer: "buyer@example.com" }, { plan: { output: { plan_id: "plan_7", added: 3 } } });

function context(over: Partial<ActionContext> = {}) {
  return actionContext(scope, { runId: uid("run"), nodeId: "mail", ...over });
}

/** Resolves a config the way the engine does and sends it through the real binding. */
async function send(over: Record<string, unknown>, ctxOver: Partial<ActionContext> = {}) {
  const cfg = SendEmailConfigSchema.parse({ to: ["ops@example.com"], subject: "Low stock", body: "Hello", ...over });
  const input = sendEmail.resolve!(cfg, scope, new Date());
  const { ctx, logs } = context(ctxOver);
  const result = await sendEmail.execute(input, ctx, deps());
  return { input, result, ctx, logs };
}

async function sent(r: ActionResult) {
  if (r.ok !== true) throw new Error(`expected a success, got ${JSON.stringify(r)}`);
  expect(r.artifact).toMatchObject({ name: "message", contentType: "message/rfc822" });
  const raw = r.artifact!.content;
  return { output: r.output as { message_id: string; to: string[]; subject: string }, raw, mail: await PostalMime.parse(raw) };
}

describe("send_email through the real binding", () => {
  it("sends a text email from EMAIL_FROM and keeps the raw message as the artifact", async () => {
    const { result, ctx } = await send({ subject: "{{trigger.data.on_hand}} left in {{trigger.data.shop}}", body: "Only {{trigger.data.on_hand}} left.\nPlan {{steps.plan.output.plan_id}}." });
    const { output, mail } = await sent(result);
    expect(output).toEqual({ message_id: expect.stringMatching(/^<[0-9a-f]{32}@example\.com>$/), to: ["ops@example.com"], subject: "2 left in Berlin Mitte" });
    expect(mail.messageId).toBe(output.message_id);
    expect(mail.from).toEqual({ name: "", address: "workflows@example.com" });
    expect(mail.to?.map((a) => a.address)).toEqual(["ops@example.com"]);
    expect(mail.subject).toBe("2 left in Berlin Mitte");
    expect(mail.text?.trim()).toBe("Only 2 left.\nPlan plan_7.");
    expect(mail.html).toBeUndefined();
    expect(new Date(mail.date!).getTime()).toBe(Math.floor(ctx.now.getTime() / 1000) * 1000);
  });

  it("escapes an interpolated <script> in an html body and adds a text alternative", async () => {
    const { input, result } = await send({ format: "html", subject: "Low: {{trigger.data.name}}", body: "<h2>Item</h2><p>{{trigger.data.name}} has {{trigger.data.on_hand}} left</p>" });
    expect(input).toMatchObject({ body: "<h2>Item</h2><p>&lt;script&gt;alert(1)&lt;/script&gt; Sneaker has 2 left</p>" });
    const { mail } = await sent(result);
    expect(mail.html).toContain("<p>&lt;script&gt;alert(1)&lt;/script&gt; Sneaker has 2 left</p>");
    expect(mail.html).not.toContain("<script>");
    expect(mail.text?.trim()).toBe("Item\n\n<script>alert(1)</script> Sneaker has 2 left");
    // the subject is a header, not HTML: it carries the value as written
    expect(mail.subject).toBe("Low: <script>alert(1)</script> Sneaker");
  });

  it("renders markdown to HTML with a plain-text alternative, values escaped", async () => {
    const body = "# Restock {{trigger.data.shop}}\n\n**{{steps.plan.output.added}}** items added for {{trigger.data.name}}:\n\n- one\n- two\n\n[Open the plan](https://erp.example.com/plans/{{steps.plan.output.plan_id}})";
    const { result } = await send({ format: "markdown", body });
    const { mail } = await sent(result);
    expect(mail.html).toContain("<h1>Restock Berlin Mitte</h1>");
    expect(mail.html).toContain("<strong>3</strong> items added for &lt;script&gt;alert(1)&lt;/script&gt; Sneaker");
    expect(mail.html).toContain("<li>one</li>");
    expect(mail.html).toContain('<a href="https://erp.example.com/plans/plan_7">Open the plan</a>');
    expect(mail.html).not.toContain("<script>");
    expect(mail.text?.trim()).toBe(
      "Restock Berlin Mitte\n\n3 items added for <script>alert(1)</script> Sneaker:\n\n- one\n- two\n\nOpen the plan (https://erp.example.com/plans/plan_7)",
    );
  });

  it("sends to every to, cc and bcc address, listing To and Cc in the headers and never Bcc", async () => {
    const { result, logs } = await send({
      to: ["ops@example.com", "{{trigger.data.buyer}}"],
      cc: ["lead@example.com"],
      bcc: ["audit@example.com", "OPS@example.com"],
      reply_to: "{{trigger.data.buyer}}",
    });
    const { output, raw, mail } = await sent(result);
    expect(output.to).toEqual(["ops@example.com", "buyer@example.com"]);
    expect(mail.to?.map((a) => a.address)).toEqual(["ops@example.com", "buyer@example.com"]);
    expect(mail.cc?.map((a) => a.address)).toEqual(["lead@example.com"]);
    expect(mail.replyTo?.map((a) => a.address)).toEqual(["buyer@example.com"]);
    expect(mail.bcc).toBeUndefined();
    expect(mail.headers.some((h) => h.key === "bcc")).toBe(false);
    expect(raw).not.toContain("audit@example.com");
    expect(logs.join("\n")).toMatch(/sent to 4 of 4 recipients/);
  });

  it("sends from an explicit from address", async () => {
    const { result } = await send({ from: "alerts@example.com" });
    const { output, mail } = await sent(result);
    expect(mail.from).toEqual({ name: "", address: "alerts@example.com" });
    expect(output.message_id).toMatch(/@example\.com>$/);
  });

  it("keeps the Message-ID of a step across retries, and gives another step its own", async () => {
    const { ctx } = context();
    const first = await sent((await send({}, { idempotencyKey: ctx.idempotencyKey, attempt: 1 })).result);
    const retry = await sent((await send({}, { idempotencyKey: ctx.idempotencyKey, attempt: 2 })).result);
    const other = await sent((await send({})).result);
    expect(retry.output.message_id).toBe(first.output.message_id);
    expect(retry.mail.messageId).toBe(first.mail.messageId);
    expect(other.output.message_id).not.toBe(first.output.message_id);
  });

  it("carries non-ASCII text and long subjects intact", async () => {
    const subject = "Nachbestellung für Größe 42 — Filiale Köln ".repeat(8).trim();
    const { result } = await send({ subject, body: "Grüße ✓ — 日本語" });
    const { raw, mail } = await sent(result);
    expect(mail.subject).toBe(subject);
    expect(mail.text?.trim()).toBe("Grüße ✓ — 日本語");
    expect(raw.split("\r\n").every((line) => line.length <= 998)).toBe(true);
  });

  it("refuses an address that interpolation made invalid, without sending", async () => {
    const { result } = await send({ to: ["{{trigger.data.shop}}"] });
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/to\.0: Not an email address/) });
  });

  it("sends a markdown value as its literal text, without the image, link or heading it spells", async () => {
    const name = "# Hi ![x](https://evil.example/t.png) [click](https://evil.example)";
    const cfg = SendEmailConfigSchema.parse({ to: ["ops@example.com"], subject: "Hi", format: "markdown", body: "Dear {{trigger.data.name}}" });
    const input = sendEmail.resolve!(cfg, testScope({ name }), new Date());
    const { mail } = await sent(await sendEmail.execute(input, context().ctx, deps()));
    expect(mail.html).not.toMatch(/<(img|a|h1)\b/);
    expect(mail.html).not.toContain("evil.example/t.png\"");
    expect(mail.text?.trim()).toBe(`Dear ${name}`);
  });

  it("refuses a javascript: link that data puts into an html body, before anything is sent", async () => {
    const cfg = SendEmailConfigSchema.parse({ to: ["ops@example.com"], subject: "Hi", format: "html", body: '<a href="{{trigger.data.site}}">Your shop</a>' });
    expect(() => sendEmail.resolve!(cfg, testScope({ site: "javascript:alert(document.cookie)" }), new Date())).toThrow(
      /href="javascript:alert\(document\.cookie\)" comes from data and is not http, https, mailto or relative/,
    );
  });

  it("fails the step on a missing path when resolving", async () => {
    await expect(send({ body: "{{trigger.data.nope}}" })).rejects.toThrow(/missing/);
  });
});
