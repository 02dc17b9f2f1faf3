// Retry from a step in Chromium (SPEC §15, issue 12): a run whose second webhook failed is retried
// from that step; the confirmation lists the side effect already made (the first webhook), the
// new run completes without calling the first webhook again, and both runs link to each other.
// Registered in run.mjs (`npm run test:e2e`); runs alone with `node test/e2e/retry.test.mjs`.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startSink } from "../support/sink.ts";
import { apiGet, launchBrowser, openPage, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let product;
let browser;
let sink;

const api = (method, path, body) => apiCall(product.base, method, path, body);

const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
const sinkUrl = (bucket) => `http://127.0.0.1:${sink.port}/${bucket}-${stamp}/hook`;
const calls = async (bucket) => (await fetch(`http://127.0.0.1:${sink.port}/_sink/${bucket}-${stamp}/requests`)).json();

describe("retry from a step in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    sink = await startSink(0);
    product = await startProduct();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
    await new Promise((r) => (sink ? sink.server.close(() => r()) : r()));
  });

  it("retries a failed webhook step from the run page, and links the two runs both ways", async () => {
    // The ERP answers; the notification service is down once (404: not retried), then answers.
    const program = await fetch(`http://127.0.0.1:${sink.port}/_sink/notify-${stamp}/program`, { method: "POST", body: JSON.stringify([{ status: 404, body: { error: "no such route" } }]) });
    assert.equal(program.status, 204);
    const created = await api("POST", "/workflows", {
      name: `E2E retry ${stamp}`,
      trigger: { entity: "inventory_item" },
      start: "erp",
      nodes: [
        { id: "erp", type: "call_webhook", config: { url: sinkUrl("erp"), body: { sku: "{{trigger.data.sku}}" } }, next: "notify" },
        { id: "notify", type: "call_webhook", config: { url: sinkUrl("notify") } },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const started = await api("POST", `/workflows/${created.body.id}/test`, { entity_id: `e2e-retry-${stamp}`, data: { sku: "SKU-RETRY", on_hand: 1 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const original = started.body.id;
    await waitUntil("the run to fail at notify", async () => (await apiGet(product.base, `/runs/${original}`)).body?.status === "failed");

    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/runs/${original}`);
      await page.locator("h1 [data-status=failed]").waitFor();
      // The page opens on the failed step.
      const detail = page.locator(".step-detail");
      await detail.getByRole("heading", { name: /notify/ }).waitFor();
      await detail.getByRole("button", { name: "Retry from here" }).click();
      const dialog = page.getByRole("dialog", { name: "Retry from “notify”?" });
      await dialog.locator(".side-effects li").first().waitFor();
      const effects = await dialog.locator(".side-effects li").allTextContents();
      assert.equal(effects.length, 1);
      assert.match(effects[0], /Call webhook “erp”: .*status: 200/);
      await page.screenshot({ path: `${SHOTS}/retry-confirm.png` });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/retry-confirm-phone.png` });
      await page.setViewportSize(DESKTOP);

      await dialog.getByRole("button", { name: "Retry from “notify”" }).click();
      await waitUntil("the page to move to the new run", () => !page.url().endsWith(original));
      const retryId = page.url().split("/").pop();
      await page.locator("h1 [data-status=completed]").waitFor({ timeout: 30_000 });
      await page.locator(`.retry-of [data-run-link="${original}"]`).waitFor();
      await page.locator(".run-card[data-node-id=erp] .card-main").click();
      await detail.locator(".note").getByText(/Reused from run/).waitFor();
      await page.screenshot({ path: `${SHOTS}/retry-run.png`, fullPage: true });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/retry-run-phone.png`, fullPage: true });
      await page.setViewportSize(DESKTOP);

      // Back to the original: it links to its retry.
      await page.locator(`.retry-of [data-run-link="${original}"]`).click();
      await page.locator("h1 [data-status=failed]").waitFor();
      await page.locator(`.retried-by [data-run-link="${retryId}"]`).waitFor();
      await page.screenshot({ path: `${SHOTS}/retry-original.png` });

      assert.equal((await calls("erp")).length, 1, "the first step's webhook was not called again");
      assert.equal((await calls("notify")).length, 2, "the failed step ran once in each run");
      const retried = await apiGet(product.base, `/runs/${retryId}`);
      assert.deepEqual(retried.body.retry_of, { run_id: original, from: "notify" });
      assert.equal(retried.body.steps[0].reused, true);
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });
});
