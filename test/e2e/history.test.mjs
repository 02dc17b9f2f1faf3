// Version history in Chromium (issue 14): a workflow built in the builder gets a second version;
// the history shows what changed as lines (steps added, fields old → new), and restoring version
// 1 on the active workflow says it goes live, then saves it as version 3 with version 1's
// definition. Also the builder's edges a user meets on the way: an empty workflow asks for a
// first step, a bad recipient is refused as it is typed, leaving with unsaved edits asks in the
// app's own dialog, a step moves across a condition's branches, and a phone's canvas fits.
// Registered in run.mjs (`npm run test:e2e`); runs alone with `node test/e2e/history.test.mjs`.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { launchBrowser, openPage, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let product;
let browser;

const api = (method, path, body) => apiCall(product.base, method, path, body);

const panel = (page) => page.locator(".side-panel");
const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);

/** Clicks the "+" at a position of the main chain and picks a node type from the menu. */
async function addStep(page, position, typeLabel) {
  await page.getByRole("button", { name: `Add a step here (position ${position})`, exact: true }).click();
  // By the choice's label exactly: "Wait" is not "Wait for an event".
  await page.locator(".add-menu .add-choice").filter({ has: page.locator("strong", { hasText: new RegExp(`^${typeLabel}$`) }) }).click();
  await page.getByRole("heading", { level: 2 }).first().waitFor();
}

