// Plans a planner can act on, and the runs chart, in Chromium (issue 14). Seeded through the API:
// a brand with non-ASCII product and shop names, a restock workflow that fills a plan from it and a
// workflow that fails, both started by signed events. Then: the plan page names every line and adds
// it up per shop, the planner approves it, sets a quantity from the keyboard and exports the CSV;
// the runs page draws completed and failed runs per hour and a workflow's failure rate per step.
// Registered in run.mjs (`npm run test:e2e`); runs alone with `node test/e2e/plans.test.mjs`.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { apiGet, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const stamp = Date.now().toString(36);
const TAG = `e2e-plan-${stamp}`;
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const PLAN = "Réassort Nordlicht";
const id = (s) => `e2e-${s}-${stamp}`;

const SHOPS = [
  { id: id("zh"), name: "Zürich Hauptbahnhof", kind: "store" },
  { id: id("muc"), name: "München Marienplatz", kind: "store" },
  { id: id("web"), name: "Online-Shop", kind: "online" },
];
const PRODUCTS = [
  { id: id("laeufer"), brand_id: id("brand"), name: "Läufer „Föhn“", price: 129.9, cost: 52 },
  { id: id("trail"), brand_id: id("brand"), name: "Trail Ørsted 東京", price: 89, cost: 35.5 },
];
const VARIANTS = [
  { id: id("l40"), product_id: id("laeufer"), size: "40", sku: "NL-FOHN-40" },
  { id: id("l42"), product_id: id("laeufer"), size: "42", sku: "NL-FOHN-42" },
  { id: id("t41"), product_id: id("trail"), size: "41", sku: "NL-TRAIL-41" },
];
/** [variant, shop, on hand, on order, target]: fill to target asks target − on hand − on order. */
const STOCK = [
  ["l40", "zh", 1, 0, 6], // 5
  ["l42", "zh", 0, 1, 8], // 7
  ["l42", "muc", 2, 0, 5], // 3
  ["t41", "zh", 1, 0, 4], // 3
  ["t41", "muc", 0, 0, 2], // 2
  ["t41", "web", 3, 0, 10], // 7
  ["l40", "web", 9, 0, 6], // 0: no line
];
const ITEMS = STOCK.map(([v, s, on_hand, on_order, target]) => ({ id: id(`${v}-${s}`), variant_id: id(v), shop_id: id(s), on_hand, on_order, target, tags: [TAG] }));

let product;
let browser;

const api = (method, path, body) => apiCall(product.base, method, path, body);

const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);

async function activeWorkflow(def) {
  const created = await api("POST", "/workflows", def);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api("POST", `/workflows/${created.body.id}/status`, { status: "active" })).status, 200);
  return created.body.id;
}

