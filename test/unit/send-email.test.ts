import PostalMime, { decodeWords } from "postal-mime";
import { describe, expect, it } from "vitest";
import { classifyEmailError } from "../../worker/nodes/email-common";
import { SendEmailConfigSchema, SendEmailInputSchema, sendEmail } from "../../worker/nodes/send-email";
import type { ActionContext, NodeDeps } from "../../worker/engine/step";
import { type Config, ConfigSchema } from "../../worker/config";
import { base64Lines, buildMime, decodeEntities, encodeHeaderWords, htmlToText, messageIdFor, renderBodies } from "../../worker/lib/mime";
import { actionContext, testDeps, testScope } from "../support/action-context";

const scope = testScope({ name: "<script>alert('x')</script> & Co", on_hand: 2, emails: ["a@example.com", "b@example.com"], buyer: "buyer@example.com" }, {});

const cfg = (over: Record<string, unknown>) => SendEmailConfigSchema.parse({ to: ["ops@example.com"], subject: "Hi", body: "Hello", ...over });
const resolve = (over: Record<string, unknown>) => sendEmail.resolve!(cfg(over), scope, new Date());

function context(over: Partial<ActionContext> = {}) {
  return actionContext(scope, { nodeId: "mail", ...over });
}

/** A stand-in email service that records envelopes and fails the recipients it is told to. */
function fakeEmail(failures: Record<string, Error> = {}) {
  const envelopes: { from: string; to: string }[] = [];
  const email: NodeDeps["sendEmail"] = async (message) => {
    const failure = failures[message.to];
    if (failure) throw failure;
    envelopes.push({ from: message.from, to: message.to });
  };
  return { email, envelopes };
}

function deps(email: NodeDeps["sendEmail"], over: Partial<Config> = {}): NodeDeps {
  return testDeps({ config: { ...ConfigSchema.parse({ EMAIL_FROM: "workflows@example.com" }), credentials: new Map(), ...over }, sendEmail: email });
}

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("send_email config and input", () => {
  it("fills defaults and refuses bad addresses and empty lists", () => {
    expect(SendEmailConfigSchema.parse({ to: ["a@example.com"], subject: "S", body: "B" })).toEqual({
      to: ["a@example.com"],
      cc: [],
      bcc: [],
      subject: "S",
      format: "text",
      body: "B",
    });
    const issues = (c: unknown) => SendEmailConfigSchema.safeParse(c).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ to: [], subject: "S", body: "B" })).toContain("to: Add at least one recipient");
    expect(issues({ to: ["nope"], subject: "S", body: "B" })).toContain("to.0: Not an email address");
    expect(issues({ to: ["{{trigger.data.buyer}}"], subject: "S", body: "B" })).toEqual([]);
  });

  it("flattens a reference that gives a list of addresses, and checks every address", () => {
    const input = SendEmailInputSchema.parse(resolve({ to: ["{{trigger.data.emails}}", "c@example.com"] }));
    expect(input.to).toEqual(["a@example.com", "b@example.com", "c@example.com"]);
    const bad = SendEmailInputSchema.safeParse(resolve({ to: ["{{trigger.data.on_hand}}"] }));
    expect(bad.success).toBe(false);
  });

  it("turns line breaks in a subject into spaces", () => {
    expect(SendEmailInputSchema.parse({ ...cfg({}), subject: "a\r\nBcc: x@example.com" }).subject).toBe("a Bcc: x@example.com");
    expect(SendEmailInputSchema.safeParse({ ...cfg({}), subject: " \n " }).success).toBe(false);
  });
});

