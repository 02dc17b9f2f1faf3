// Browser test of the back-in-stock page (SPEC §12, issue 10 items 3 and 5): the demo's most wanted
// size comes back in stock through a signed event, and the page shows the waitlist, the
// notifications, the chart and the restock's waves. Registered in run.mjs (`npm run test:e2e`).
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { BACK_IN_STOCK, backInStockSubject, stockEvent } from "../../scripts/demo/data.mjs";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";

let product;
let browser;
/** The restocked size: its variant snapshot, product name and label as the page writes it. */
let subject;

async function get(path) {
  const res = await apiGet(product.base, path);
  assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function allSubscriptions() {
  const out = [];
  let cursor = null;
  do {
    const page = await get(`/entities/subscription?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

async function send(event) {
  const res = await sendEvent(product.base, event);
  assert.ok(res.status >= 200 && res.status < 300, `event ${event.id}: ${res.status} ${res.body}`);
}

async function openBackInStock(viewport) {
  const opened = await openPage(browser, viewport);
  await signIn(opened.page, product.base);
  await opened.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Back in stock" }).click();
  await opened.page.getByRole("heading", { name: "Back in stock", level: 1 }).waitFor();
  return opened;
}

const figure = (page, label) => page.locator(".bis-figure").filter({ has: page.locator("dt", { hasText: new RegExp(`^${label}$`) }) }).locator(".bis-figure-value");

describe("the back-in-stock page in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();

    // The demo's most wanted size (npm start seeds the waitlists) comes back in the online shop.
    const found = backInStockSubject(await allSubscriptions());
    assert.ok(found, "the demo data has a waitlist");
    const variant = await get(`/entities/product_variant/${encodeURIComponent(found.variant_id)}`);
    const prod = await get(`/entities/product/${encodeURIComponent(variant.product_id)}`);
    subject = { ...found, label: `${prod.name}, size ${variant.size}` };
    const itemPath = `/entities/inventory_item/${encodeURIComponent(found.item_id)}`;
    let item = await get(itemPath);
    if (item.on_hand >= 1) {
      // A restock starts when stock rises from below min_stock: sell it out first.
      await send(stockEvent(item, 0));
      await waitUntil("the mirror to show the size sold out", async () => (item = await get(itemPath)).on_hand === 0);
    }
    await send(stockEvent(item, BACK_IN_STOCK.units, new Date(Date.now() + 1000)));
    await waitUntil(
      "the restock's first wave to notify its subscribers",
      async () => {
        const page = await get(`/restocks?variant_id=${encodeURIComponent(found.variant_id)}`);
        return page.items.some((e) => e.waves.length > 0 && e.notified > 0);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // The wave's runs move their subscriptions on as they finish: wait until the counts hold still.
    let last = "";
    await waitUntil(
      "the summary to settle",
      async () => {
        const now = JSON.stringify((await get("/back-in-stock/summary")).totals);
        const settled = now === last;
        last = now;
        return settled;
      },
      { timeoutMs: 60_000, intervalMs: 1500 },
    );
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("shows the waitlist's figures and chart, and the waves of a restocked size", async () => {
    const summary = await get("/back-in-stock/summary");
    assert.ok(summary.totals.notified > 0, "the restock notified someone");
    const { page, errors, context } = await openBackInStock({ width: 1440, height: 900 });
    try {
      // The totals, as the API counts them for the last 30 days.
      await waitUntil("the figures to show the notified", async () => Number(await figure(page, "Notified").textContent()) === summary.totals.notified);
      assert.equal(Number(await figure(page, "Waiting").textContent()), summary.totals.waiting);
      assert.equal(await page.getByRole("button", { name: "30 days" }).getAttribute("aria-pressed"), "true");

      // The chart: a titled image of the 10 most wanted, the restocked size among them with its bars.
      const chart = page.getByRole("img", { name: /most wanted sizes/ });
      await chart.waitFor();
      assert.equal(await chart.locator("g[data-variant]").count(), Math.min(10, summary.variants.length));
      const bars = chart.locator(`g[data-variant="${subject.variant_id}"]`);
      assert.match(await bars.textContent(), new RegExp(subject.label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      assert.ok(Number(await bars.locator("rect.bis-notified").getAttribute("width").then((w) => parseFloat(w))) > 0, "the notified bar has a length");

      // The table: most wanted first, the restocked size's row with its notified count.
      const table = page.getByRole("table", { name: "Most wanted sizes" });
      const row = table.getByRole("row").filter({ has: page.getByRole("button", { name: subject.label, exact: true }) });
      const listed = summary.variants.find((v) => v.variant_id === subject.variant_id);
      assert.equal(Number(await row.locator("td").nth(1).textContent()), listed.notified);
      await page.screenshot({ path: `${SHOTS}/back-in-stock-desktop.png` });
      await table.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/back-in-stock-desktop-table.png` });

      // Its restocks: the episode with its first wave (the stock counted, the wave's size, notified).
      await row.getByRole("button", { name: subject.label, exact: true }).click();
      const dialog = page.getByRole("dialog", { name: `Restocks of ${subject.label}` });
      await dialog.waitFor();
      const wave = dialog.getByRole("table", { name: /^Waves of the restock/ }).first().getByRole("row").nth(1);
      await wave.waitFor();
      const cells = await wave.locator("td").allTextContents();
      assert.equal(cells[0], "1");
      assert.equal(cells[2], String(BACK_IN_STOCK.units), "the wave counted the stock the event set");
      assert.ok(Number(cells[4]) > 0, "the wave notified someone");
      assert.match(page.url(), new RegExp(`variant=${encodeURIComponent(subject.variant_id)}`));
      await page.screenshot({ path: `${SHOTS}/back-in-stock-episodes.png` });
      await dialog.getByRole("button", { name: "Close" }).click();
      await dialog.waitFor({ state: "hidden" });

      // Another window reloads the summary.
      await page.getByRole("button", { name: "7 days" }).click();
      await waitUntil("the 7-day window", async () => (await page.getByRole("button", { name: "7 days" }).getAttribute("aria-pressed")) === "true");
      assert.match(page.url(), /days=7/);
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });

  it("fits a phone: the table scrolls inside its box, the chart follows the width", async () => {
    const { page, errors, context } = await openBackInStock({ width: 390, height: 844 });
    try {
      await page.getByRole("img", { name: /most wanted sizes/ }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      const box = await page.locator(".bis-chart svg").boundingBox();
      assert.ok(box.width <= 390 && box.width > 250, `the chart is ${box.width}px wide`);
      await page.screenshot({ path: `${SHOTS}/back-in-stock-phone.png` });
      await page.locator(".bis-chart").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/back-in-stock-phone-chart.png` });
      await page.getByRole("region", { name: "Most wanted sizes" }).evaluate((el) => el.scrollIntoView());
      await page.screenshot({ path: `${SHOTS}/back-in-stock-phone-table.png` });
      await page.getByRole("button", { name: subject.label, exact: true }).click();
      await page.getByRole("dialog", { name: `Restocks of ${subject.label}` }).getByRole("table").first().waitFor();
      await page.screenshot({ path: `${SHOTS}/back-in-stock-phone-episodes.png` });
      assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });

  it("says so when nothing is waiting, and offers a retry when the summary fails", async () => {
    const { page, errors, context } = await openPage(browser, { width: 1440, height: 900 });
    try {
      let fail = true;
      await page.route("**/api/back-in-stock/summary**", (route) =>
        fail
          ? route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "The summary is not available right now" } }) })
          : route.fulfill({
              status: 200,
              contentType: "application/json",
              body: JSON.stringify({
                from: "2026-11-01T00:00:00.000Z",
                to: "2026-11-30T00:00:00.000Z",
                attribution_days: 7,
                variants: [],
                variant_count: 0,
                totals: { waiting: 0, notified: 0, engaged: 0, converted: 0, conversion_rate: null, attributed_revenue: 0 },
              }),
            }),
      );
      await signIn(page, product.base);
      await page.goto(`${product.base}/back-in-stock`);
      const alert = page.getByRole("alert").filter({ hasText: "The summary is not available right now" });
      await alert.waitFor();
      await page.screenshot({ path: `${SHOTS}/back-in-stock-error.png` });
      fail = false;
      await alert.getByRole("button", { name: "Try again" }).click();
      await page.getByText(/No one waits for a size, and no one was notified in the last 30 days/).waitFor();
      assert.equal(await figure(page, "Conversion rate").textContent(), "—");
      await page.screenshot({ path: `${SHOTS}/back-in-stock-empty.png` });
      // The failed request is the browser's own console error (a 503); nothing else may fail.
      assert.deepEqual(
        errors.filter((e) => !/status of 503/.test(e)),
        [],
        `the page logged errors:\n${errors.join("\n")}`,
      );
    } finally {
      await context.close();
    }
  });
});
