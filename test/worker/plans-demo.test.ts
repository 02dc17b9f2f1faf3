import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseEvents } from "../../worker/intake/envelope";
import { validateDefinition } from "../../worker/contract/definition";
import type { RunRecord } from "../../worker/run/run-object";
// @ts-expect-error -- plain ES modules without type declarations (scripts run under Node)
import { demoData, demoWorkflows, fitsScenario, scenarioEvent, SCENARIOS } from "../../scripts/demo/data.mjs";
// @ts-expect-error -- as above
import { seedIfEmpty } from "../../scripts/demo/seed.mjs";
import { api, json, TOKEN } from "../support/api";

/*
 * The demo data set and its three example workflows, loaded through the public API into this
 * file's own (empty) database at a twentieth of its size, and each workflow run once on the
 * event scripts/demo/send-event.mjs would send.
 */

type Row = Record<string, any>;
const SCALE = 0.05;
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));

describe("the demo data set", () => {
  it("is deterministic and as large as the README says", () => {
    const a = demoData();
    expect(JSON.stringify(demoData())).toBe(JSON.stringify(a));
    const counts = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, (v as unknown[]).length]));
    expect(counts).toEqual({ shops: 24, brands: 5, products: 300, variants: 1790, items: 30_430, recommendations: 30_430, customers: 12, subscriptions: 20 });
    expect(new Set(a.shops.map((s: Row) => s.kind))).toEqual(new Set(["store", "warehouse", "online"]));
    expect(a.products.every((p: Row) => p.cost < p.price && p.category && p.supplier_id)).toBe(true);
    expect(new Set(a.items.map((i: Row) => i.id)).size).toBe(a.items.length);
  });

  it("has three example workflows that validate", () => {
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
    expect(first.workflows).toHaveLength(3);
    const again = await seedIfEmpty("http://localhost", TOKEN, { fetch: workerFetch, scale: SCALE, log: () => {} });
    expect(again).toEqual({ loaded: false });
    const workflows = await json(await api("/api/workflows?status=active"));
    expect(workflows.items).toHaveLength(3);

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
});