describe("resolve", () => {
  it("HTML-escapes interpolated values in an html body, and only there", () => {
    const input = resolve({ format: "html", subject: "Stock of {{trigger.data.name}}", body: "<p>Item: {{trigger.data.name}}</p>" });
    expect(input).toMatchObject({
      subject: "Stock of <script>alert('x')</script> & Co",
      body: "<p>Item: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co</p>",
    });
  });

  it("escapes a body that is exactly one reference, too", () => {
    expect(resolve({ format: "html", body: "{{trigger.data.name}}" })).toMatchObject({ body: "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" });
    expect(resolve({ format: "markdown", body: "{{trigger.data.name}}" })).toMatchObject({
      body: "&lt;script&gt;alert\\(&#39;x&#39;\\)&lt;\\/script&gt; &amp; Co",
    });
  });

  it("leaves a text body unescaped", () => {
    expect(resolve({ format: "text", body: "Item: {{trigger.data.name}}" })).toMatchObject({ body: "Item: <script>alert('x')</script> & Co" });
  });

  it("fails on a missing path", () => {
    expect(() => resolve({ body: "{{trigger.data.missing}}" })).toThrow(/missing/);
  });
});

describe("values in a markdown body", () => {
  const INJECTION = "# Hi ![x](https://evil.example/t.png) [click](https://evil.example) <img src=x> www.evil.example a@evil.example";
  const render = (body: string, data: Record<string, unknown>) => {
    const s = testScope(data, {});
    const resolved = sendEmail.resolve!(cfg({ format: "markdown", body }), s, new Date()) as { body: string };
    return renderBodies("markdown", resolved.body);
  };

  it("renders as the literal text: no heading, image, link or autolink comes from data", () => {
    const { html, text } = render("Hello {{trigger.data.name}}", { name: INJECTION });
    expect(html).not.toMatch(/<(img|a|h1)\b/);
    expect(text).toBe(`Hello ${INJECTION}`);
  });

  it("cannot start a block from a line of its own", () => {
    const { html, text } = render("{{trigger.data.name}}", { name: "# Heading\n- item\n1. item\n> quote\n===\n| a | b |\n|---|---|" });
    expect(html).not.toMatch(/<(h1|h2|ul|ol|li|blockquote|table)\b/);
    // one paragraph, its line breaks soft
    expect(text).toBe("# Heading - item 1. item > quote === | a | b | |---|---|");
  });

  it("keeps emphasis, code and entities literal, and the author's own markdown working", () => {
    const { html, text } = render("**Dear** {{trigger.data.name}}", { name: "*bold* _it_ `code` ~~s~~ &amp; \\ [x]" });
    expect(html).toContain("<strong>Dear</strong>");
    expect(html).not.toMatch(/<(em|code|del)\b/);
    expect(text).toBe("Dear *bold* _it_ `code` ~~s~~ &amp; \\ [x]");
  });

  it("stays inert inside raw HTML the author wrote", () => {
    const { html } = render('<div title="{{trigger.data.name}}">Hi</div>', { name: '" onmouseover="alert(1)' });
    expect(html).toContain('title="&quot; onmouseover\\=&quot;alert\\(1\\)"');
  });
});