describe("plans a planner acts on, and the runs chart, in Chromium", { timeout: 600_000 }, () => {
  let restockId;
  let failingId;
  let planId;
  let testPlanId;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();

    for (const [entity, rows] of [
      ["shop", SHOPS],
      ["brand", [{ id: id("brand"), name: "Nordlicht" }]],
      ["product", PRODUCTS],
      ["product_variant", VARIANTS],
      ["inventory_item", ITEMS],
    ]) {
      const res = await api("PUT", `/entities/${entity}`, rows);
      assert.ok(res.status < 300, `${entity}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    restockId = await activeWorkflow({
      name: `Restock Nordlicht ${stamp}`,
      trigger: { entity: "inventory_item", tags: { include: [TAG] } },
      start: "plan",
      nodes: [
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: PLAN, deadline: { type: "relative", days: 7 } }, next: "items" },
        {
          id: "items",
          name: "Fill the brand to target",
          type: "add_items_to_plan",
          config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "brand", ids: [id("brand")] }, quantity: { strategy: "fill_to_target" } },
        },
      ],
    });
    // A workflow whose step always fails: the runs chart has failures to draw.
    failingId = await activeWorkflow({
      name: `Broken restock ${stamp}`,
      trigger: { entity: "inventory_item", tags: { include: [TAG] } },
      start: "check",
      nodes: [
        { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "gte", right: 0 }] }, then: "items" },
        { id: "items", type: "add_items_to_plan", config: { plan: "plan_that_does_not_exist", filter: { entity: "inventory_item", from_trigger: true }, quantity: { strategy: "fixed", quantity: 1 } } },
      ],
    });
    for (const [i, item] of ITEMS.slice(0, 2).entries()) {
      const sent = await sendEvent(product.base, {
        id: `evt_plan_${stamp}_${i}`,
        type: "inventory_item.updated",
        entity_id: item.id,
        occurred_at: new Date().toISOString(),
        data: item,
      });
      assert.equal(sent.status, 202, sent.body);
    }
    const finished = async (wf, status) =>
      (await apiGet(product.base, `/runs?workflow_id=${wf}&limit=10`)).body.items.filter((r) => r.status === status).length >= 2;
    await waitUntil("both restock runs to complete", () => finished(restockId, "completed"), { timeoutMs: 120_000 });
    await waitUntil("both broken runs to fail", () => finished(failingId, "failed"), { timeoutMs: 120_000 });
    // A test run of the restock workflow fills a test plan of the same name, apart from the real one.
    const started = await api("POST", `/workflows/${restockId}/test`, { type: "inventory_item.updated", entity_id: ITEMS[2].id });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await waitUntil("the test run to complete", async () => (await apiGet(product.base, `/runs/${started.body.id}`)).body?.status === "completed", { timeoutMs: 60_000 });
    const plans = await apiGet(product.base, "/plans?kind=restock&limit=100");
    planId = plans.body.items.find((p) => p.name === PLAN && !p.test)?.id;
    testPlanId = plans.body.items.find((p) => p.name === PLAN && p.test)?.id;
    assert.ok(planId, "the restock workflow made the plan");
    assert.ok(testPlanId, "the test run made a test plan");
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("shows a plan with names and totals, approves it, sets a quantity from the keyboard, and exports the CSV", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.getByRole("link", { name: "Plans", exact: true }).click();
      await page.getByRole("heading", { name: "Plans", level: 1 }).waitFor();
      const row = page.locator(`tr[data-plan-id="${planId}"]`);
      const testRow = page.locator(`tr[data-plan-id="${testPlanId}"]`);
      await row.getByRole("link", { name: PLAN }).waitFor();
      assert.match(await row.textContent(), /open/);
      assert.equal(await row.locator(".badge", { hasText: "test" }).count(), 0);
      await testRow.locator(".badge", { hasText: "test" }).waitFor();
      await page.screenshot({ path: `${SHOTS}/plans-list-desktop.png` });
      await page.getByRole("combobox", { name: "Made by" }).selectOption("true");
      await row.waitFor({ state: "detached" });
      await testRow.waitFor();
      await testRow.getByRole("link", { name: PLAN }).click();
      await page.getByRole("heading", { name: new RegExp(`^${PLAN}`), level: 1 }).waitFor();
      await page.getByText("A test run made this plan").waitFor();
      await page.locator("table.plan-lines tbody tr").first().waitFor();
      const testLines = page.locator("table.plan-lines tbody tr");
      assert.equal(await testLines.locator(".badge", { hasText: "test" }).count(), await testLines.count(), "every line of a test run is marked");
      await page.screenshot({ path: `${SHOTS}/plans-test-plan-desktop.png` });
      await page.getByRole("link", { name: "← Plans" }).click();
      await page.getByRole("combobox", { name: "Made by" }).selectOption("false");
      await testRow.waitFor({ state: "detached" });

      await row.getByRole("link", { name: PLAN }).click();
      await page.getByRole("heading", { name: new RegExp(`^${PLAN}`), level: 1 }).waitFor();
      const table = page.locator("table.plan-lines");
      await table.locator("tbody tr").first().waitFor();
      assert.equal(await table.locator("tbody tr").count(), 6, "six items lack stock; the seventh is above its target");
      const line = table.locator("tbody tr").filter({ hasText: "size 42" }).filter({ hasText: "Zürich Hauptbahnhof" });
      assert.match(await line.textContent(), /Läufer „Föhn“/);
      assert.match(await line.textContent(), /Nordlicht · size 42 · NL-FOHN-42/);
      assert.match(await line.textContent(), /Fill to target: target 8, 0 on hand, 1 on order/);
      assert.equal((await line.locator("td[data-label=Quantity] .qty-value").textContent()).trim(), "7");
      // Units 27; cost (5 + 7 + 3)×52 + (3 + 2 + 7)×35.5 = 1,206.00; retail 15×129.9 + 12×89 = 3,016.50.
      const stat = async (name) => (await page.locator(".stat-cards > div").filter({ hasText: name }).locator("dd").textContent()).trim();
      assert.equal(await stat("Units"), "27");
      assert.equal(await stat("Cost value"), "1,206.00");
      assert.equal(await stat("Retail value"), "3,016.50");
      const shops = page.locator(".plan-shops figure[data-chart=bars] g[data-row]");
      assert.equal(await shops.count(), 3, "a bar per shop");
      assert.equal(await page.locator(`.plan-shops g[data-row="${id("zh")}"]`).getAttribute("data-value"), "15");
      await page.screenshot({ path: `${SHOTS}/plans-plan-desktop.png`, fullPage: true });

      // Approve: runs no longer add to it; the planner may still edit.
      await page.getByRole("button", { name: "Approve", exact: true }).click();
      await page.getByText("Plan approved.").waitFor();
      await page.getByText("Approved: runs no longer add lines").waitFor();
      await page.locator("h1 [data-status=approved]").waitFor();
      await page.getByRole("button", { name: "Reopen" }).waitFor();
      assert.equal((await apiGet(product.base, `/plans/${planId}?items_limit=1`)).body.status, "approved");

      // Set a quantity from the keyboard: focus Edit, Enter, type, Enter.
      const edit = line.getByRole("button", { name: "Edit the quantity of Läufer „Föhn“ size 42 at Zürich Hauptbahnhof" });
      await edit.focus();
      await page.keyboard.press("Enter");
      const input = line.getByRole("spinbutton", { name: "Quantity of Läufer „Föhn“ size 42 at Zürich Hauptbahnhof" });
      await input.waitFor();
      assert.equal(await input.evaluate((el) => el === document.activeElement), true, "the editor takes focus");
      await page.screenshot({ path: `${SHOTS}/plans-edit-desktop.png` });
      await page.keyboard.type("-2");
      await page.keyboard.press("Enter");
      await line.getByText("Type a whole number of units, 0 or more.").waitFor();
      await input.fill("");
      await page.keyboard.type("4");
      await page.keyboard.press("Enter");
      await line.locator(".badge", { hasText: "edited" }).waitFor();
      assert.equal((await line.locator(".qty-value").textContent()).trim(), "4");
      await waitUntil("the totals to follow the edit", async () => (await stat("Units")) === "24", { timeoutMs: 10_000 });
      const after = await apiGet(product.base, `/plans/${planId}?items_limit=1`);
      assert.equal(after.body.total_quantity, 24);

      // Export: the download is the plan's lines as CSV, with the edit and the names intact.
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
      assert.equal(download.suggestedFilename(), `plan-${PLAN}.csv`);
      const bytes = await readFile(await download.path());
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], "a UTF-8 byte-order mark for Excel");
      const rows = bytes.subarray(3).toString("utf8").trimEnd().split("\r\n");
      assert.equal(rows.length, 7, "the header and six lines");
      assert.match(rows[0], /^Product,Brand,Size,SKU,Shop,From shop,On hand,On order,Target,From shop on hand,Quantity,Unit cost,Unit price,Cost value,Retail value,/);
      const edited = rows.find((r) => r.includes("NL-FOHN-42,Zürich Hauptbahnhof"));
      assert.match(edited, /^Läufer „Föhn“,Nordlicht,42,NL-FOHN-42,Zürich Hauptbahnhof,,0,1,8,,4,52\.00,129\.90,208\.00,519\.60,/);
      assert.ok(rows.some((r) => r.startsWith("Trail Ørsted 東京,Nordlicht,41,NL-TRAIL-41,Online-Shop,,3,0,10,,7,")));

      // A filter narrows the lines and the export says so.
      await page.getByRole("combobox", { name: "Shop" }).selectOption(id("muc"));
      await waitUntil("the lines of one shop", async () => (await table.locator("tbody tr").count()) === 2, { timeoutMs: 10_000 });
      await page.getByRole("button", { name: "Export these lines (CSV)" }).waitFor();
      await page.getByRole("button", { name: "Clear filters" }).click();
      await waitUntil("all lines again", async () => (await table.locator("tbody tr").count()) === 6, { timeoutMs: 10_000 });
      await page.screenshot({ path: `${SHOTS}/plans-approved-desktop.png`, fullPage: true });

      // On a phone the lines are cards, every field named.
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}/plans-plan-phone.png`, fullPage: true });
      await line.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/plans-line-phone.png` });
      await page.setViewportSize(DESKTOP);

      // Cancel asks first, in the page's own dialog; a cancelled plan offers no action and no editing.
      await page.getByRole("button", { name: "Cancel plan" }).click();
      const dialog = page.getByRole("dialog", { name: "Cancel plan?" });
      await dialog.waitFor();
      await page.screenshot({ path: `${SHOTS}/plans-cancel-desktop.png` });
      await dialog.getByRole("button", { name: "Keep it" }).click();
      await page.locator("h1 [data-status=approved]").waitFor();
      await page.getByRole("button", { name: "Close plan", exact: true }).click();
      await page.getByRole("dialog", { name: "Close plan?" }).getByRole("button", { name: "Close plan", exact: true }).click();
      await page.locator("h1 [data-status=closed]").waitFor();
      await page.getByText("Closed: this plan is done and can no longer change.").waitFor();
      assert.equal(await table.getByRole("button", { name: /^Edit the quantity/ }).count(), 0);
      assert.equal(await page.getByRole("button", { name: "Approve", exact: true }).count(), 0);

      // The list's empty state.
      await page.goto(`${product.base}/plans?status=cancelled`);
      await page.getByText("No plans match.").waitFor();
      await page.screenshot({ path: `${SHOTS}/plans-empty-desktop.png` });
      sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  for (const [label, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ]) {
    it(`draws completed and failed runs per hour, and a workflow's failure rate per step (${label})`, async () => {
      const { page, errors, context } = await openPage(browser, viewport);
      try {
        await signIn(page, product.base);
        await page.goto(`${product.base}/runs`);
        const chart = page.locator("figure[data-chart=time-bars]");
        await chart.locator("rect[data-series=completed]").first().waitFor();
        assert.ok((await chart.locator("rect[data-series=failed]").count()) >= 1, "a bar of failed runs");
        const now = chart.locator("g[data-bucket]").last();
        assert.ok(Number(await now.locator("rect[data-series=completed]").getAttribute("data-value")) >= 2);
        assert.ok(Number(await now.locator("rect[data-series=failed]").getAttribute("data-value")) >= 2);
        assert.equal(await chart.locator("g[data-bucket]").count(), 24);
        assert.match(await page.locator(".chart-summary").textContent(), /\d+ completed, \d+ failed/);
        await page.screenshot({ path: `${SHOTS}/runs-chart-${label}.png` });

        await page.getByRole("button", { name: "7 days" }).click();
        await waitUntil("a week of hours", async () => (await chart.locator("g[data-bucket]").count()) === 168, { timeoutMs: 10_000 });
        await chart.getByText("Show the numbers").click();
        await chart.locator("table tbody tr").first().waitFor();
        await page.screenshot({ path: `${SHOTS}/runs-chart-week-${label}.png` });

        // One workflow: its runs only, and how often each step failed.
        await page.getByRole("combobox", { name: "Workflow" }).selectOption(failingId);
        const steps = page.locator("figure[data-chart=bars]");
        await steps.locator('g[data-row="items"]').waitFor();
        assert.equal(await steps.locator('g[data-row="items"]').getAttribute("data-value"), "1");
        assert.equal(await steps.locator('g[data-row="check"]').getAttribute("data-value"), "0");
        assert.match(await steps.textContent(), /100 % \(2 of 2\)/);
        await page.screenshot({ path: `${SHOTS}/runs-chart-steps-${label}.png`, fullPage: label === "phone" });
        sawNoConsoleErrors(errors);
      } finally {
        await context.close();
      }
    });
  }
});
