// Browser tests (`npm run test:e2e`): the product under `npm start` on free ports with a fresh
// state folder, a local webhook sink, and Chromium driven by playwright-core. Any console error
// fails the test that caused it. Screenshots go to test/e2e/screenshots/ on every run.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startSink } from "../support/sink.ts";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil } from "./harness.mjs";
import "./preview.test.mjs"; // the builder's preview panel (its own product and browser)
import "./back-in-stock.test.mjs"; // the back-in-stock page (its own product and browser)
import "./back-in-stock-journey.test.mjs"; // back in stock as a merchant: built from nothing, previewed, activated, restocked, the email and the page (its own product and browser)
import "./flow-control.test.mjs"; // flow control: the builder's controls, waiting runs, caps (its own product and browser)
import "./approvals.test.mjs"; // approvals: the inbox, the approval's page with its plan, approve and the run goes on (its own product and browser)
import "./retry.test.mjs"; // retry from a step: the confirmation's side effects, the new run, links both ways (its own product and browser)
import "./events.test.mjs"; // the events page (dead letter replayed, refused, stale) and the workflows list's search and inline status (its own product and browser)
import "./api-docs.test.mjs"; // the API reference: offline, every operation listed, Try it with a token (its own product and browser)
import "./plans.test.mjs"; // plans a planner acts on (names, totals, approve, edit, CSV) and the runs chart (its own product and browser)
import "./history.test.mjs"; // version history: the diff as lines, restore; the builder's edges (first step, recipients, leaving, moves, phone) (its own product and browser)

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const TAG = `e2e-sneakers-${stamp}`;
const ITEM_ID = `e2e-inv-${stamp}`;

let product;
let sink;
let browser;

/** Clicks the "+" at a position of the main chain and picks a node type from the menu. */
async function addStep(page, position, typeLabel) {
  await page.getByRole("button", { name: `Add a step here (position ${position})`, exact: true }).click();
  // By the choice's label exactly: "Wait" is not "Wait for an event".
  await page.locator(".add-menu .add-choice").filter({ has: page.locator("strong", { hasText: new RegExp(`^${typeLabel}$`) }) }).click();
  await page.getByRole("heading", { level: 2 }).first().waitFor();
}

const panel = (page) => page.locator(".side-panel");

async function sawNoConsoleErrors(errors) {
  assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
}

