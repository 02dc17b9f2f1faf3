// The events page and the workflows list in Chromium (issue 14): an event the consumer dead-letters
// (its entity refused by D1, a cause the operator can fix) is listed with its reason, replayed from
// the page once fixed, and its run starts; refused requests and stale events are listed with why;
// the workflows list searches by name, pauses and activates inline, and counts no test runs.
// Registered in run.mjs (`npm run test:e2e`).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { apiGet, EVENTS_SECRET, launchBrowser, openPage, sendEvent, signIn, startProduct, waitUntil, apiCall } from "./harness.mjs";

const SHOTS = "test/e2e/screenshots";
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const stamp = Date.now().toString(36);
const TAG = `e2e-events-${stamp}`;
const ITEM = `e2e-events-item-${stamp}`;
const DEAD_EVENT = `evt_dead_${stamp}`;

let product;
let browser;
let workflowId;

const sawNoConsoleErrors = (errors) => assert.deepEqual(errors, [], `the page logged errors:\n${errors.join("\n")}`);

const api = (method, path, body) => apiCall(product.base, method, path, body);

/**
 * SQL on the product's local D1, as an operator would run it with wrangler: here, to make the
 * mirror refuse one entity (a real D1 failure, which the consumer retries and then dead-letters).
 */
function d1(sql) {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const bin = join(root, "node_modules/.bin");
  const r = spawnSync(join(bin, "wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", product.persist, "--command", sql], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, PATH: [bin, process.env.PATH].join(delimiter), WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_REGISTRY_PATH: "", CI: "1" },
  });
  assert.equal(r.status, 0, `wrangler d1 execute failed:\n${r.stdout}\n${r.stderr}`);
}

const itemEvent = (id, occurredAt, onHand = 1) => ({
  id,
  type: "inventory_item.updated",
  entity_id: ITEM,
  occurred_at: occurredAt,
  data: { id: ITEM, variant_id: `e2e-var-${stamp}`, shop_id: `e2e-shop-${stamp}`, on_hand: onHand, on_order: 0, target: 5, tags: [TAG] },
});