describe("links that come from data", () => {
  const resolveBody = (format: "html" | "markdown", body: string, url: unknown) =>
    sendEmail.resolve!(cfg({ format, body }), testScope({ url, a: "java", b: "script:alert(1)" }, {}), new Date()) as { body: string };

  it.each([
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " \tjava\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "jav&#x61;script:alert(1)",
    "file:///etc/passwd",
  ])("refuses %j in an href or src of an html body", (url) => {
    for (const body of ['<a href="{{trigger.data.url}}">x</a>', "<img src='{{trigger.data.url}}'>"]) {
      expect(() => resolveBody("html", body, url), body).toThrow(/comes from data and is not http, https, mailto or relative/);
    }
  });

  it("checks every candidate of a srcset", () => {
    const body = '<img srcset="https://cdn.example/a.png 1x, {{trigger.data.url}} 2x">';
    expect(() => resolveBody("html", body, "data:image/png;base64,AAAA")).toThrow(/srcset=/);
    expect(resolveBody("html", body, "https://cdn.example/b.png").body).toContain("b.png 2x");
  });

  it("refuses a scheme that data assembles from parts", () => {
    expect(() => resolveBody("html", '<a href="{{trigger.data.a}}{{trigger.data.b}}">x</a>', "")).toThrow(/href=/);
  });

  it.each([
    ["a markdown link", "[click]({{trigger.data.url}})"],
    ["a markdown image", "![x]({{trigger.data.url}})"],
    ["a reference definition", "[click][r]\n\n[r]: {{trigger.data.url}}"],
    ["raw HTML in markdown", '<a href="{{trigger.data.url}}">x</a>'],
  ])("refuses a javascript: link from data in %s", (_, body) => {
    expect(() => resolveBody("markdown", body, "javascript:alert(1)")).toThrow(/comes from data/);
  });

  it("refuses a value in a tag outside quotes, where it could add attributes", () => {
    expect(() => resolveBody("html", "<a href={{trigger.data.url}}>x</a>", "https://x.example")).toThrow(/outside a quoted attribute value/);
  });

  it("lets http, https, mailto and relative links from data through, and the author's own links", () => {
    for (const url of ["https://shop.example/p?id=1&x=2", "HTTP://shop.example", "mailto:a@example.com", "/orders/1", "//cdn.example/x.png"]) {
      expect(resolveBody("html", '<a href="{{trigger.data.url}}">x</a>', url).body, url).toContain("href=");
      expect(resolveBody("markdown", "[x]({{trigger.data.url}})", url).body, url).toContain("[x](");
    }
    const own = resolveBody("html", '<a href="javascript:void(0)">{{trigger.data.url}}</a> <a href="https://x.example/{{trigger.data.url}}">y</a>', "javascript:1");
    expect(own.body).toBe('<a href="javascript:void(0)">javascript:1</a> <a href="https://x.example/javascript:1">y</a>');
  });

  it("keeps an ampersand in a link from data as one character", () => {
    const { html } = renderBodies("markdown", resolveBody("markdown", "[x]({{trigger.data.url}})", "https://shop.example/p?id=1&x=2").body);
    expect(html).toContain('<a href="https://shop.example/p?id=1&amp;x=2">x</a>');
  });
});

describe("html to text", () => {
  it("keeps paragraphs, lists, line breaks and links readable", () => {
    const html = '<h1>Low stock</h1>\n<p>Shop  <b>Berlin</b>\nneeds:</p><ul><li>Sneaker 42</li><li>Sneaker 43</li></ul><p>See <a href="https://erp.example.com/p/1">the plan</a><br>Thanks</p>';
    expect(htmlToText(html)).toBe("Low stock\n\nShop Berlin needs:\n\n- Sneaker 42\n- Sneaker 43\n\nSee the plan (https://erp.example.com/p/1)\nThanks");
  });

  it("drops script, style and comments, decodes entities once and keeps <pre> whitespace", () => {
    const html = "<style>p{}</style><script>x()</script><!-- hi --><p>a &amp;lt; b &lt; c &#169; &#x263A;</p><pre>line 1\n  line 2</pre>";
    expect(htmlToText(html)).toBe("a &lt; b < c © ☺\n\nline 1\n  line 2");
  });

  it("decodes character references without double decoding", () => {
    expect(decodeEntities("&amp;amp; &quot;q&quot; &#39;s&#39; &unknown; &#0;")).toBe("&amp; \"q\" 's' &unknown; &#0;");
  });
});

describe("bodies", () => {
  it("renders markdown to HTML with a plain-text alternative", () => {
    const { html, text } = renderBodies("markdown", "# Restock\n\n**3** items:\n\n- A\n- B\n\n[Plan](https://erp.example.com/p/1)");
    expect(html).toContain("<h1>Restock</h1>");
    expect(html).toContain("<strong>3</strong>");
    expect(html).toContain("<li>A</li>");
    expect(html).toContain('<a href="https://erp.example.com/p/1">Plan</a>');
    expect(html).toMatch(/^<!doctype html>/);
    expect(text).toBe("Restock\n\n3 items:\n\n- A\n- B\n\nPlan (https://erp.example.com/p/1)");
  });

  it("keeps an escaped value inert through markdown", () => {
    const body = String((resolve({ format: "markdown", body: "Item {{trigger.data.name}}" }) as { body: string }).body);
    const { html, text } = renderBodies("markdown", body);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");
    expect(text).toBe("Item <script>alert('x')</script> & Co");
  });

  it("gives html a text alternative and plain text no html part", () => {
    expect(renderBodies("html", "<p>Hi</p>")).toEqual({ text: "Hi", html: expect.stringContaining("<body>\n<p>Hi</p>\n</body>") });
    expect(renderBodies("html", "<html><body>Whole</body></html>").html).toBe("<html><body>Whole</body></html>");
    expect(renderBodies("text", "Hi <b>")).toEqual({ text: "Hi <b>" });
  });
});

