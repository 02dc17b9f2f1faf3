import { describe, expect, it } from "vitest";
import { conversionsOf, type CandidateSubscription } from "../../worker/engagement/conversion";
import { linksOf, rewriteHtml, rewriteText } from "../../worker/engagement/links";
import { linkToken, TOKEN_PATTERN, tokenKey } from "../../worker/engagement/tokens";
import { linksPort } from "../../worker/engagement/store";
import { config } from "../../worker/config";
import { SendEmailConfigSchema, sendEmail } from "../../worker/nodes/send-email";
import { actionContext, testDeps, testScope } from "../support/action-context";

describe("link rewriting", () => {
  const html = `<p>Back: <a href="https://shop.example/p/42?size=44&amp;utm=x">Buy</a>, <a href='http://shop.example/sizes'>sizes</a>,
    <a href="mailto:help@shop.example">help</a>, <a href="/relative">rel</a>, <a href="#top">top</a>, <img src="https://cdn.example/i.png"> or https://shop.example/faq.</p>`;
  const text = "Buy: https://shop.example/p/42?size=44&utm=x. Sizes (http://shop.example/sizes) or https://other.example/a, thanks";

  it("finds each distinct http(s) link a reader can follow, HTML first, entities decoded, no images, mailto or relative links", () => {
    expect(linksOf({ text, html })).toEqual(["https://shop.example/p/42?size=44&utm=x", "http://shop.example/sizes", "https://shop.example/faq", "https://other.example/a"]);
    expect(linksOf({ text: "no links here, mailto:a@b.c" })).toEqual([]);
  });

  it("rewrites hrefs and bare links, keeping punctuation around them and every other link", () => {
    const map = new Map([
      ["https://shop.example/p/42?size=44&utm=x", "https://w.test/l/AAA"],
      ["http://shop.example/sizes", "https://w.test/l/BBB"],
    ]);
    const h = rewriteHtml(html, map);
    expect(h).toContain(`<a href="https://w.test/l/AAA">Buy</a>`);
    expect(h).toContain(`<a href="https://w.test/l/BBB">sizes</a>`);
    expect(h).toContain(`href="mailto:help@shop.example"`);
    expect(h).toContain(`src="https://cdn.example/i.png"`);
    expect(rewriteHtml(html, new Map([["https://shop.example/faq", "https://w.test/l/CCC"]]))).toContain("> or https://w.test/l/CCC.</p>");
    expect(rewriteText(text, map)).toBe("Buy: https://w.test/l/AAA. Sizes (https://w.test/l/BBB) or https://other.example/a, thanks");
  });
});

describe("link tokens", () => {
  it("are 128-bit base64url, the same for the same step and URL, different otherwise and under another secret", async () => {
    const key = await tokenKey("secret-1");
    const a = await linkToken(key, "run_1:mail", "https://x.example/a");
    expect(a).toMatch(TOKEN_PATTERN);
    expect(await linkToken(key, "run_1:mail", "https://x.example/a")).toBe(a);
    expect(await linkToken(key, "run_2:mail", "https://x.example/a")).not.toBe(a);
    expect(await linkToken(key, "run_1:mail", "https://x.example/b")).not.toBe(a);
    expect(await linkToken(await tokenKey("secret-2"), "run_1:mail", "https://x.example/a")).not.toBe(a);
  });
});

describe("conversion rules", () => {
  const order = {
    id: "ord_1",
    customer_id: "cus_1",
    created_at: "2026-11-20T12:00:00.000Z",
    lines: [
      { variant_id: "v1", quantity: 2, price: 59.9 },
      { variant_id: "v2", quantity: 1, price: 120 },
      { variant_id: "v1", quantity: 1, price: 59.9 },
    ],
  };
  const sub = (id: string, variant_id: string, status: string, notified_at: string | null): CandidateSubscription => ({ id, variant_id, status, notified_at });

  it("converts delivered and engaged subscriptions notified within the window before the order, with the lines' revenue", () => {
    const found = conversionsOf(
      order,
      [
        sub("s1", "v1", "delivered", "2026-11-14T12:00:00.000Z"),
        sub("s2", "v2", "engaged", "2026-11-20T11:00:00.000Z"),
        sub("s3", "v3", "delivered", "2026-11-20T11:00:00.000Z"),
      ],
      7,
    );
    expect(found).toEqual([
      { order_id: "ord_1", subscription_id: "s1", customer_id: "cus_1", variant_id: "v1", revenue: 179.7 },
      { order_id: "ord_1", subscription_id: "s2", customer_id: "cus_1", variant_id: "v2", revenue: 120 },
    ]);
  });

  it("does not convert outside the window, after the order, or from another status", () => {
    expect(conversionsOf(order, [sub("s1", "v1", "delivered", "2026-11-13T11:59:59.999Z")], 7)).toEqual([]);
    expect(conversionsOf(order, [sub("s1", "v1", "delivered", "2026-11-20T12:00:00.001Z")], 7)).toEqual([]);
    for (const status of ["pending", "converted", "completed", "cancelled"]) {
      expect(conversionsOf(order, [sub("s1", "v1", status, "2026-11-19T12:00:00.000Z")], 7)).toEqual([]);
    }
    expect(conversionsOf(order, [sub("s1", "v1", "delivered", null)], 7)).toEqual([]);
  });

  it("attributes a variant's revenue once: to the subscription notified last", () => {
    const found = conversionsOf(order, [sub("a", "v1", "delivered", "2026-11-18T00:00:00.000Z"), sub("b", "v1", "engaged", "2026-11-19T00:00:00.000Z")], 7);
    expect(found.map((c) => c.subscription_id)).toEqual(["b"]);
  });
});

describe("engagement settings", () => {
  it("reads PUBLIC_URL as an http(s) origin (null otherwise) and ATTRIBUTION_DAYS as whole days (7 otherwise)", () => {
    expect(config({}).PUBLIC_URL).toBe("http://localhost:8787");
    expect(config({ PUBLIC_URL: " https://flows.example.com/ " }).PUBLIC_URL).toBe("https://flows.example.com");
    expect(config({ PUBLIC_URL: "ftp://flows.example.com" }).PUBLIC_URL).toBeNull();
    expect(config({ PUBLIC_URL: "not a url" }).PUBLIC_URL).toBeNull();
    expect(config({}).ATTRIBUTION_DAYS).toBe(7);
    expect(config({ ATTRIBUTION_DAYS: "14" }).ATTRIBUTION_DAYS).toBe(14);
    for (const bad of ["abc", "-1", "2.5", "366", ""]) expect(config({ ATTRIBUTION_DAYS: bad }).ATTRIBUTION_DAYS).toBe(7);
  });

  it("fails a tracked email at once, without a retry and without sending, when PUBLIC_URL is unusable", async () => {
    const sent: unknown[] = [];
    const deps = testDeps({ links: linksPort(undefined as never, "secret", null), sendEmail: async (m) => void sent.push(m) });
    const cfg = SendEmailConfigSchema.parse({ to: ["a@example.com"], subject: "Hi", body: "See https://shop.example/p/1", track_links: true });
    const scope = testScope({});
    const result = await sendEmail.execute(sendEmail.resolve!(cfg, scope, new Date()), actionContext(scope).ctx, deps);
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^PUBLIC_URL is not an http\(s\) URL/) });
    expect(sent).toEqual([]);
  });
});
