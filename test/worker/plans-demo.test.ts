import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseEvents } from "../../worker/intake/envelope";
import { validateDefinition } from "../../worker/contract/definition";
import type { RunRecord } from "../../worker/run/run-object";
// @ts-expect-error -- plain ES modules without type declarations (scripts run under Node)
import { backInStockSubject, BACK_IN_STOCK, demoData, demoWorkflows, fitsScenario, FEATURED_WAITLIST, scenarioEvent, SCENARIOS, stockEvent } from "../../scripts/demo/data.mjs";
// @ts-expect-error -- as above
import { seedIfEmpty } from "../../scripts/demo/seed.mjs";
import { api, json, TOKEN } from "../support/api";

/*
 * The demo data set and its six example workflows, loaded through the public API into this
 * file's own (empty) database at a twentieth of its size, and each planning workflow run once on
 * the event scripts/demo/send-event.mjs would send; the back-in-stock ones run on real
 * subscriptions of the mirror.
 */

type Row = Record<string, any>;
const SCALE = 0.05;
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));

describe("the demo data set", () => {
  it("is deterministic and as large as the README says", () => {
    const a = demoData();
    expect(JSON.stringify(demoData())).toBe(JSON.stringify(a));
    const counts = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, (v as unknown[]).length]));
    expect(counts).toEqual({ shops: 24, brands: 5, products: 300, variants: 1790, items: 30_430, recommendations: 30_430, customers: 320, subscriptions: 583, orders: 251 });
    expect(new Set(a.shops.map((s: Row) => s.kind))).toEqual(new Set(["store", "warehouse", "online"]));
    expect(a.products.every((p: Row) => p.cost < p.price && p.category && p.supplier_id)).toBe(true);
    expect(new Set(a.items.map((i: Row) => i.id)).size).toBe(a.items.length);
  });

  it("has waitlists: customers (non-ASCII names, some with browsers) waiting for sizes sold out in every shop", () => {
    const a = demoData();
    const customers = new Map<string, Row>(a.customers.map((c: Row) => [c.id, c]));
    expect(a.customers.some((c: Row) => /[^\x00-\x7f]/.test(c.name))).toBe(true);
    expect(new Set(a.customers.map((c: Row) => c.email)).size).toBe(a.customers.length);
    const withPush = a.customers.filter((c: Row) => c.push_subscriptions.length > 0);
    expect(withPush.length).toBeGreaterThan(50);
    expect(a.customers.filter((c: Row) => c.tags.includes("vip")).length).toBeGreaterThan(10);
    const pending = a.subscriptions.filter((s: Row) => s.status === "pending");
    expect(pending.length).toBeGreaterThan(300);
    const waitedFor = new Set(pending.map((s: Row) => s.variant_id));
    // Sold out: no unit of a waited-for size in any shop.
    expect(a.items.filter((i: Row) => waitedFor.has(i.variant_id)).every((i: Row) => i.on_hand === 0)).toBe(true);
    expect(a.subscriptions.every((s: Row) => customers.has(s.customer_id))).toBe(true);
    // Push only to customers who have a browser to push to.
    expect(a.subscriptions.filter((s: Row) => s.channel === "push").every((s: Row) => customers.get(s.customer_id)!.push_subscriptions.length > 0)).toBe(true);
    expect(new Set(a.subscriptions.map((s: Row) => s.status))).toEqual(new Set(["pending", "delivered", "engaged", "converted", "completed", "cancelled"]));
    // Orders add up, and every converted subscription has the order that converted it.
    for (const o of a.orders) expect(o.total).toBeCloseTo(o.lines.reduce((t: number, l: Row) => t + l.quantity * l.price, 0), 2);
    for (const s of a.subscriptions.filter((x: Row) => x.status === "converted")) {
      expect(a.orders.some((o: Row) => o.customer_id === s.customer_id && o.created_at > s.notified_at && o.lines.some((l: Row) => l.variant_id === s.variant_id))).toBe(true);
    }
    expect(backInStockSubject(a.subscriptions)).toMatchObject({ waiting: FEATURED_WAITLIST, item_id: expect.stringMatching(/_online_eu$/) });
  });

  it("has six example workflows that validate", () => {
    expect(demoWorkflows()).toHaveLength(6);
    for (const def of demoWorkflows()) {
      const result = validateDefinition(def);
      expect(result.ok, `${def.name}: ${JSON.stringify(!result.ok && result.issues)}`).toBe(true);
    }
  });

  it("loads once through the API into an empty database, and runs each example workflow", async () => {
    const logs: string[] = [];
    const first = await seedIfEmpty("http://localhost", TOKEN, { fetch: workerFetch, scale: SCALE, log: (m: string) => logs.push(m) });
    const data = demoData({ scale: SCALE });
    expect(first.loaded).toBe(true);
    expect(first.counts).toMatchObject({ shop: 24, brand: 5, product: data.products.length, inventory_item: data.items.length, recommendation: data.items.length });
    expect(logs[0]).toContain("demo: loaded 24 shops");
    expect(first.workflows).toHaveLength(6);
    expect(first.counts).toMatchObject({ customer: data.customers.length, subscription: data.subscriptions.length, order: data.orders.length });
    const again = await seedIfEmpty("http://localhost", TOKEN, { fetch: workerFetch, scale: SCALE, log: () => {} });
    expect(again).toEqual({ loaded: false });
    const workflows = await json(await api("/api/workflows?status=active"));
    expect(workflows.items).toHaveLength(6);

    for (const scenario of Object.keys(SCENARIOS) as ("restock" | "rebalance" | "markdown")[]) {
      const { entity, workflow } = SCENARIOS[scenario];
      const source = entity === "product" ? data.products : data.items;
      const subject = source.find((e: Row) => fitsScenario(scenario, e) && (scenario !== "restock" || e.tags.includes("sneakers")));
      const event = scenarioEvent(scenario, subject, new Date());
      expect(parseEvents(event).ok, scenario).toBe(true);
      // What the queue consumer does first: mirror the event's snapshot.
      await api(`/api/entities/${entity}`, { method: "PUT", json: [event.data] });
      const wf = workflows.items.find((w: Row) => w.name === workflow);
      const res = await api(`/api/workflows/${wf.id}/test`, { method: "POST", json: event });
      expect(res.status).toBe(202);
      const { id } = await json(res);
      const run: RunRecord = JSON.parse((await env.RUNS.get(env.RUNS.idFromString(id)).settled())!);
      expect(run.status, `${scenario}: ${run.error}`).toBe("completed");
      const items = run.steps.find((s) => s.type === "add_items_to_plan")!;
      const plan = await json(await api(`/api/plans/${(items.output as Row).plan_id}`));
      if (scenario === "restock") {
        // Sizes of the product in the trigger's shop with on_hand < 3, filled to target.
        const variants = new Set(data.variants.filter((v: Row) => v.product_id === subject.variant_id.replace(/^var_(\d+)_.*$/, "prod_$1")).map((v: Row) => v.id));
        const low = data.items
          .map((i: Row) => (i.id === subject.id ? { ...i, on_hand: 1 } : i))
          .filter((i: Row) => variants.has(i.variant_id) && i.shop_id === subject.shop_id && i.on_hand < 3);
        const wanted = low.map((i: Row) => Math.max(0, i.target - i.on_hand - i.on_order)).filter((q: number) => q > 0);
        expect(items.output).toMatchObject({ candidates: low.length, added: wanted.length, total_quantity: wanted.reduce((a: number, b: number) => a + b, 0) });
        expect(plan.kind).toBe("restock");
        // A test run's lines are test data (SPEC §13).
        expect(plan.items.length).toBeGreaterThan(0);
        expect(plan.items.every((l: Row) => l.test === true)).toBe(true);
      }
      if (scenario === "rebalance") {
        expect(run.steps.find((s) => s.node_id === "wanted")?.status).toBe("succeeded");
        expect(plan.items.every((l: Row) => l.from_shop_id && l.to_shop_id && l.strategy === "matching:score")).toBe(true);
        expect(plan.items.some((l: Row) => l.to_shop_id === subject.shop_id)).toBe(true);
      }
      if (scenario === "markdown") {
        expect(plan.name).toBe(`Markdown ${subject.name}`);
        expect(plan.items.length).toBeGreaterThan(0);
        expect(plan.items.every((l: Row) => l.discount_percent >= 10 && l.discount_percent <= 50 && l.markdown_date)).toBe(true);
      }
    }
  });
  it("runs the back-in-stock examples on real subscriptions of the mirror", async () => {
    await seedIfEmpty("http://localhost", TOKEN, { fetch: workerFetch, scale: SCALE, log: () => {} });
    const data = demoData({ scale: SCALE });
    const workflows = (await json(await api("/api/workflows?status=active&limit=50"))).items as Row[];
    const idOf = (name: string) => workflows.find((w) => w.name === name)!.id;
    const testRun = async (workflow: string, subscription: Row): Promise<RunRecord> => {
      const res = await api(`/api/workflows/${idOf(workflow)}/test`, { method: "POST", json: { entity_id: subscription.id, type: "subscription.updated" } });
      expect(res.status, await res.clone().text()).toBe(202);
      const { id } = await json(res);
      return JSON.parse((await env.RUNS.get(env.RUNS.idFromString(id)).settled())!);
    };
    const customerOf = (s: Row) => data.customers.find((c: Row) => c.id === s.customer_id);
    const productOf = (s: Row) => {
      const variant = data.variants.find((v: Row) => v.id === s.variant_id);
      return { variant, product: data.products.find((p: Row) => p.id === variant.product_id) };
    };

    // The notification: by email for an email subscriber, with the product's name and size, then delivered.
    const waiting = data.subscriptions.find((s: Row) => s.status === "pending" && s.channel === "email");
    const run = await testRun(BACK_IN_STOCK.workflow, waiting);
    expect(run.status, run.error ?? "").toBe("completed");
    const email = run.steps.find((s) => s.node_id === "email")!;
    const { variant, product } = productOf(waiting);
    expect(email.status).toBe("succeeded");
    expect(email.input).toMatchObject({ to: [customerOf(waiting).email], subject: `${product.name}, size ${variant.size}, is back in stock`, track_links: true });
    expect(run.steps.find((s) => s.node_id === "push")?.status).toBe("skipped");
    expect(run.steps.find((s) => s.node_id === "delivered")?.output).toMatchObject({ subscription_id: waiting.id, from: "pending", to: "delivered" });

    // The team hears of a VIP's sign-up, and of no one else's.
    const vips = new Set(data.customers.filter((c: Row) => c.tags.includes("vip")).map((c: Row) => c.id));
    const vip = data.subscriptions.find((s: Row) => vips.has(s.customer_id) && s.id !== waiting.id);
    const told = await testRun("VIP waiting for a size", vip);
    expect(told.status, told.error ?? "").toBe("completed");
    expect(told.steps.find((s) => s.node_id === "tell_team")?.status).toBe("succeeded");
    expect(String((told.steps.find((s) => s.node_id === "tell_team")!.input as Row).subject)).toContain(customerOf(vip).name);
    const other = data.subscriptions.find((s: Row) => !vips.has(s.customer_id) && s.id !== waiting.id);
    const quiet = await testRun("VIP waiting for a size", other);
    expect(quiet.status).toBe("completed");
    expect(quiet.steps.find((s) => s.node_id === "tell_team")?.status).toBe("skipped");
  });
});