describe("MIME helpers", () => {
  it("folds a long non-ASCII subject into encoded words of at most 75 characters", () => {
    const subject = "Nachbestellung für Größe 42 — ".repeat(20);
    const folded = encodeHeaderWords(subject);
    for (const line of folded.split("\r\n")) expect(line.trim().length).toBeLessThanOrEqual(75);
    expect(decodeWords(folded.replace(/\r\n /g, " "))).toBe(subject);
  });

  it("wraps base64 at 76 characters", () => {
    const lines = base64Lines("x".repeat(1000)).split("\r\n");
    expect(lines.every((l) => l.length <= 76)).toBe(true);
    expect(atob(lines.join(""))).toBe("x".repeat(1000));
  });

  it("derives the Message-ID from the idempotency key and the sender's domain", async () => {
    const a = await messageIdFor("run_1:mail", "workflows@example.com");
    expect(a).toMatch(/^<[0-9a-f]{32}@example\.com>$/);
    expect(await messageIdFor("run_1:mail", "workflows@example.com")).toBe(a);
    expect(await messageIdFor("run_2:mail", "workflows@example.com")).not.toBe(a);
  });

  it("builds a message that parses back, with To and Cc but no Bcc header", async () => {
    const raw = buildMime({
      from: "workflows@example.com",
      to: ["a@example.com", "b@example.com"],
      cc: ["c@example.com"],
      replyTo: "buyer@example.com",
      subject: "Größe 42 is low",
      messageId: "<abc@example.com>",
      date: new Date("2026-03-01T12:00:00Z"),
      text: "plain ✓",
      html: "<p>html ✓</p>",
    });
    expect(raw.split("\r\n").every((l) => l.length <= 998)).toBe(true);
    expect(raw.replace(/\r\n/g, "")).not.toMatch(/\n/);
    expect(raw).not.toMatch(/^bcc:/im);
    const mail = await PostalMime.parse(raw);
    expect(mail.from).toEqual({ name: "", address: "workflows@example.com" });
    expect(mail.to?.map((a) => a.address)).toEqual(["a@example.com", "b@example.com"]);
    expect(mail.cc?.map((a) => a.address)).toEqual(["c@example.com"]);
    expect(mail.replyTo?.map((a) => a.address)).toEqual(["buyer@example.com"]);
    expect(mail.subject).toBe("Größe 42 is low");
    expect(mail.messageId).toBe("<abc@example.com>");
    expect(new Date(mail.date!).toISOString()).toBe("2026-03-01T12:00:00.000Z");
    expect(mail.text?.trim()).toBe("plain ✓");
    expect(mail.html?.trim()).toBe("<p>html ✓</p>");
  });
});

describe("binding errors", () => {
  it("treats refusals of the message or an address as permanent", () => {
    for (const e of [
      coded("E_SENDER_NOT_VERIFIED", "Sender domain not verified"),
      coded("E_RECIPIENT_NOT_ALLOWED", "Recipient not in allowed list"),
      coded("E_RECIPIENT_SUPPRESSED", "suppressed"),
      coded("E_VALIDATION_ERROR", "Invalid email format"),
      new Error("email to x@example.com not allowed"),
      new Error("invalid message-id"),
      new Error("From: header does not match mail from"),
    ]) {
      expect(classifyEmailError(e).retryable, e.message).toBe(false);
    }
  });

  it("treats rate limits, internal errors and lost connections as transient", () => {
    for (const e of [coded("E_RATE_LIMIT_EXCEEDED", "slow down"), coded("E_INTERNAL_SERVER_ERROR", "oops"), new Error("Network connection lost."), "weird"]) {
      expect(classifyEmailError(e).retryable, String(e)).toBe(true);
    }
    expect(classifyEmailError(coded("E_RATE_LIMIT_EXCEEDED", "slow down")).message).toBe("E_RATE_LIMIT_EXCEEDED: slow down");
  });
});

