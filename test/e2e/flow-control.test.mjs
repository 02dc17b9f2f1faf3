// Flow control in Chromium (SPEC §14, issue 11): controls set in the builder's own words, a run
// that waits for a concurrency slot saying so in the runs list and on its page, the stats, and a
// workflow paused by a daily cap shown apart and resumed. Registered in run.mjs (`npm run test:e2e`).
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startSink } from "../support/sink.ts";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const TAG = `e2e-flow-${stamp}`;
const SHOP = `e2e-shop-${stamp}`;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let product;
let browser;
let sink;

const panel = (page) => page.locator(".side-panel");

const api = (method, path, body) => apiCall(product.base, method, path, body);

/** One inventory item event of the e2e shop, tagged so that only this file's workflows match it. */
async function itemEvent(n) {
  const id = `e2e-flow-item-${stamp}-${n}`;
  const sent = await sendEvent(product.base, {
    id: `evt_flow_${stamp}_${n}`,
    type: "inventory_item.updated",
    entity_id: id,
    occurred_at: new Date().toISOString(),
    data: { id, variant_id: `e2e-flow-var-${stamp}-${n}`, shop_id: SHOP, on_hand: 1, on_order: 0, target: 5, tags: [TAG] },
  });
  assert.equal(sent.status, 202, `POST /api/events answered ${sent.status}: ${sent.body}`);
  return id;
}

async function runsOf(workflowId) {
  const res = await apiGet(product.base, `/runs?workflow_id=${encodeURIComponent(workflowId)}&limit=50`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items;
}

const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);