describe("version history and the builder's edges in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("shows a version diff as lines and restores version 1 as version 3", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      const name = page.getByRole("textbox", { name: "Workflow name" });
      await name.fill(`E2E history ${stamp}`);
      await addStep(page, 1, "Send email");
      const to = panel(page).getByRole("textbox", { name: "To", exact: true });
      await to.fill("planner@example.com");
      await to.press("Enter");
      await panel(page).getByRole("textbox", { name: "Subject" }).fill("Low stock");
      await panel(page).getByRole("textbox", { name: "Body", exact: true }).fill("{{trigger.entity_id}} is low.");
      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Saved as a draft \(version 1\)/).waitFor();
      const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());

      // Version 2: a label and a new subject on the email, and a wait before it.
      await page.locator(".step-card[data-node-id=email] .card-main").click();
      await panel(page).getByRole("textbox", { name: "Label (optional)" }).fill("Tell the planner");
      await panel(page).getByRole("textbox", { name: "Subject" }).fill("Low stock today");
      await addStep(page, 1, "Wait");
      await page.getByRole("button", { name: "Save version" }).click();
      await page.getByText("Saved version 2.").waitFor();
      await page.getByRole("button", { name: "Activate", exact: true }).click();
      await page.getByText("Active: matching events now start runs.").waitFor();

      // An edit of the active workflow says, before saving, that saving makes it live.
      await name.fill(`E2E history ${stamp} (edited)`);
      await page.getByText("saving makes version 3 live now").waitFor();
      await name.fill(`E2E history ${stamp}`);
      await waitUntil("the edit to be undone", async () => (await page.locator("#live-note").count()) === 0);

      await page.getByRole("button", { name: "History" }).click();
      const v2 = panel(page).locator(".version[data-version='2']");
      const diff = v2.getByRole("list", { name: "Changes from version 1 to version 2" });
      await diff.waitFor();
      const lines = (await diff.locator(".diff-line").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
      assert.deepEqual(lines.sort(), [
        "first step: “email” → becomes “wait”",
        "Step added: Wait wait",
        "label: (none) → becomes “Tell the planner”",
        "subject: “Low stock” → becomes “Low stock today”",
      ].sort());
      assert.match(await v2.textContent(), /4 changes/);
      await page.screenshot({ path: `${SHOTS}/history-diff.png` });

      // Any two versions, the other way round.
      await panel(page).getByText("Compare any two versions").click();
      await panel(page).getByRole("combobox", { name: "From" }).selectOption("2");
      await panel(page).getByRole("combobox", { name: "to", exact: true }).selectOption("1");
      await panel(page).getByRole("list", { name: "Changes from version 2 to version 1" }).getByText("Step removed:").waitFor();

      // Restore version 1: asked in the app's dialog, which says the active workflow goes live.
      await panel(page).locator(".version[data-version='1']").getByRole("button", { name: "Restore…" }).click();
      const dialog = page.getByRole("dialog", { name: "Restore version 1?" });
      await dialog.getByText("This workflow is active: saving makes version 3 live now.").waitFor();
      await page.screenshot({ path: `${SHOTS}/history-restore.png` });
      await dialog.getByRole("button", { name: "Restore as version 3" }).click();
      await page.getByText("Restored version 1 as version 3.").waitFor();
      await panel(page).locator(".version[data-version='3'] [data-status=active]").waitFor();
      assert.equal(await page.locator(".step-card").count(), 1, "the canvas shows version 1's one step");

      const versions = await api("GET", `/workflows/${encodeURIComponent(id)}/versions`);
      const byNumber = new Map(versions.body.items.map((v) => [v.version, v.definition]));
      assert.deepEqual([...byNumber.keys()], [3, 2, 1]);
      assert.deepEqual(byNumber.get(3), byNumber.get(1), "version 3 is version 1's definition");
      const wf = await api("GET", `/workflows/${encodeURIComponent(id)}`);
      assert.equal(wf.body.status, "active");
      assert.equal(wf.body.version, 3);

      await panel(page).locator(".version[data-version='3']").getByRole("list", { name: "Changes from version 2 to version 3" }).getByText("Step removed:").waitFor();
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/history-phone.png`, fullPage: true });
      await page.setViewportSize(DESKTOP);
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("asks for a first step, refuses a bad recipient at once, asks in the app before leaving, and moves a step across a branch", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`E2E edges ${stamp}`);

      // Saving with no step names what to do, not a hidden "start" field.
      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText("Not saved: Add a first step: press + under the trigger.").waitFor();
      assert.equal(await page.getByText(/start:|1-64 characters/).count(), 0, "no word of the hidden start field");
      await page.locator("#add-first-hint").getByText("Add a first step").waitFor();
      await page.screenshot({ path: `${SHOTS}/builder-empty.png` });

      // A bad address is refused as it is added: it stays in the input, with one message.
      await addStep(page, 1, "Condition");
      await panel(page).getByRole("textbox", { name: "Value 1" }).fill("{{trigger.data.on_hand}}");
      await panel(page).getByRole("combobox", { name: "Test" }).selectOption("lt");
      await panel(page).getByRole("textbox", { name: "Compare with 1" }).fill("5");
      await page.getByRole("button", { name: "Add a step here (position 1 in the “if true” branch)" }).click();
      await page.locator(".add-menu").getByRole("button", { name: /^Send email/ }).click();
      const to = panel(page).getByRole("textbox", { name: "To", exact: true });
      await to.fill("bob@");
      await to.press("Enter");
      assert.equal(await panel(page).getByText("“bob@” is not an email address").count(), 1, "one message, at once");
      assert.equal(await to.inputValue(), "bob@");
      assert.equal(await panel(page).getByRole("button", { name: /^Remove bob@/ }).count(), 0, "no chip for it");
      await page.screenshot({ path: `${SHOTS}/builder-bad-recipient.png` });
      await to.fill("bob@example.com");
      await to.press("Enter");
      await panel(page).getByRole("button", { name: "Remove bob@example.com from To" }).waitFor();
      assert.equal(await panel(page).getByText(/is not an email address/).count(), 0);

      // The email moves from “If true” to “If false” and back.
      const email = page.locator(".step-card[data-node-id=email]");
      await email.getByRole("button", { name: /^Move to “If false” of “check”/ }).click();
      await page.locator(".branch-else .step-card[data-node-id=email]").waitFor();
      await page.locator(".branch-else .step-card[data-node-id=email]").getByRole("button", { name: /^Move to “If true” of “check”/ }).click();
      await page.locator(".branch-then .step-card[data-node-id=email]").waitFor();

      // A long label wraps by words and the test badge never covers the move buttons.
      await page.locator(".step-card[data-node-id=email] .card-main").click();
      await panel(page).getByRole("textbox", { name: "Label (optional)" }).fill("Surplus to deficit, best-selling sizes first");
      const title = page.locator(".step-card[data-node-id=email] .card-title");
      const lineHeight = await title.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
      assert.ok((await title.boundingBox()).height <= lineHeight * 2 + 1, "the title takes at most two lines");
      assert.equal(await page.locator(".step-card[data-node-id=email] .card-main").getAttribute("title"), "Surplus to deficit, best-selling sizes first (email)");

      // Leaving with unsaved edits asks in the app, not with the browser's confirm box.
      const nativeBoxes = [];
      page.on("dialog", (d) => {
        nativeBoxes.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      });
      await page.getByRole("link", { name: "← Workflows" }).click();
      const leave = page.getByRole("dialog", { name: "Leave without saving?" });
      await leave.getByRole("button", { name: "Keep editing" }).click();
      assert.match(new URL(page.url()).pathname, /\/workflows\/new$/);

      // A phone: the canvas with two branches fits; the page never widens.
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/builder-phone.png`, fullPage: true });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), PHONE.width, "the page is no wider than the phone");
      await page.setViewportSize(DESKTOP);

      await page.getByRole("link", { name: "← Workflows" }).click();
      await leave.getByRole("button", { name: "Leave without saving" }).click();
      await page.getByRole("heading", { name: "Workflows", level: 1 }).waitFor();
      assert.deepEqual(nativeBoxes, [], "no browser confirm box");
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });
});