describe("the events page and the workflows list in Chromium", { timeout: 900_000 }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    product = await startProduct();
    browser = await launchBrowser();
    const created = await api("POST", "/workflows", {
      name: `E2E events ${stamp}`,
      trigger: { entity: "inventory_item", tags: { include: [TAG] } },
      start: "check",
      nodes: [{ id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workflowId = created.body.id;
    assert.equal((await api("POST", `/workflows/${workflowId}/status`, { status: "active" })).status, 200);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await product?.stop();
  });

  it("lists a dead-lettered event with its reason, replays it once the cause is fixed, and its run starts", async () => {
    const { page, errors, context } = await openPage(browser, DESKTOP);
    try {
      await signIn(page, product.base);
      await page.getByRole("link", { name: "Events", exact: true }).click();
      await page.getByRole("heading", { name: "Events", level: 1 }).waitFor();
      await page.getByText("No dead letters: every event the intake accepted was processed.").waitFor();
      await page.screenshot({ path: `${SHOTS}/events-empty-desktop.png` });

      // The mirror refuses this entity: every try of the consumer fails, until it gives up.
      d1(`CREATE TRIGGER refuse_e2e_${stamp.replace(/\W/g, "")} BEFORE INSERT ON inventory_items WHEN NEW.id = '${ITEM}' BEGIN SELECT RAISE(ABORT, 'refused by the e2e trigger'); END`);
      const sent = await sendEvent(product.base, itemEvent(DEAD_EVENT, new Date().toISOString()));
      assert.equal(sent.status, 202, sent.body);
      await waitUntil(
        "the consumer to dead-letter the event (five tries, backing off)",
        async () => (await apiGet(product.base, "/events/dead?limit=50")).body.items.some((d) => d.event_id === DEAD_EVENT),
        { timeoutMs: 240_000, intervalMs: 2000 },
      );

      await page.getByRole("button", { name: "Refresh" }).click();
      const card = page.locator(`.event-card[data-kind=dead][data-event-id="${DEAD_EVENT}"]`);
      await card.getByText(/refused by the e2e trigger/).waitFor();
      await card.getByRole("heading", { name: new RegExp(`inventory_item\\.updated ${ITEM}`) }).waitFor();
      await card.getByText(/dead after \d+ attempts/).waitFor();
      await page.screenshot({ path: `${SHOTS}/events-dead-desktop.png` });
      const phone = await openPage(browser, PHONE);
      try {
        await signIn(phone.page, product.base);
        await phone.page.goto(`${product.base}/events`);
        await phone.page.locator(`.event-card[data-event-id="${DEAD_EVENT}"]`).waitFor();
        const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `the events page is ${width} px wide on a phone`);
        await phone.page.screenshot({ path: `${SHOTS}/events-dead-phone.png`, fullPage: true });
        sawNoConsoleErrors(phone.errors);
      } finally {
        await phone.context.close();
      }

      // Fixed, then replayed from the page, after an in-app confirmation.
      d1(`DROP TRIGGER refuse_e2e_${stamp.replace(/\W/g, "")}`);
      await card.getByRole("button", { name: `Replay ${DEAD_EVENT}` }).click();
      const dialog = page.getByRole("dialog", { name: "Replay this event?" });
      await dialog.getByText(DEAD_EVENT).waitFor();
      await page.screenshot({ path: `${SHOTS}/events-replay-confirm-desktop.png` });
      await dialog.getByRole("button", { name: "Replay", exact: true }).click();
      await page.getByText(`Replayed ${DEAD_EVENT}: it is queued again`).waitFor();
      await card.waitFor({ state: "detached" });
      await page.getByText("No dead letters: every event the intake accepted was processed.").waitFor();
      await page.screenshot({ path: `${SHOTS}/events-replayed-desktop.png` });

      const run = await waitUntil(
        "the replayed event's run",
        async () => (await apiGet(product.base, `/runs?workflow_id=${encodeURIComponent(workflowId)}`)).body.items.find((r) => r.event_id === DEAD_EVENT && r.status === "completed"),
        { timeoutMs: 60_000 },
      );
      assert.equal(run.test, false);
      // A second replay is refused: the dead letter is gone.
      const again = await api("POST", `/events/dead/${encodeURIComponent(DEAD_EVENT)}/replay`);
      assert.equal(again.status, 409);
      sawNoConsoleErrors(errors);
    } finally {
      await context.close();
    }
  });

  it("lists refused requests and stale events with why, and offers no replay for them", async () => {
    // Signed but not valid; then signed with another secret.
    const bad = await sendEvent(product.base, { ...itemEvent(`evt_bad_${stamp}`, new Date().toISOString()), type: "planet.updated" });
    assert.equal(bad.status, 400, bad.body);
    const body = JSON.stringify(itemEvent(`evt_forged_${stamp}`, new Date().toISOString()));
    const forgedId = `msg_forged_${stamp}`;
    const forged = await fetch(`${product.base}/api/events`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": forgedId,
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": new Webhook(`whsec_${btoa("someone-else-entirely-000000000")}`).sign(forgedId, new Date(), body),
      },
    });
    assert.equal(forged.status, 401);
    assert.notEqual(EVENTS_SECRET, `whsec_${btoa("someone-else-entirely-000000000")}`);

    // A newer snapshot, then an older event for the same entity: stale.
    const now = Date.now();
    assert.equal((await sendEvent(product.base, itemEvent(`evt_newer_${stamp}`, new Date(now).toISOString(), 3))).status, 202);
    await waitUntil("the newer event's run", async () => (await apiGet(product.base, `/runs?workflow_id=${encodeURIComponent(workflowId)}`)).body.items.some((r) => r.event_id === `evt_newer_${stamp}`), { timeoutMs: 60_000 });
    assert.equal((await sendEvent(product.base, itemEvent(`evt_older_${stamp}`, new Date(now - 60_000).toISOString(), 2))).status, 202);
    await waitUntil("the older event to be recorded as stale", async () => (await apiGet(product.base, "/events/stale")).body.items.some((s) => s.event_id === `evt_older_${stamp}`), { timeoutMs: 60_000 });

    for (const viewport of [DESKTOP, PHONE]) {
      const label = viewport === DESKTOP ? "desktop" : "phone";
      const { page, errors, context } = await openPage(browser, viewport);
      try {
        await signIn(page, product.base);
        await page.goto(`${product.base}/events`);
        await page.getByRole("button", { name: "Refused", exact: true }).click();
        assert.match(page.url(), /[?&]show=refused/);
        const invalid = page.locator(".event-card[data-kind=refused]").filter({ hasText: `evt_bad_${stamp}` });
        await invalid.getByRole("heading", { name: "400 validation failed" }).waitFor();
        await invalid.getByText("Some events are not valid; none were recorded").waitFor();
        await invalid.getByText("signed", { exact: true }).waitFor();
        const unsigned = page.locator(".event-card[data-kind=refused]").filter({ hasText: forgedId });
        await unsigned.getByRole("heading", { name: "401 unauthorized" }).waitFor();
        await unsigned.getByText(/nothing it sent is kept/).waitFor();
        assert.equal(await unsigned.getByText(`evt_forged_${stamp}`).count(), 0, "an unsigned body is not kept");
        assert.equal(await page.locator(".event-card[data-kind=refused]").getByRole("button", { name: /^Replay/ }).count(), 0);
        await page.screenshot({ path: `${SHOTS}/events-refused-${label}.png`, fullPage: label === "phone" });

        await page.getByRole("button", { name: "Stale", exact: true }).click();
        const stale = page.locator(`.event-card[data-kind=stale][data-event-id="evt_older_${stamp}"]`);
        await stale.getByText(`evt_newer_${stamp}`).waitFor();
        await stale.getByText(/1 workflow it matched started no run/).waitFor();
        await stale.getByRole("link", { name: workflowId }).waitFor();
        assert.equal(await stale.getByRole("button", { name: /^Replay/ }).count(), 0);
        await page.screenshot({ path: `${SHOTS}/events-stale-${label}.png`, fullPage: label === "phone" });
        sawNoConsoleErrors(errors);
      } finally {
        await context.close();
      }
    }
  });

  it("searches workflows by name, pauses and activates one inline, and counts no test runs", async () => {
    const other = await api("POST", "/workflows", {
      name: `E2E other ${stamp}`,
      trigger: { entity: "product" },
      start: "check",
      nodes: [{ id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.price}}", op: "gt", right: 0 }] } }],
    });
    assert.equal(other.status, 201);
    // A test run of the events workflow: not among its live runs of the last 24 hours.
    const test = await api("POST", `/workflows/${workflowId}/test`, { entity_id: `e2e-test-${stamp}`, data: { variant_id: "v", shop_id: "s", on_hand: 1, on_order: 0, target: 5, tags: [TAG] } });
    assert.equal(test.status, 202, JSON.stringify(test.body));
    const live = (await apiGet(product.base, `/runs?workflow_id=${encodeURIComponent(workflowId)}&test=false`)).body.items.length;

    for (const viewport of [DESKTOP, PHONE]) {
      const label = viewport === DESKTOP ? "desktop" : "phone";
      const { page, errors, context } = await openPage(browser, viewport);
      try {
        await signIn(page, product.base);
        await page.getByRole("searchbox", { name: "Name" }).fill(stamp);
        await waitUntil("the search in the address", async () => new URL(page.url()).searchParams.get("q") === stamp);
        const rows = page.locator("tbody tr");
        await waitUntil("only this test's workflows", async () => (await rows.count()) === 2);
        const row = page.locator(`tr[data-workflow-id="${workflowId}"]`);
        assert.equal((await row.locator("td.num").textContent()).trim(), String(live), "the 24-hour count is the live runs'");

        // "Runs, 24 h" stays on one line: its text makes one line box.
        const lines = await page.getByRole("columnheader", { name: "Runs, 24 h" }).evaluate((th) => {
          const range = document.createRange();
          range.selectNodeContents(th);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        });
        assert.equal(lines, 1, "the Runs, 24 h header does not wrap");

        if (viewport === DESKTOP) {
          await row.getByRole("button", { name: `Pause E2E events ${stamp}` }).click();
          await page.getByText(`Paused “E2E events ${stamp}”`).waitFor();
          await row.locator("[data-status=paused]").waitFor();
          await row.getByRole("button", { name: `Activate E2E events ${stamp}` }).click();
          await page.getByText(`Activated “E2E events ${stamp}”: matching events now start runs.`).waitFor();
          await row.locator("[data-status=active]").waitFor();
          assert.equal((await apiGet(product.base, `/workflows/${encodeURIComponent(workflowId)}`)).body.status, "active");

          const draft = page.locator(`tr[data-workflow-id="${other.body.id}"]`);
          await draft.getByRole("button", { name: `Activate E2E other ${stamp}` }).waitFor();
          await page.getByRole("searchbox", { name: "Name" }).fill(`${stamp} nothing like it`);
          await page.getByText(`No workflows named like “${stamp} nothing like it”.`).waitFor();
          await page.getByRole("button", { name: "Clear the search" }).click();
          await waitUntil("the search to be cleared", async () => !new URL(page.url()).searchParams.has("q"));
          await page.getByRole("searchbox", { name: "Name" }).fill(stamp);
          await waitUntil("only this test's workflows again", async () => (await rows.count()) === 2);
        }
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= viewport.width, `the list is ${width} px wide on a ${viewport.width} px screen: the table scrolls, not the page`);
        await page.screenshot({ path: `${SHOTS}/workflows-list-${label}.png`, fullPage: label === "phone" });
        sawNoConsoleErrors(errors);
      } finally {
        await context.close();
      }
    }
  });
});
