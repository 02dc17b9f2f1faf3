// The API reference in Chromium (issue 14): /api/docs is Scalar's reference over the OpenAPI
// document, served with its script from this server — nothing is fetched from elsewhere — and it
// lists every operation of the document; "Try it" sends a GET with a bearer token to this server.
// Registered in run.mjs (`npm run test:e2e`).
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { launchBrowser, openPage, startProduct, TOKEN } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const METHODS = ["get", "post", "put", "patch", "delete"];

let product;
let browser;

/** Scalar's slug of a tag: lower case, spaces as dashes. */
const slug = (tag) => tag.toLowerCase().replace(/\s+/g, "-");

/** Every request the page makes to another host is refused and remembered: the reference must work offline. */
async function offline(context) {
  const elsewhere = [];
  await context.route("**/*", (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === "127.0.0.1" || hostname === "localhost") return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  return elsewhere;
}

describe("the API reference in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("loads offline and lists every operation of the OpenAPI document under its tag", async () => {
    const doc = await (await fetch(`${product.base}/api/openapi.json`)).json();
    const expected = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((m) => `#tag/${slug(item[m].tags[0])}/${m.toUpperCase()}${path}`),
    );
    assert.ok(expected.length > 40, `the document has ${expected.length} operations`);

    const { page, errors, context } = await openPage(browser, DESKTOP);
    const elsewhere = await offline(context);
    try {
      await page.goto(`${product.base}/api/docs`);
      await page.getByRole("heading", { name: "Edge workflows", level: 1 }).waitFor();
      assert.equal(await page.locator('script[src="/vendor/scalar/standalone.js"]').count(), 1);
      // "This server" is the one "Try it" sends to.
      await page.getByText(product.base.replace("http://", "")).first().waitFor();
      await page.screenshot({ path: `${SHOTS}/api-docs-desktop.png` });

      // Each tag's group in the sidebar opens to its operations, one link each.
      for (const tag of doc.tags) {
        const open = page.getByRole("button", { name: `Open Group - ${tag.name}`, exact: true });
        if (await open.count()) await open.click();
        await page.locator(`a[href="#tag/${slug(tag.name)}"]`).first().waitFor();
      }
      const listed = await page.locator('a[href^="#tag/"]').evaluateAll((links) => links.map((a) => a.getAttribute("href")));
      const missing = expected.filter((href) => !listed.includes(decodeURI(href)) && !listed.includes(href));
      assert.deepEqual(missing, [], "every operation has a link in the sidebar");

      // The search finds an operation by its summary.
      await page.keyboard.press("Control+k");
      await page.keyboard.type("refused event");
      await page.getByRole("option", { name: /List refused event requests/ }).first().waitFor();
      await page.screenshot({ path: `${SHOTS}/api-docs-search-desktop.png` });
      await page.keyboard.press("Escape");

      assert.deepEqual(elsewhere, [], "the page fetched nothing from another host");
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });

  it("tries GET /api/workflows with the bearer token and shows the 200 answer", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    const elsewhere = await offline(context);
    const sent = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/workflows") sent.push(r);
    });
    try {
      await page.goto(`${product.base}/api/docs#tag/workflows/GET/api/workflows`);
      const operation = page.locator('[id$="tag/workflows/GET/api/workflows"]');
      await operation.getByRole("button", { name: /Test Request/ }).first().click();
      const token = page.locator('input[id^="scalar-client"][placeholder="Token"]');
      await token.fill(TOKEN);
      await page.getByRole("button", { name: /^Send/ }).first().click();
      await page.getByText("200 OK").first().waitFor();
      await page.getByText('"next_cursor"').first().waitFor();
      await page.evaluate(() => document.getAnimations().forEach((a) => a.finish()));
      await page.screenshot({ path: `${SHOTS}/api-docs-try-it-desktop.png` });

      assert.equal(sent.length, 1, "one request to this server's /api/workflows");
      assert.equal(sent[0].method(), "GET");
      assert.equal(new URL(sent[0].url()).origin, product.base);
      assert.equal((await sent[0].allHeaders()).authorization, `Bearer ${TOKEN}`);
      assert.equal((await sent[0].response()).status(), 200);
      assert.deepEqual(elsewhere, [], "the page fetched nothing from another host");
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });

  it("reads on a phone", async () => {
    const { page, errors, context } = await openPage(browser, PHONE);
    const elsewhere = await offline(context);
    try {
      await page.goto(`${product.base}/api/docs`);
      await page.getByRole("heading", { name: "Edge workflows", level: 1 }).waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `the page is ${width} px wide on a ${PHONE.width} px screen`);
      await page.screenshot({ path: `${SHOTS}/api-docs-phone.png` });
      assert.deepEqual(elsewhere, [], "the page fetched nothing from another host");
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });
});
