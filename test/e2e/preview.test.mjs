// The builder's preview panel (SPEC §13) in Chromium, on the demo data `npm start` seeds: the
// "Back-in-stock notification" workflow previewed on a real waiting subscription (its email and
// the impact), then over everything that matches now (a count of runs). Run by run.mjs.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { apiGet, launchBrowser, openPage, signIn, startProduct } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const WORKFLOW = "Back-in-stock notification";

let product;
let browser;

/** The first seeded subscription with this status that chose email (the workflows' email branch). */
async function emailSubscription(base, status) {
  let cursor = null;
  for (let i = 0; i < 20; i++) {
    const res = await apiGet(base, `/entities/subscription?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const found = res.body.items.find((s) => s.status === status && s.channel === "email");
    if (found) return found;
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  throw new Error(`the demo data holds no ${status} email subscription`);
}

async function workflowId(base, name) {
  const res = await apiGet(base, "/workflows?limit=100");
  assert.equal(res.status, 200);
  const wf = res.body.items.find((w) => w.name === name);
  assert.ok(wf, `the demo workflow “${name}” is seeded`);
  return wf.id;
}

describe("the builder's preview with real data in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  for (const [label, viewport] of [
    ["desktop", { width: 1440, height: 900 }],
    ["phone", { width: 390, height: 844 }],
  ]) {
    it(`previews the back-in-stock notification on a waiting subscription and over all that match (${label})`, async () => {
      const id = await workflowId(product.base, WORKFLOW);
      const sub = await emailSubscription(product.base, "pending");
      const { page, errors, context } = await openPage(browser, viewport);
      try {
        await signIn(page, product.base);
        await page.goto(`${product.base}/workflows/${encodeURIComponent(id)}`);
        await page.getByRole("button", { name: "Preview", exact: true }).click();
        const panel = page.locator(".side-panel");
        await panel.getByRole("heading", { name: "Preview with real data" }).waitFor();

        // One subscription: found by its id in the mirror, picked, previewed.
        await panel.getByRole("searchbox", { name: /Find a subscription/ }).or(panel.getByRole("textbox", { name: /Find a subscription/ })).fill(sub.id);
        await panel.getByRole("button", { name: "Search", exact: true }).click();
        await panel.getByRole("button", { name: new RegExp(sub.id) }).click();
        await panel.getByRole("button", { name: `Preview on ${sub.id}` }).click();
        const result = panel.locator(".preview-result");
        await result.getByText("trigger matches").waitFor();
        const email = result.locator(".preview-step", { hasText: "send email" });
        await email.getByText("would run").waitFor();
        await email.getByText(/is back in stock/).first().waitFor();
        const frame = email.locator("iframe.preview-frame");
        assert.equal(await frame.getAttribute("sandbox"), "", "the email's HTML is shown in a sandboxed frame");
        assert.match(await frame.getAttribute("srcdoc"), /Get yours now/);
        assert.equal(await result.locator(".preview-step", { hasText: "send push" }).getByText("skipped").count(), 1, "the push branch is not taken");
        const impact = result.getByRole("definition").first();
        assert.equal((await impact.textContent()).trim(), "1", "the impact counts one email");
        await page.screenshot({ path: `${SHOTS}/preview-one-${label}.png`, fullPage: label === "desktop" });
        await email.scrollIntoViewIfNeeded();
        await page.screenshot({ path: `${SHOTS}/preview-one-${label}-email.png` });

        // Everything that matches now: a count of runs and their summed impact, from the keyboard.
        await panel.getByRole("radio", { name: "Everything that matches now" }).check();
        await panel.getByRole("spinbutton", { name: "At most this many runs" }).fill("50");
        await panel.getByRole("spinbutton", { name: "At most this many runs" }).press("Tab");
        await page.keyboard.press("Enter");
        const count = result.locator(".preview-count");
        await count.waitFor();
        const text = await count.textContent();
        const runs = Number(/(\d+) runs? would start/.exec(text)?.[1]);
        assert.ok(runs >= 1 && runs <= 50, `a count of runs within the limit: ${text}`);
        await count.scrollIntoViewIfNeeded();
        await page.screenshot({ path: `${SHOTS}/preview-matching-${label}.png` });
        assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
      } finally {
        await context.close();
      }
    });
  }

  it("saves unsaved edits before a preview, and shows the wait, the code and the email that carries it", async () => {
    const id = await workflowId(product.base, "Win back after back-in-stock");
    const sub = await emailSubscription(product.base, "delivered");
    const { page, errors, context } = await openPage(browser, { width: 1440, height: 900 });
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/${encodeURIComponent(id)}`);
      const name = page.getByRole("textbox", { name: "Workflow name" });
      await name.fill("Win back after back-in-stock (edited)");
      await page.getByRole("button", { name: "Preview", exact: true }).click();
      const panel = page.locator(".side-panel");
      await panel.getByText("A preview runs a saved version").waitFor();
      await panel.getByRole("textbox", { name: /Find a subscription/ }).fill(sub.id);
      await panel.getByRole("button", { name: "Search", exact: true }).click();
      await panel.getByRole("button", { name: new RegExp(sub.id) }).click();
      await panel.getByRole("button", { name: `Save and preview on ${sub.id}` }).click();
      const result = panel.locator(".preview-result");
      await result.getByRole("heading", { name: "Preview of version 2" }).waitFor();
      await page.getByText("Saved version 2.").waitFor();
      await result.locator(".preview-step", { hasText: "Give them three days" }).getByText(/would wait 3 days, until \d{4}-\d{2}-\d{2}/).waitFor();
      await result.locator(".preview-step", { hasText: "Notified, and not bought?" }).getByText(/takes the “then” branch/).waitFor();
      const code = result.locator(".preview-step", { hasText: "A single-use 10% code" });
      await code.getByText(/^PREVIEW-BACK/).waitFor();
      await code.getByText("10 %").waitFor();
      const email = result.locator(".preview-step", { hasText: "Email the code" });
      assert.match(await email.locator("iframe.preview-frame").getAttribute("srcdoc"), /PREVIEW-BACK/, "the email carries the code it would create");
      const figures = Object.fromEntries(
        await result.locator(".preview-figures > div").evaluateAll((divs) => divs.map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent])),
      );
      assert.equal(figures.codes, "1");
      assert.equal(figures.emails, "1");
      await page.screenshot({ path: `${SHOTS}/preview-winback-desktop.png` });
      await code.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/preview-winback-desktop-code.png` });
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });
});
