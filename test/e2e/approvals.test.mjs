// The approvals inbox in Chromium (SPEC §15, issue 12): a signed event starts a run that fills a
// restock plan and asks a buyer; the inbox lists it, the approval's page shows the plan's lines,
// the buyer approves from the UI, and the run goes on down the approved branch. Registered in
// run.mjs (`npm run test:e2e`); runs alone with `node test/e2e/approvals.test.mjs`.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startSink } from "../support/sink.ts";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const TAG = `e2e-approve-${stamp}`;
const ITEM = `e2e-approve-item-${stamp}`;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let product;
let browser;
let sink;

const api = (method, path, body) => apiCall(product.base, method, path, body);

const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);
const hook = (name) => `http://127.0.0.1:${sink.port}/${name}-${stamp}/hook`;
const calls = async (name) => (await fetch(`http://127.0.0.1:${sink.port}/_sink/${name}-${stamp}/requests`)).json();

describe("approvals in Chromium", { timeout: 600_000 }, () => {
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

  it("lists a waiting approval with its plan, approves it from the inbox, and the run goes on", async () => {
    const created = await api("POST", "/workflows", {
      name: `E2E approve restock ${stamp}`,
      trigger: { entity: "inventory_item", tags: { include: [TAG] } },
      start: "plan",
      nodes: [
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: `E2E approval plan ${stamp}`, deadline: { type: "relative", days: 7 } }, next: "items" },
        {
          id: "items",
          type: "add_items_to_plan",
          config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "inventory_item", from_trigger: true }, quantity: { strategy: "fixed", quantity: 6 } },
          next: "buyer",
        },
        {
          id: "buyer",
          type: "approval",
          config: { title: "Restock {{trigger.entity_id}}", message: "{{steps.items.output.added}} line(s), {{steps.items.output.total_quantity}} units in the plan.", approvers: ["buyer@example.com"], timeout: { days: 2 } },
          then: "erp",
          else: "told",
        },
        { id: "erp", type: "call_webhook", config: { url: hook("approved"), body: { plan: "{{steps.plan.output.plan_id}}" } } },
        { id: "told", type: "call_webhook", config: { url: hook("rejected") } },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const workflowId = created.body.id;
    assert.equal((await api("POST", `/workflows/${workflowId}/status`, { status: "active" })).status, 200);
    const sent = await sendEvent(product.base, {
      id: `evt_approve_${stamp}`,
      type: "inventory_item.updated",
      entity_id: ITEM,
      occurred_at: new Date().toISOString(),
      data: { id: ITEM, variant_id: `e2e-approve-var-${stamp}`, shop_id: `e2e-approve-shop-${stamp}`, on_hand: 1, on_order: 0, target: 8, tags: [TAG] },
    });
    assert.equal(sent.status, 202, sent.body);
    const waiting = await waitUntil(
      "the approval to wait in the inbox",
      async () => (await apiGet(product.base, "/approvals?status=waiting&limit=100")).body.items.find((a) => a.workflow_id === workflowId),
      { timeoutMs: 90_000 },
    );
    const runId = waiting.run_id;

    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.getByRole("link", { name: "Approvals", exact: true }).click();
      await page.getByRole("heading", { name: "Approvals", level: 1 }).waitFor();
      const card = page.locator(`.approval-card[data-run-id="${runId}"]`);
      await card.getByRole("link", { name: `Restock ${ITEM}` }).waitFor();
      assert.match(await card.textContent(), /1 line\(s\), 6 units in the plan\./);
      assert.match(await card.textContent(), /buyer@example\.com/);
      await card.locator("[data-status=running]").waitFor(); // "waiting", in the running tone
      await page.screenshot({ path: `${SHOTS}/approvals-inbox.png` });

      // The approval's page shows the plan the run filled before asking.
      await card.getByRole("link", { name: `Restock ${ITEM}` }).click();
      await page.getByRole("heading", { name: new RegExp(`^Restock ${ITEM}`), level: 1 }).waitFor();
      const plan = page.locator(".approval-plan");
      await plan.getByRole("link", { name: `E2E approval plan ${stamp}` }).waitFor();
      const line = plan.locator("tbody tr").filter({ hasText: ITEM });
      await line.waitFor();
      assert.match(await line.textContent(), /6/);
      assert.match(await plan.locator("dl").textContent(), /Lines\s*1\s*Units\s*6/);
      await page.getByRole("button", { name: "Approve" }).waitFor();
      await page.screenshot({ path: `${SHOTS}/approval-page.png`, fullPage: true });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/approval-page-phone.png`, fullPage: true });
      await page.setViewportSize(DESKTOP);

      // Approve from the inbox, as a named buyer with a comment.
      await page.getByRole("link", { name: "← Approvals" }).click();
      await page.getByRole("textbox", { name: "Decide as" }).fill("E2E buyer");
      await card.getByRole("textbox", { name: `Comment on “Restock ${ITEM}”` }).fill("Sells well, go ahead");
      await card.getByRole("button", { name: "Approve" }).click();
      await page.getByText(`Approved “Restock ${ITEM}”: the run goes on.`).waitFor();
      await card.waitFor({ state: "detached" }); // gone from "Waiting"
      await page.getByRole("button", { name: "Decided", exact: true }).click();
      const decided = page.locator(`.approval-card[data-run-id="${runId}"]`);
      await decided.locator(".approval-verdict").waitFor();
      assert.match(await decided.locator(".approval-verdict").textContent(), /Approved\s+by E2E buyer/);
      assert.match(await decided.textContent(), /“Sells well, go ahead”/);
      await page.screenshot({ path: `${SHOTS}/approvals-decided.png` });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/approvals-decided-phone.png`, fullPage: true });
      await page.setViewportSize(DESKTOP);

      // The run went on down the approved branch: its page says so.
      await decided.getByRole("link", { name: runId.slice(0, 8) }).click();
      await page.locator("h1 [data-status=completed]").waitFor({ timeout: 30_000 });
      await page.locator(".run-card[data-node-id=erp] [data-status=succeeded]").waitFor();
      await page.locator(".run-card[data-node-id=told] [data-status=skipped]").waitFor();
      await page.locator(".run-card[data-node-id=buyer] .card-main").click();
      await page.locator(".step-detail .approval-verdict").getByText(/by E2E buyer/).waitFor();
      await page.screenshot({ path: `${SHOTS}/approval-run.png`, fullPage: true });
      assert.equal((await calls("approved")).length, 1, "the approved branch called the ERP once");
      assert.equal((await calls("rejected")).length, 0, "the rejected branch never ran");
      const run = await apiGet(product.base, `/runs/${runId}`);
      assert.deepEqual(
        run.body.steps.map((s) => [s.node_id, s.status]),
        [["plan", "succeeded"], ["items", "succeeded"], ["buyer", "succeeded"], ["erp", "succeeded"], ["told", "skipped"]],
      );
      assert.equal(run.body.steps[2].output.decided_by, "E2E buyer");
      // A second decision is refused.
      assert.equal((await api("POST", `/runs/${runId}/steps/buyer/decision`, { decision: "reject" })).status, 409);
      await sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });
});
