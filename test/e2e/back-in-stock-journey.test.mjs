// The back-in-stock journey as a merchant walks it (SPEC §12 and §13, issue 10's browser test):
// the notification workflow built from nothing in the builder, previewed on a real waiting
// subscription, activated; a signed stock event restocks the size, its runs complete, one run's
// email is opened, and the back-in-stock page counts the notified. Registered in run.mjs.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

/** The size that sold out and the three customers waiting for it, with ids of this run only. */
const PRODUCT = { id: `e2e-bis-prod-${stamp}`, name: `Aurora Trail ${stamp}` };
const VARIANT = { id: `e2e-bis-var-${stamp}`, size: "42" };
const SHOPS = [`e2e-bis-online-${stamp}`, `e2e-bis-store-${stamp}`];
const ITEMS = SHOPS.map((shop) => ({ id: `e2e-bis-inv-${stamp}-${shop.split("-")[2]}`, shop }));
const CUSTOMERS = ["Ada Lovelace", "Grace Hopper", "Katherine Johnson"].map((name, i) => ({
  id: `e2e-bis-cust-${stamp}-${i}`,
  name,
  email: `${name.split(" ")[0].toLowerCase()}.${stamp}@example.com`,
}));
const SUBSCRIPTIONS = CUSTOMERS.map((c, i) => ({ id: `e2e-bis-sub-${stamp}-${i}`, customer: c }));
const LABEL = `${PRODUCT.name}, size ${VARIANT.size}`;
const SUBJECT = `${PRODUCT.name}, size ${VARIANT.size}, is back in stock`;
const SHOP_URL = "https://shop.example.com/aurora-trail";
const UNITS = 10;

let product;
let browser;

async function api(method, path, body) {
  const { status, body: json } = await apiCall(product.base, method, path, body);
  assert.ok(status >= 200 && status < 300, `${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}

/** The mirror as the platform would have filled it: the size sold out everywhere, three customers waiting for it. */
async function seed() {
  const now = Date.now();
  await api("PUT", "/entities/brand", [{ id: `e2e-bis-brand-${stamp}`, name: "Northwind Outdoor", tags: [] }]);
  await api("PUT", "/entities/shop", [
    { id: SHOPS[0], name: "Online shop", kind: "online", tags: [] },
    { id: SHOPS[1], name: "Berlin store", kind: "store", tags: [] },
  ]);
  await api("PUT", "/entities/product", [{ id: PRODUCT.id, brand_id: `e2e-bis-brand-${stamp}`, name: PRODUCT.name, category: "shoes", price: 149, cost: 62, tags: [] }]);
  await api("PUT", "/entities/product_variant", [{ id: VARIANT.id, product_id: PRODUCT.id, size: VARIANT.size, sku: `AT-${stamp}-42`, tags: [] }]);
  await api(
    "PUT",
    "/entities/inventory_item",
    ITEMS.map((item) => ({ id: item.id, variant_id: VARIANT.id, shop_id: item.shop, on_hand: 0, on_order: 0, target: 12, tags: [] })),
  );
  await api(
    "PUT",
    "/entities/customer",
    CUSTOMERS.map((c) => ({ id: c.id, email: c.email, name: c.name, tags: [] })),
  );
  await api(
    "PUT",
    "/entities/subscription",
    SUBSCRIPTIONS.map((s, i) => ({
      id: s.id,
      customer_id: s.customer.id,
      variant_id: VARIANT.id,
      status: "pending",
      channel: "email",
      created_at: new Date(now - (3 - i) * 86_400_000).toISOString(),
      tags: [],
    })),
  );
}

const panel = (page) => page.locator(".side-panel");

/** Clicks the "+" at a position of the main chain and picks a node type from the menu. */
async function addStep(page, position, typeLabel) {
  await page.getByRole("button", { name: `Add a step here (position ${position})`, exact: true }).click();
  await page.locator(".add-menu .add-choice").filter({ has: page.locator("strong", { hasText: new RegExp(`^${typeLabel}$`) }) }).click();
  await page.getByRole("heading", { level: 2 }).first().waitFor();
}

/** Opens a field's variable picker, filters it and picks the variable. */
async function pickVariable(page, field, path, shot = null) {
  await panel(page).getByRole("button", { name: `Insert a variable into ${field}`, exact: true }).click();
  const list = page.getByRole("group", { name: `Variables for ${field}` });
  if (shot) await page.screenshot({ path: `${SHOTS}/bis-journey-${shot}-desktop.png` });
  await list.getByRole("textbox", { name: "Filter variables" }).fill(path);
  await list.getByRole("button", { name: new RegExp(`^\\{\\{${path.replaceAll(".", "\\.")}\\}\\}`) }).click();
  await list.waitFor({ state: "hidden" });
}

function sawNoConsoleErrors(errors) {
  assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
}

/** A screenshot at the desktop and the phone size, the page restored to the desktop after. */
async function shoot(page, name, { phoneFullPage = true } = {}) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${SHOTS}/bis-journey-${name}-desktop.png` });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: `${SHOTS}/bis-journey-${name}-phone.png`, fullPage: phoneFullPage });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.setViewportSize(DESKTOP);
  return overflow;
}