describe("execute with a stand-in binding", () => {
  const input = (over: Record<string, unknown> = {}) =>
    SendEmailInputSchema.parse(resolve({ to: ["a@example.com", "b@example.com"], cc: ["c@example.com"], bcc: ["d@example.com", "A@example.com"], ...over }));

  it("sends one message per envelope recipient, each address once, from EMAIL_FROM", async () => {
    const { email, envelopes } = fakeEmail();
    const r = await sendEmail.execute(input(), context().ctx, deps(email));
    expect(r).toMatchObject({ ok: true, output: { to: ["a@example.com", "b@example.com"], subject: "Hi" } });
    expect(envelopes).toEqual(["a@example.com", "b@example.com", "c@example.com", "d@example.com"].map((to) => ({ from: "workflows@example.com", to })));
  });

  it("saves progress when a later recipient fails transiently, and skips the served ones next time", async () => {
    const { email, envelopes } = fakeEmail({ "c@example.com": coded("E_RATE_LIMIT_EXCEEDED", "slow down") });
    const first = await sendEmail.execute(input(), context().ctx, deps(email));
    expect(first).toEqual({ ok: "continue", checkpoint: { delivered: ["a@example.com", "b@example.com"] } });

    // the next invocation fails on the same recipient without progress: a retryable failure
    const second = await sendEmail.execute(input(), context({ checkpoint: { delivered: ["a@example.com", "b@example.com"] } }).ctx, deps(email));
    expect(second).toMatchObject({ ok: false, retryable: true, error: "Sending to c@example.com failed: E_RATE_LIMIT_EXCEEDED: slow down", output: { delivered: 2, recipients: 4 } });

    const healthy = fakeEmail();
    const third = await sendEmail.execute(input(), context({ attempt: 2, checkpoint: { delivered: ["a@example.com", "b@example.com"] } }).ctx, deps(healthy.email));
    expect(third.ok).toBe(true);
    expect(healthy.envelopes.map((e) => e.to)).toEqual(["c@example.com", "d@example.com"]);
    expect(envelopes.map((e) => e.to)).toEqual(["a@example.com", "b@example.com"]);
  });

  it("fails without retrying when the service refuses a recipient, after serving the others", async () => {
    const { email, envelopes } = fakeEmail({ "b@example.com": coded("E_RECIPIENT_SUPPRESSED", "bounced before") });
    const r = await sendEmail.execute(input(), context().ctx, deps(email));
    expect(r).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/refused b@example\.com \(E_RECIPIENT_SUPPRESSED: bounced before\)/) });
    expect(envelopes.map((e) => e.to)).toEqual(["a@example.com", "c@example.com", "d@example.com"]);
  });

  it("refuses bad input without sending", async () => {
    const { email, envelopes } = fakeEmail();
    expect(await sendEmail.execute({ ...input(), to: ["not an address"] }, context().ctx, deps(email))).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringMatching(/^The email's input is invalid: to\.0: Not an email address/),
    });
    expect(await sendEmail.execute({ ...input(), to: [] }, context().ctx, deps(email))).toMatchObject({ ok: false, retryable: false });
    expect(await sendEmail.execute(input(), context().ctx, deps(email, { EMAIL_FROM: "nobody" }))).toMatchObject({
      ok: false,
      retryable: false,
      error: "The sender nobody is not an email address: set from or EMAIL_FROM",
    });
    expect(envelopes).toEqual([]);
  });
});