describe("flow control in Chromium", { timeout: 600_000 }, () => {
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

  it("sets one run at a time per shop in the builder, and shows why the second run of a shop waits", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    let workflowId;
    try {
      await signIn(page, product.base);
      await page.goto(`${product.base}/workflows/new`);
      await page.getByRole("textbox", { name: "Workflow name" }).fill(`E2E one at a time ${stamp}`);
      await page.getByRole("button", { name: /^Trigger/ }).click();
      await panel(page).getByRole("textbox", { name: "Has tags" }).fill(TAG);
      await panel(page).getByRole("textbox", { name: "Has tags" }).press("Enter");
      // The slow step: an hour's wait keeps the first run of a shop running.
      await page.getByRole("button", { name: "Add a step here (position 1)", exact: true }).click();
      await page.locator(".add-menu .add-choice").filter({ has: page.locator("strong", { hasText: /^Wait$/ }) }).click();
      await panel(page).getByRole("heading", { name: "wait", level: 2 }).waitFor();

      // Flow control, under the trigger card: off until a number is given.
      const card = page.locator("#card-controls");
      assert.match(await card.textContent(), /No limits: every matching event starts a run right away/);
      await card.click();
      const p = panel(page);
      await p.getByRole("heading", { name: "How many runs, how often" }).waitFor();

      // A key that is not the trigger's data is refused at once, at the field.
      await p.getByRole("combobox", { name: "Key", exact: true }).selectOption("custom");
      const key = p.getByRole("textbox", { name: "Key template" });
      await key.fill("shop");
      await waitUntil("the key to be marked invalid", async () => (await key.getAttribute("aria-invalid")) === "true");
      const issuesId = (await key.getAttribute("aria-describedby")).split(" ").find((i) => i.endsWith("-issues"));
      assert.match(await page.locator(`[id="${issuesId}"]`).textContent(), /The key must use the trigger's data/);
      // The variable picker offers the trigger's data only.
      await key.fill("");
      await p.getByRole("button", { name: "Insert a variable into Key template" }).click();
      assert.equal(await p.locator(".var-pop").getByRole("button", { name: /^\{\{trigger\.previous/ }).count(), 0, "only the trigger's data can be a key");
      await p.locator(".var-pop").getByRole("button", { name: /^\{\{trigger\.data\.shop_id\}\}/ }).click();
      assert.equal(await key.inputValue(), "{{trigger.data.shop_id}}");
      await waitUntil("the key to be accepted", async () => (await key.getAttribute("aria-invalid")) === "false");

      await p.getByRole("spinbutton", { name: "Runs at a time" }).fill("1");
      await p.getByRole("spinbutton", { name: "Webhook calls per day" }).fill("1000");
      await p.locator(".controls-words").getByText("At most 1 run at a time per shop").waitFor();
      await waitUntil("the canvas to say it in one line", async () => /At most 1 run at a time per shop · pause the workflow past 1000 webhook calls a day/.test(await card.textContent()));
      await page.screenshot({ path: `${SHOTS}/flow-control-builder-desktop.png` });

      await page.getByRole("button", { name: "Save draft" }).click();
      await page.getByText(/Saved as a draft \(version 1\)/).waitFor();
      workflowId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
      await page.getByRole("button", { name: "Activate", exact: true }).click();
      await page.getByText("Active: matching events now start runs.").waitFor();

      // Saved in the definition and its version, and read back into the builder.
      const controls = { key: "{{trigger.data.shop_id}}", concurrency: 1, caps: { per_day: { webhook_calls: 1000 } } };
      const wf = await apiGet(product.base, `/workflows/${encodeURIComponent(workflowId)}`);
      assert.deepEqual(wf.body.definition.controls, controls);
      const v1 = await apiGet(product.base, `/workflows/${encodeURIComponent(workflowId)}/versions/1`);
      assert.deepEqual(v1.body.definition.controls, controls);
      await page.reload();
      await page.locator("#card-controls").getByText(/At most 1 run at a time per shop/).waitFor();

      // Two events for the same shop: the first run sleeps in its wait, the second waits for its slot.
      await itemEvent(1);
      await waitUntil("the first run to be running", async () => (await runsOf(workflowId)).some((r) => r.status === "running"), { timeoutMs: 90_000 });
      await itemEvent(2);
      const waiting = await waitUntil(
        "the second run to wait for a concurrency slot",
        async () => (await runsOf(workflowId)).find((r) => r.status === "pending" && r.waiting_for === "concurrency"),
        { timeoutMs: 90_000 },
      );

      await page.getByRole("link", { name: "Runs", exact: true }).click();
      await page.getByRole("heading", { name: "Runs", level: 1 }).waitFor();
      const row = page.locator(`tr[data-run-id="${waiting.id}"]`);
      await row.locator(".waiting-badge[data-waiting-for=concurrency]").getByText("waiting: concurrency slot").waitFor();
      assert.equal(await page.locator("tbody tr[data-status=running]").count(), 1, "one run of the shop runs");
      await page.screenshot({ path: `${SHOTS}/flow-control-runs-desktop.png` });

      await row.getByRole("link", { name: /^Run / }).click();
      await page.locator("h1 .waiting-badge").getByText(`waiting: concurrency slot (shop ${SHOP})`).waitFor();
      await page.locator(".waiting-note").getByText(`This run waits for a free slot: at most 1 run of this workflow may run at a time per shop, and one is running for shop ${SHOP} now.`, { exact: false }).waitFor();
      await page.screenshot({ path: `${SHOTS}/flow-control-run-desktop.png` });

      // The link on the run page opens the workflow on its flow control, with what it did.
      await page.getByRole("link", { name: "See the workflow's flow control" }).click();
      await panel(page).getByRole("heading", { name: "How many runs, how often" }).waitFor();
      const stats = panel(page).locator(".flow-stats");
      await stats.locator(".cap-usage [data-cap=webhook_calls]").getByText("0 / 1000").waitFor();
      const today = new Date().toISOString().slice(0, 10);
      const todayRow = stats.locator("tbody tr").filter({ hasText: today });
      // The gate reports its counts as it goes: ask again (the panel's Refresh) until today's are in.
      await waitUntil("today's counts in the stats", async () => {
        if ((await todayRow.count()) > 0) return true;
        await stats.getByRole("button", { name: "Refresh" }).click();
        return false;
      }, { timeoutMs: 30_000, intervalMs: 1000 });
      assert.equal((await todayRow.locator("td").first().textContent()).trim(), "1", "one run started today");
      await stats.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/flow-control-stats-desktop.png` });
      sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }

    // The same at phone width.
    const phone = await openPage(browser, PHONE);
    try {
      await signIn(phone.page, product.base);
      await phone.page.goto(`${product.base}/runs?workflow_id=${encodeURIComponent(workflowId)}`);
      await phone.page.locator(".waiting-badge[data-waiting-for=concurrency]").first().waitFor();
      await phone.page.screenshot({ path: `${SHOTS}/flow-control-runs-phone.png`, fullPage: true });
      const pending = (await runsOf(workflowId)).find((r) => r.waiting_for === "concurrency");
      await phone.page.goto(`${product.base}/runs/${encodeURIComponent(pending.id)}`);
      await phone.page.locator(".waiting-note").waitFor();
      await phone.page.screenshot({ path: `${SHOTS}/flow-control-run-phone.png` });
      await phone.page.goto(`${product.base}/workflows/${encodeURIComponent(workflowId)}?show=controls`);
      await panel(phone.page).getByRole("heading", { name: "How many runs, how often" }).waitFor();
      await panel(phone.page).locator(".flow-stats tbody tr").first().waitFor();
      await panel(phone.page).scrollIntoViewIfNeeded();
      await phone.page.screenshot({ path: `${SHOTS}/flow-control-builder-phone.png` });
      await phone.page.locator(".controls-card").scrollIntoViewIfNeeded();
      await phone.page.screenshot({ path: `${SHOTS}/flow-control-canvas-phone.png` });
      sawNoConsoleErrors(phone.errors);
    } finally {
      await phone.context.close();
    }

    // Done: the waiting runs go, so that nothing of this test keeps running.
    for (const r of await runsOf(workflowId)) if (r.status === "pending" || r.status === "running") await api("POST", `/runs/${encodeURIComponent(r.id)}/cancel`);
  });

  it("shows a workflow paused by its daily cap apart in the list, says why in the builder, and resumes it", async () => {
    const bucket = `cap-${stamp}`;
    const created = await api("POST", "/workflows", {
      name: `E2E capped ${stamp}`,
      trigger: { entity: "inventory_item", events: ["updated"], tags: { include: [`${TAG}-cap`], exclude: [], match: "any" } },
      start: "hook",
      nodes: [{ id: "hook", type: "call_webhook", config: { url: `http://127.0.0.1:${sink.port}/${bucket}/hook`, method: "POST", body: { item: "{{trigger.entity_id}}" } } }],
      controls: { caps: { per_day: { webhook_calls: 1 } } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    assert.equal((await api("POST", `/workflows/${encodeURIComponent(id)}/status`, { status: "active" })).status, 200);
    for (const n of [1, 2]) {
      const item = `e2e-cap-item-${stamp}-${n}`;
      const sent = await sendEvent(product.base, {
        id: `evt_cap_${stamp}_${n}`,
        type: "inventory_item.updated",
        entity_id: item,
        occurred_at: new Date().toISOString(),
        data: { id: item, variant_id: "v", shop_id: SHOP, on_hand: 1, on_order: 0, target: 5, tags: [`${TAG}-cap`] },
      });
      assert.equal(sent.status, 202, sent.body);
    }
    const paused = await waitUntil(
      "the second webhook call to pause the workflow",
      async () => {
        const wf = await apiGet(product.base, `/workflows/${encodeURIComponent(id)}`);
        return wf.body.status === "paused" && wf.body.paused_reason ? wf.body : null;
      },
      { timeoutMs: 90_000 },
    );
    const calls = await (await fetch(`http://127.0.0.1:${sink.port}/_sink/${bucket}/requests`)).json();
    assert.equal(calls.length, 1, "the cap let one webhook call through");

    for (const viewport of [DESKTOP, PHONE]) {
      const label = viewport === DESKTOP ? "desktop" : "phone";
      const { page, errors, context } = await openPage(browser, viewport);
      try {
        await signIn(page, product.base);
        const row = page.locator(`tr[data-workflow-id="${id}"]`);
        const badge = row.locator("[data-paused-by=engine]");
        await badge.getByText("paused: daily cap").waitFor();
        assert.equal(await badge.getAttribute("title"), paused.paused_reason);
        await row.getByText(paused.paused_reason).waitFor();
        await row.scrollIntoViewIfNeeded();
        await page.screenshot({ path: `${SHOTS}/flow-control-paused-list-${label}.png` });

        await row.getByRole("link", { name: `E2E capped ${stamp}`, exact: true }).click();
        await page.locator(".bar-status [data-paused-by=engine]").getByText("paused: daily cap").waitFor();
        await page.locator(".builder-message").getByText(paused.paused_reason, { exact: false }).waitFor();
        await page.screenshot({ path: `${SHOTS}/flow-control-paused-builder-${label}.png` });
        if (viewport === PHONE) {
          await page.locator(".builder-message").getByRole("button", { name: "See the caps" }).click();
          const cap = panel(page).locator(".cap-usage [data-cap=webhook_calls]");
          await cap.getByText("1 / 1").waitFor();
          await cap.getByText(/used up/).waitFor();
          await cap.scrollIntoViewIfNeeded();
          await page.screenshot({ path: `${SHOTS}/flow-control-cap-used-${label}.png` });
          await page.getByRole("button", { name: "Resume", exact: true }).click();
          await page.getByText("Active: matching events now start runs.").waitFor();
          await page.locator(".bar-status [data-status=active]").waitFor();
          assert.equal(await page.locator(".bar-status [data-paused-by=engine]").count(), 0);
          const wf = await apiGet(product.base, `/workflows/${encodeURIComponent(id)}`);
          assert.equal(wf.body.status, "active");
          assert.equal(wf.body.paused_reason, null, "resuming clears the reason");
        }
        sawNoConsoleErrors(errors);
      } finally {
        await context.close();
      }
    }
  });
});