describe("the builder and the run monitor in Chromium", { timeout: 600_000 }, () => {
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

  it("builds a restock workflow from nothing, activates it, and shows the run of a signed event", async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await signIn(page, product.base);
      await page.getByRole("link", { name: "New workflow" }).click();
      const name = page.getByRole("textbox", { name: "Workflow name" });
      await name.fill(`E2E restock ${stamp}`);

      // Trigger: inventory items tagged TAG, never discontinued ones.
      await page.getByRole("button", { name: /^Trigger/ }).click();
      await panel(page).getByRole("textbox", { name: "Has tags" }).fill(TAG);
      await panel(page).getByRole("textbox", { name: "Has tags" }).press("Enter");
      await panel(page).getByRole("button", { name: `Remove ${TAG} from Has tags` }).waitFor();
      await panel(page).getByRole("textbox", { name: "Does not have tags" }).fill("discontinued");
      await panel(page).getByRole("textbox", { name: "Does not have tags" }).press("Enter");
      await panel(page).getByRole("radio", { name: "Any of these tags" }).check();

      // 1: create (or reuse) the plan; its name gets {{today}} through the variable picker.
      await addStep(page, 1, "Create or get plan");
      await panel(page).getByRole("combobox", { name: "Plan kind" }).selectOption("restock");
      const planName = panel(page).getByRole("textbox", { name: "Plan name", exact: true });
      await planName.fill(`E2E plan ${stamp} `);
      await panel(page).getByRole("button", { name: "Insert a variable into Plan name" }).click();
      await panel(page).getByRole("button", { name: /^\{\{today\}\}/ }).click();
      assert.equal(await planName.inputValue(), `E2E plan ${stamp} {{today}}`);

      // 2: add the trigger's item with fill-to-target.
      await addStep(page, 2, "Add items to plan");
      assert.equal(await panel(page).getByRole("textbox", { name: "Plan", exact: true }).inputValue(), "{{steps.plan.output.plan_id}}");
      await panel(page).getByRole("combobox", { name: "Select by" }).selectOption("inventory_item");
      await panel(page).getByRole("checkbox", { name: "Start from the trigger's entity" }).check();
      await panel(page).getByRole("combobox", { name: "Quantity strategy" }).selectOption("fill_to_target");

      // 3: tell the ERP (the local sink).
      await addStep(page, 3, "Call webhook");
      const hookUrl = `http://127.0.0.1:${sink.port}/restock-${stamp}/notify`;
      await panel(page).getByRole("textbox", { name: "URL", exact: true }).fill(hookUrl);
      await panel(page).getByRole("textbox", { name: "JSON body" }).fill(JSON.stringify({ plan: "{{steps.plan.output.plan_id}}", added: "{{steps.items.output.added}}" }, null, 2));

      await page.screenshot({ path: `${SHOTS}/builder.png` });
      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Saved as a draft \(version 1\)/).waitFor();
      const workflowId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
      assert.match(workflowId, /.+/);

      await page.getByRole("button", { name: "Activate", exact: true }).click();
      await page.getByText("Active: matching events now start runs.").waitFor();
      await page.locator(".bar-status [data-status=active]").waitFor();
      await page.screenshot({ path: `${SHOTS}/builder-saved.png` });

      const wf = await apiGet(product.base, `/workflows/${encodeURIComponent(workflowId)}`);
      assert.equal(wf.body.status, "active");
      assert.deepEqual(wf.body.definition.trigger.tags.include, [TAG]);
      assert.deepEqual(wf.body.definition.nodes.map((n) => n.type), ["create_or_get_plan", "add_items_to_plan", "call_webhook"]);

      const sent = await sendEvent(product.base, {
        id: `evt_${stamp}_1`,
        type: "inventory_item.updated",
        entity_id: ITEM_ID,
        occurred_at: new Date().toISOString(),
        data: { id: ITEM_ID, variant_id: `e2e-var-${stamp}`, shop_id: `e2e-shop-${stamp}`, on_hand: 2, on_order: 0, target: 10, tags: [TAG] },
      });
      assert.equal(sent.status, 202, `POST /api/events answered ${sent.status}: ${sent.body}`);

      // The runs list, filtered to this workflow, refreshes by itself until the run is there.
      await page.getByRole("link", { name: "Runs", exact: true }).click();
      await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
      const row = page.locator("tr[data-status=completed], tr[data-status=failed], tr[data-status=cancelled]").first();
      await row.waitFor({ timeout: 90_000 });
      const runId = await row.getAttribute("data-run-id");
      await row.getByRole("link", { name: /^Run / }).click();
      await page.locator("h1 [data-status]").waitFor();
      await page.screenshot({ path: `${SHOTS}/run-detail.png`, fullPage: true });
      if ((await page.locator("h1 [data-status=completed]").count()) === 0) {
        const run = await apiGet(product.base, `/runs/${runId}`);
        const steps = (run.body?.steps ?? []).map((s) => `${s.node_id}: ${s.status}${s.error ? ` (${s.error})` : ""}`).join("; ");
        assert.fail(`the run ended ${run.body?.status}: ${run.body?.error ?? ""} — ${steps}`);
      }
      await page.locator("h1 [data-status=completed]").waitFor();
      for (const id of ["plan", "items", "webhook"]) {
        await page.locator(`.run-card[data-node-id=${id}] [data-status=succeeded]`).waitFor();
      }
      await page.locator(".run-card[data-node-id=items] .card-main").click();
      const detail = page.locator(".step-detail");
      await detail.getByRole("heading", { name: /items/ }).waitFor();
      const output = await detail.getByLabel("Output of items").textContent();
      assert.match(output, /"added": 1/);
      assert.match(output, /"total_quantity": 8/);
      assert.equal(await detail.locator("table tbody tr").count(), 1, "one attempt");

      await page.locator(".run-card[data-node-id=webhook] .card-main").click();
      await detail.getByRole("heading", { name: /webhook/ }).waitFor();
      assert.match(await detail.getByLabel("Resolved input of webhook").textContent(), new RegExp(hookUrl.replaceAll(".", "\\.")));
      assert.match(await detail.getByLabel("Output of webhook").textContent(), /"status": 200/);
      await page.screenshot({ path: `${SHOTS}/run-detail.png`, fullPage: true });
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.screenshot({ path: `${SHOTS}/run-detail-1920.png` });
      await page.setViewportSize({ width: 1280, height: 800 });

      const calls = await (await fetch(`http://127.0.0.1:${sink.port}/_sink/restock-${stamp}/requests`)).json();
      assert.equal(calls.length, 1, "the sink got one webhook call");
      assert.equal(calls[0].method, "POST");
      assert.ok(calls[0].headers["idempotency-key"], "an Idempotency-Key header is sent");
      assert.equal(JSON.parse(calls[0].body).added, 1);

      // The plan the run created, with the item's lineage.
      await page.locator(".run-card[data-node-id=plan] .card-main").click();
      await detail.getByRole("link", { name: /^Open plan / }).click();
      await page.getByRole("heading", { name: new RegExp(`E2E plan ${stamp}`), level: 1 }).waitFor();
      const line = page.locator("tbody tr").filter({ hasText: ITEM_ID });
      await line.waitFor();
      assert.match(await line.textContent(), /8/);
      assert.match(await line.textContent(), /fill to target/i);
      await page.screenshot({ path: `${SHOTS}/plan-detail.png` });
      await page.getByRole("link", { name: "← Plans" }).click();
      await page.getByRole("combobox", { name: "Kind" }).selectOption("restock");
      const planRow = page.locator("tbody tr").filter({ hasText: `E2E plan ${stamp}` });
      await planRow.waitFor();
      assert.match(await planRow.textContent(), /restock/);
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("shows a validation error from the API at the field its path names", async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`E2E invalid ${stamp}`);
      // By keyboard only: Tab to the "+", open the menu, move to "Call webhook", pick it.
      const plus = page.getByRole("button", { name: "Add a step here (position 1)", exact: true });
      // The flow-control card sits between the trigger card and the first "+".
      await page.getByRole("button", { name: /^Flow control/ }).focus();
      await page.keyboard.press("Tab");
      assert.equal(await plus.evaluate((el) => el === document.activeElement && el.matches(":focus-visible")), true, "the + button has a visible focus");
      await page.keyboard.press("Enter");
      await waitUntil("the add menu to take focus", () => page.evaluate(() => document.activeElement?.textContent?.startsWith("Create or get plan")));
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      await waitUntil("focus to land in the new step's form", () => page.evaluate(() => document.activeElement?.id?.startsWith("inspector-")));
      const url = panel(page).getByRole("textbox", { name: "URL", exact: true });
      await url.fill("not a url");
      await page.getByRole("button", { name: "Check", exact: true }).click();
      await page.getByRole("heading", { name: /problem.* to fix/ }).waitFor();
      await waitUntil("the URL field to be marked invalid", async () => (await url.getAttribute("aria-invalid")) === "true");
      const describedBy = await url.getAttribute("aria-describedby");
      const message = await page.locator(`[id="${describedBy.split(" ").find((i) => i.endsWith("-issues"))}"]`).textContent();
      assert.match(message, /Not a URL/);
      await page.screenshot({ path: `${SHOTS}/builder-validation.png` });

      // Saving is refused with the same issue, and fixing the field clears it.
      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Not saved: 1 problem needs fixing/).waitFor();
      await url.fill(`http://127.0.0.1:${sink.port}/valid-${stamp}`);
      await waitUntil("the issue to clear after the fix", async () => (await url.getAttribute("aria-invalid")) === "false", { timeoutMs: 10_000 });
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("cancels a waiting run from the UI (a test run started from the builder)", async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`E2E wait ${stamp}`);
      await addStep(page, 1, "Wait");
      await panel(page).getByRole("spinbutton", { name: "Days" }).fill("2");
      await addStep(page, 2, "Call webhook");
      await panel(page).getByRole("textbox", { name: "URL", exact: true }).fill(`http://127.0.0.1:${sink.port}/never-${stamp}`);

      // An event built by hand in the test panel (no mirror needed); the new workflow is saved
      // by the same click that starts the test.
      await page.getByRole("button", { name: "Test", exact: true }).click();
      await panel(page).getByRole("button", { name: "Start from an empty event instead" }).click();
      await panel(page).getByRole("textbox", { name: "Entity id" }).fill(`e2e-wait-${stamp}`);
      await panel(page)
        .getByRole("textbox", { name: "Entity data (JSON)" })
        .fill(JSON.stringify({ id: `e2e-wait-${stamp}`, variant_id: "v", shop_id: "s", on_hand: 1, on_order: 0, target: 4, tags: [] }));
      await panel(page).getByRole("button", { name: "Save and start test run" }).click();
      await page.getByText(/Saved as a draft/).waitFor();
      const testRun = panel(page).locator(".test-run");
      await testRun.getByText(/sleeping until/).waitFor({ timeout: 60_000 });
      await page.locator(".step-card[data-node-id=wait] [data-status=running]").waitFor();
      const badge = await page.locator(".step-card[data-node-id=wait] [data-status=running]").boundingBox();
      const tools = await page.locator(".step-card[data-node-id=wait] .card-tools").boundingBox();
      assert.ok(badge.x + badge.width <= tools.x, "the test badge stays clear of the move buttons");

      await testRun.getByRole("link", { name: "Open run details" }).click();
      await page.locator("h1 [data-status=running]").waitFor();
      await page.getByText(/Sleeping until/).waitFor();
      await page.screenshot({ path: `${SHOTS}/run-waiting.png`, fullPage: true });
      await page.getByRole("button", { name: "Cancel run" }).click();
      await page.getByRole("dialog", { name: "Cancel this run?" }).getByRole("button", { name: "Cancel run" }).click();
      await page.locator("h1 [data-status=cancelled]").waitFor();
      await page.locator(".run-card[data-node-id=webhook] [data-status=cancelled]").waitFor();
      await page.getByText(/The run was cancelled/).waitFor();
      await page.locator(".run-card[data-node-id=wait] .card-main").click();
      await page.locator(".step-detail").getByText(/^Cancelled while waiting/).waitFor();
      assert.equal(await page.locator(".step-detail").getByText("No attempt yet").count(), 0);
      await page.screenshot({ path: `${SHOTS}/run-cancelled.png`, fullPage: true });
      const calls = await (await fetch(`http://127.0.0.1:${sink.port}/_sink/never-${stamp}/requests`)).json();
      assert.equal(calls.length, 0, "the cancelled run never called the webhook");
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("tests a workflow with a condition from the builder, picking the entity from the mirror, and watches it", async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`E2E low stock ${stamp}`);
      await addStep(page, 1, "Condition");
      await panel(page).getByRole("textbox", { name: "Value 1" }).fill("{{trigger.data.on_hand}}");
      await panel(page).getByRole("combobox", { name: "Test" }).selectOption("lt");
      await panel(page).getByRole("textbox", { name: "Compare with 1" }).fill("5");
      await page.getByRole("button", { name: "Add a step here (position 1 in the “if true” branch)" }).click();
      await page.locator(".add-menu").getByRole("button", { name: /^Call webhook/ }).click();
      await panel(page).getByRole("textbox", { name: "URL", exact: true }).fill(`http://127.0.0.1:${sink.port}/low-${stamp}`);
      await page.getByRole("button", { name: "Add a step here (position 2 in the “if true” branch)" }).click();
      await page.locator(".add-menu").getByRole("button", { name: /^Send email/ }).click();
      await panel(page).getByRole("textbox", { name: "To", exact: true }).fill("planner@example.com");
      await panel(page).getByRole("textbox", { name: "To", exact: true }).press("Enter");
      await panel(page).getByRole("textbox", { name: "Subject" }).fill("Low stock {{trigger.entity_id}}");
      await panel(page).getByRole("combobox", { name: "Format" }).selectOption("markdown");
      await panel(page).getByRole("textbox", { name: "Body", exact: true }).fill("**{{trigger.entity_id}}** is low: {{trigger.data.on_hand}} left.");
      await page.screenshot({ path: `${SHOTS}/builder-condition.png` });
      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Saved as a draft/).waitFor();

      await page.getByRole("button", { name: "Test", exact: true }).click();
      await panel(page).getByRole("textbox", { name: /^Find an? / }).fill(ITEM_ID);
      await panel(page).getByRole("button", { name: "Search" }).click();
      await panel(page).getByRole("button", { name: new RegExp(ITEM_ID) }).click();
      assert.match(await panel(page).getByRole("textbox", { name: "Entity data (JSON)" }).inputValue(), new RegExp(ITEM_ID));
      await panel(page).getByRole("button", { name: "Start test run" }).click();
      const testRun = panel(page).locator(".test-run");
      await testRun.locator("h3 [data-status=completed]").waitFor({ timeout: 60_000 });
      await page.locator(".step-card[data-node-id=check] [data-status=succeeded]").waitFor();
      await page.locator(".step-card[data-node-id=webhook] [data-status=succeeded]").waitFor();
      await page.locator(".step-card[data-node-id=email] [data-status=succeeded]").waitFor();
      const calls = await (await fetch(`http://127.0.0.1:${sink.port}/_sink/low-${stamp}/requests`)).json();
      assert.equal(calls.length, 1, "the \"if true\" branch called the webhook once");

      // The sent email, rendered in a sandboxed frame.
      await panel(page).locator(".test-run").getByRole("link", { name: "Open run details" }).click();
      await page.locator(".run-card[data-node-id=check] .card-main").click();
      await page.locator(".step-detail").getByText("Evaluated: took “If true”.").waitFor();
      await page.locator(".run-card[data-node-id=email] .card-main").click();
      await page.getByRole("button", { name: "Open the sent email" }).click();
      const dialog = page.getByRole("dialog", { name: "Email sent by “email”" });
      await dialog.waitFor();
      assert.equal(await dialog.locator("iframe").getAttribute("sandbox"), "");
      await dialog.frameLocator("iframe").locator("strong", { hasText: ITEM_ID }).waitFor();
      const headers = (await dialog.getByLabel("Email headers").textContent()).replace(/\s+/g, " ");
      assert.match(headers, /To ?planner@example\.com/);
      assert.match(headers, new RegExp(`Subject ?Low stock ${ITEM_ID}`));
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.screenshot({ path: `${SHOTS}/run-email.png` });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      await page.screenshot({ path: `${SHOTS}/run-condition.png` });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: `${SHOTS}/run-condition-phone.png`, fullPage: true });
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, "the run page is no wider than the phone");
      await page.setViewportSize({ width: 1280, height: 800 });
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("lists workflows with their status and runs, duplicates one, keeps its versions, imports JSON, and archives it", async () => {
    const { page, errors, context } = await openPage(browser);
    try {
      await signIn(page, product.base);
      const restock = page.locator("tbody tr").filter({ hasText: `E2E restock ${stamp}` });
      await restock.waitFor();
      assert.match(await restock.textContent(), new RegExp(TAG));
      await restock.locator("[data-status=active]").waitFor();
      await restock.locator("td").nth(3).locator("[data-status=completed]").waitFor();

      await page.getByRole("combobox", { name: "Status" }).selectOption("active");
      await waitUntil("only active workflows to be listed", async () => (await page.locator("tbody tr").count()) > 0 && (await page.locator("tbody tr [data-status=draft]").count()) === 0);
      await page.getByRole("combobox", { name: "Status" }).selectOption("");

      await page.getByRole("button", { name: `Duplicate E2E restock ${stamp}` }).click();
      await page.getByText(`Created “Copy of E2E restock ${stamp}” as a draft.`).waitFor();
      await page.getByRole("link", { name: "Open it" }).click();
      const name = page.getByRole("textbox", { name: "Workflow name" });
      await waitUntil("the copy to load", async () => (await name.inputValue()) === `Copy of E2E restock ${stamp}`);

      // A change saved is a new version; history lists both.
      await page.locator(".step-card[data-node-id=plan] .card-main").click();
      await panel(page).getByRole("textbox", { name: "Label (optional)" }).fill("Daily restock plan");
      await page.getByRole("button", { name: "Save version" }).click();
      await page.getByText("Saved version 2.").waitFor();
      await page.getByRole("button", { name: "History" }).click();
      await panel(page).locator(".version[data-version='2']").waitFor();
      await panel(page).locator(".version[data-version='1']").waitFor();

      // Export shows the definition; importing an edited copy replaces the editor's content.
      await page.getByRole("button", { name: "JSON", exact: true }).click();
      const exported = JSON.parse(await panel(page).getByLabel("Workflow definition JSON").textContent());
      assert.equal(exported.nodes[0].name, "Daily restock plan");
      exported.name = `Imported ${stamp}`;
      await panel(page).getByRole("textbox", { name: "Definition to import" }).fill(JSON.stringify(exported));
      await panel(page).getByRole("button", { name: "Import pasted JSON" }).click();
      await page.getByText(/Imported into the editor/).waitFor();
      assert.equal(await name.inputValue(), `Imported ${stamp}`);
      await page.getByRole("button", { name: "Save version" }).click();
      await page.getByText("Saved version 3.").waitFor();

      // Back to version 1, into the editor (not saved).
      await page.getByRole("button", { name: "History" }).click();
      await panel(page).locator(".version").filter({ hasText: "Version 1" }).getByRole("button", { name: "Load into editor" }).click();
      await page.getByText(/Version 1 is now in the editor/).waitFor();
      assert.equal(await name.inputValue(), `Copy of E2E restock ${stamp}`);
      await page.screenshot({ path: `${SHOTS}/builder-history.png` });

      await page.getByRole("button", { name: "Archive" }).click();
      await page.getByRole("dialog", { name: "Archive this workflow?" }).getByRole("button", { name: "Archive" }).click();
      await page.getByText(/Archived: it no longer starts runs/).waitFor();
      await page.locator(".bar-status [data-status=archived]").waitFor();
      assert.equal(await page.getByRole("button", { name: /^Save/ }).isDisabled(), true, "an archived workflow cannot be saved");
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });
});