describe("the back-in-stock journey in Chromium", { timeout: 600_000 }, () => {
  let workflowId;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();
    // `npm start` seeds active back-in-stock workflows of its own (the demo's notification and
    // win-back); they are paused so that the restock here starts only the workflow built here.
    const seeded = (await api("GET", "/workflows?limit=100")).items;
    for (const w of seeded) if (w.status === "active" && w.trigger.events?.includes("back_in_stock")) await api("POST", `/workflows/${encodeURIComponent(w.id)}/status`, { status: "paused" });
    await seed();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("builds the back-in-stock notification from nothing and previews it on a waiting subscription", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.getByRole("link", { name: "New workflow" }).click();
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`Back in stock ${stamp}`);

      // Trigger: a waiting subscription's size is restocked; two per unit in stock, waves an hour apart.
      await page.getByRole("button", { name: /^Trigger/ }).click();
      await panel(page).getByRole("combobox", { name: "Entity" }).selectOption("subscription");
      await panel(page).getByRole("checkbox", { name: /^back in stock/ }).check();
      // Back in stock is a kind of its own: the other kinds are not offered beside it.
      await panel(page).getByRole("checkbox", { name: "created", exact: true }).waitFor({ state: "hidden" });
      await panel(page).getByRole("spinbutton", { name: "Minimum stock" }).fill("1");
      await panel(page).getByRole("spinbutton", { name: "Subscriptions per unit and wave (optional)" }).fill("2");
      await panel(page).getByRole("spinbutton", { name: "Minutes between waves" }).fill("60");
      assert.ok((await shoot(page, "trigger")) <= 0, "the trigger's panel fits a phone");

      // 1: the email to the subscriber, the product's name and size from the related entities.
      await addStep(page, 1, "Send email");
      await panel(page).getByRole("textbox", { name: "Label (optional)" }).fill("Email the customer");
      await pickVariable(page, "To", "trigger.related.customer.email", "variables");
      const to = panel(page).getByRole("textbox", { name: "To", exact: true });
      assert.equal(await to.inputValue(), "{{trigger.related.customer.email}}");
      await to.press("Enter");
      await panel(page).getByRole("button", { name: "Remove {{trigger.related.customer.email}} from To" }).waitFor();
      const subject = panel(page).getByRole("textbox", { name: "Subject", exact: true });
      await pickVariable(page, "Subject", "trigger.related.product.name");
      await subject.press("End");
      await subject.pressSequentially(", size ");
      await pickVariable(page, "Subject", "trigger.related.product_variant.size");
      await subject.press("End");
      await subject.pressSequentially(", is back in stock");
      assert.equal(await subject.inputValue(), "{{trigger.related.product.name}}, size {{trigger.related.product_variant.size}}, is back in stock");
      await panel(page).getByRole("combobox", { name: "Format" }).selectOption("markdown");
      await panel(page)
        .getByRole("textbox", { name: "Body", exact: true })
        .fill(
          "Hello {{trigger.related.customer.name}},\n\n" +
            "**{{trigger.related.product.name}}** in size **{{trigger.related.product_variant.size}}** is back in stock.\n\n" +
            `[Get yours now](${SHOP_URL})`,
        );
      await panel(page).getByRole("checkbox", { name: "Track links" }).check();
      assert.ok((await shoot(page, "email-step")) <= 0, "the email step's form fits a phone");

      // 2: the subscription is delivered.
      await addStep(page, 2, "Update subscription status");
      await panel(page).getByRole("textbox", { name: "Label (optional)" }).fill("Mark it delivered");
      await panel(page).getByRole("combobox", { name: "New status" }).selectOption("delivered");
      assert.ok((await shoot(page, "builder")) <= 0, "the builder fits a phone");

      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Saved as a draft \(version 1\)/).waitFor();
      workflowId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
      const saved = await apiGet(product.base, `/workflows/${encodeURIComponent(workflowId)}`);
      const { entity, events, restock } = saved.body.definition.trigger;
      assert.deepEqual({ entity, events, restock }, { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1, per_unit: 2, wave_minutes: 60 } });
      assert.deepEqual(
        saved.body.definition.nodes.map((n) => [n.type, n.config.track_links ?? n.config.status]),
        [
          ["send_email", true],
          ["update_subscription_status", "delivered"],
        ],
      );
      assert.deepEqual(saved.body.definition.nodes[0].config.to, ["{{trigger.related.customer.email}}"]);

      // The preview on the first waiting subscription: the email as it would go, writing nothing.
      const sub = SUBSCRIPTIONS[0];
      await page.getByRole("button", { name: "Preview", exact: true }).click();
      await panel(page).getByRole("heading", { name: "Preview with real data" }).waitFor();
      await panel(page).getByRole("textbox", { name: "Find a subscription by id or name" }).fill(sub.id);
      await panel(page).getByRole("button", { name: "Search", exact: true }).click();
      await panel(page).getByRole("button", { name: new RegExp(sub.id) }).click();
      await panel(page).getByRole("button", { name: `Preview on ${sub.id}` }).click();
      const result = panel(page).locator(".preview-result");
      await result.getByText("trigger matches").waitFor();
      const email = result.locator(".preview-step", { hasText: "Email the customer" });
      await email.getByText("would run").waitFor();
      await email.getByText(sub.customer.email).first().waitFor();
      await email.getByText(SUBJECT).first().waitFor();
      const frame = email.locator("iframe.preview-frame");
      assert.equal(await frame.getAttribute("sandbox"), "", "the email's HTML is shown in a sandboxed frame");
      const html = await frame.getAttribute("srcdoc");
      assert.match(html, new RegExp(`Hello ${sub.customer.name}`));
      assert.match(html, new RegExp(`<strong>${PRODUCT.name}</strong> in size <strong>${VARIANT.size}</strong>`));
      const status = result.locator(".preview-step", { hasText: "Mark it delivered" });
      await status.getByText("would run").waitFor();
      await status.getByText(/pending\s*→\s*delivered/).waitFor();
      await email.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/bis-journey-preview-desktop.png` });
      await page.setViewportSize(PHONE);
      await email.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/bis-journey-preview-phone.png` });
      await page.setViewportSize(DESKTOP);

      // A preview writes nothing: the subscription still waits.
      assert.equal((await apiGet(product.base, `/entities/subscription/${sub.id}`)).body.status, "pending");

      await page.getByRole("button", { name: "Activate", exact: true }).click();
      await page.getByText("Active: matching events now start runs.").waitFor();
      await page.locator(".bar-status [data-status=active]").waitFor();
      sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("restocks the size, follows its runs to completion, opens the sent email and the back-in-stock page", async () => {
    assert.ok(workflowId, "the workflow was built by the test before");
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);

      // The online shop receives 10 pairs: the platform's signed stock event.
      const item = ITEMS[0];
      const sent = await sendEvent(product.base, {
        id: `evt_e2e_bis_${stamp}`,
        type: "inventory_item.updated",
        entity_id: item.id,
        occurred_at: new Date().toISOString(),
        data: { id: item.id, variant_id: VARIANT.id, shop_id: item.shop, on_hand: UNITS, on_order: 0, target: 12, tags: [] },
      });
      assert.equal(sent.status, 202, `POST /api/events answered ${sent.status}: ${sent.body}`);

      // The runs list, filtered to the workflow, until its three runs completed.
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs", exact: true }).click();
      await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
      await page.getByRole("combobox", { name: "Workflow" }).selectOption(workflowId);
      const rows = page.locator("tbody tr[data-run-id]");
      await waitUntil(
        "three completed runs of the workflow",
        async () => (await rows.count()) === 3 && (await page.locator("tbody tr[data-status=completed]").count()) === 3,
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      for (const s of SUBSCRIPTIONS) await rows.filter({ hasText: s.id }).locator("[data-status=completed]").waitFor();
      const runsOverflow = await shoot(page, "runs");
      assert.ok(runsOverflow <= 0, `the runs page scrolls sideways on a phone by ${runsOverflow}px`);

      // One run: the email step's sent message, with its headers.
      const sub = SUBSCRIPTIONS[1];
      await rows.filter({ hasText: sub.id }).getByRole("link", { name: /^Run .*, completed$/ }).click();
      await page.locator("h1 [data-status=completed]").waitFor();
      await page.locator(".run-card[data-node-id=status] [data-status=succeeded]").waitFor();
      await page.locator(".run-card[data-node-id=status] .card-main").click();
      await page.locator(".step-detail").getByText(`Subscription ${sub.id}: pending → delivered.`).waitFor();
      await page.locator(".run-card[data-node-id=email] .card-main").click();
      await page.getByRole("button", { name: "Open the sent email" }).click();
      const dialog = page.getByRole("dialog", { name: "Email sent by “Email the customer”" });
      await dialog.waitFor();
      const headers = (await dialog.getByLabel("Email headers").textContent()).replace(/\s+/g, " ");
      assert.match(headers, new RegExp(`To ?${sub.customer.email.replaceAll(".", "\\.")}`));
      assert.match(headers, new RegExp(`Subject ?${SUBJECT}`));
      const body = dialog.frameLocator("iframe");
      await body.locator("strong", { hasText: PRODUCT.name }).waitFor();
      await body.getByText(`Hello ${sub.customer.name}`).waitFor();
      // track_links: the link goes through /l/…, not straight to the shop.
      const href = await body.getByRole("link", { name: "Get yours now" }).getAttribute("href");
      assert.match(href, /\/l\/[A-Za-z0-9_-]+$/, `the link is tracked: ${href}`);
      const emailOverflow = await shoot(page, "run-email", { phoneFullPage: false });
      assert.ok(emailOverflow <= 0, `the email dialog scrolls sideways on a phone by ${emailOverflow}px`);
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      const runOverflow = await shoot(page, "run");
      assert.ok(runOverflow <= 0, `the run page scrolls sideways on a phone by ${runOverflow}px`);

      // Each subscription moved on to delivered.
      for (const s of SUBSCRIPTIONS) assert.equal((await apiGet(product.base, `/entities/subscription/${s.id}`)).body.status, "delivered", s.id);

      // The back-in-stock page: the size with its three notified, none waiting.
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Back in stock" }).click();
      await page.getByRole("heading", { name: "Back in stock", level: 1 }).waitFor();
      await page.getByRole("img", { name: /most wanted sizes/ }).waitFor();
      assert.ok((await shoot(page, "back-in-stock", { phoneFullPage: false })) <= 0, "the back-in-stock page fits a phone");
      const table = page.getByRole("table", { name: "Most wanted sizes" });
      const row = table.getByRole("row").filter({ has: page.getByRole("button", { name: LABEL, exact: true }) });
      await row.waitFor();
      const cells = await row.locator("td").allTextContents();
      assert.equal(await row.locator(".mono").innerText(), VARIANT.id, "the variant's id as it is spelled");
      assert.deepEqual(cells.slice(0, 2), ["0", "3"], `waiting and notified of ${LABEL}: ${cells.join(" | ")}`);
      await row.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/bis-journey-back-in-stock-row-desktop.png` });

      await row.getByRole("button", { name: LABEL, exact: true }).click();
      const episodes = page.getByRole("dialog", { name: `Restocks of ${LABEL}` });
      await episodes.waitFor();
      const wave = episodes.getByRole("table", { name: /^Waves of the restock/ }).first().getByRole("row").nth(1);
      await wave.waitFor();
      const waveCells = await wave.locator("td").allTextContents();
      assert.equal(waveCells[0], "1");
      assert.equal(waveCells[2], String(UNITS), "the wave counted the stock the event set");
      assert.equal(waveCells[3], String(UNITS * 2), "two per unit");
      assert.equal(waveCells[4], "3", "the wave notified the three waiting");
      const bisOverflow = await shoot(page, "back-in-stock-episodes", { phoneFullPage: false });
      assert.ok(bisOverflow <= 0, `the back-in-stock page scrolls sideways on a phone by ${bisOverflow}px`);
      sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });
});
