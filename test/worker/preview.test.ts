import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { snapshotCounters } from "../../worker/lib/metrics";
import { api, json, uid } from "../support/api";
import { linesOf, mirror, planStep, world } from "../support/plan-fixtures";

/*
 * POST /api/workflows/{id}/preview (SPEC §13): a workflow run on real mirrored data with no effect
 * outside — every table holds the same rows afterwards, every Durable Object the same storage, and
 * no object was written to.
 */

async function createWorkflow(def: Record<string, unknown>): Promise<string> {
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

const preview = (id: string, body: unknown) => api(`/api/workflows/${id}/preview`, { method: "POST", json: body });

/**
 * Every table of the database, each as its row count and a digest of its rows (sorted, so the
 * order rows come in does not matter): a preview must leave both as they were — no row added,
 * removed or changed.
 */
async function database(): Promise<Record<string, string>> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'").all<{ name: string }>();
  const out: Record<string, string> = {};
  for (const { name } of tables.results) {
    const rows = (await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results.map((r) => JSON.stringify(r)).sort();
    const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rows.join("\n")));
    out[name] = `${rows.length} ${[...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  return out;
}

const digest = async (rows: string[]) => {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(rows.join("\n")));
  return `${rows.length} ${[...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
};

// By class: a service binding answers `in` for any name.
const isNamespace = (v: unknown): v is DurableObjectNamespace => typeof v === "object" && v !== null && v.constructor?.name === "DurableObjectNamespace";

/**
 * Every Durable Object that holds storage, in every namespace the Worker binds (runs, inboxes,
 * restocks, and any added later), each as a digest of its keys and values, its SQL tables' rows
 * and its alarm: a preview must create no object with storage and change none. A run it started
 * would be a new RUNS object; an event it queued, inbox rows.
 */
async function durableObjects(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [binding, namespace] of Object.entries(env)) {
    if (!isNamespace(namespace)) continue;
    for (const id of await listDurableObjectIds(namespace)) {
      out[`${binding} ${id.toString()}`] = await runInDurableObject(namespace.get(id), async (_o: unknown, state) => {
        const rows = [...(await state.storage.list())].map(([k, v]) => JSON.stringify([k, v]));
        const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").toArray();
        for (const { name } of tables) rows.push(...state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray().map((r) => `${name} ${JSON.stringify(r)}`));
        rows.push(`alarm ${await state.storage.getAlarm()}`);
        return digest(rows.sort());
      });
    }
  }
  return out;
}

/**
 * The isolate's counters of writes and calls (worker/lib/metrics.ts): D1 rows written, run and
 * inbox storage rows written, run starts, alarms, queue messages sent. The run objects, the
 * inboxes and the restocks count here as they write, so a write later undone still shows.
 */
function writeCounters(): Record<string, number> {
  // A counter at 0 (a read's statement adds d1_rows_written 0) is no write.
  return Object.fromEntries(Object.entries(snapshotCounters()).filter(([name, n]) => n > 0 && /written|sent|start|created|alarm|rpc|conversions|superseded/.test(name)));
}

/** What a preview must leave as it was: D1, Durable Object storage, and the write counters. */
async function effects() {
  return { d1: await database(), durable_objects: await durableObjects(), counters: writeCounters() };
}

interface Step {
  node_id: string;
  type: string;
  status: string;
  input: any;
  preview: any;
  error: string | null;
}

const stepOf = (body: { steps: Step[] }, id: string) => body.steps.find((s) => s.node_id === id)!;

describe("a preview on a mirrored inventory item", () => {
  it("takes the branch, renders the email, redacts the webhook, reports the wait and values the plan lines, writing nothing", async () => {
    const w = await world();
    const id = await createWorkflow({
      name: `Preview ${w.p}`,
      trigger: { entity: "inventory_item", events: ["updated"], conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } },
      start: "low",
      nodes: [
        { id: "low", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: "{{trigger.data.target}}" }] }, then: "mail", else: "never" },
        {
          id: "mail",
          type: "send_email",
          config: {
            to: ["buyer@example.com"],
            subject: "{{trigger.related.product.name}} size {{trigger.related.product_variant.size}} is low",
            format: "markdown",
            body: "**{{trigger.related.product.name}}** has {{trigger.data.on_hand}} left",
          },
          next: "hook",
        },
        {
          id: "hook",
          type: "call_webhook",
          config: { url: "https://erp.example.com/restock", query: { item: "{{trigger.entity_id}}" }, body: { on_hand: "{{trigger.data.on_hand}}" }, auth: { type: "bearer", credential: "DEMO_ERP" } },
          next: "later",
        },
        { id: "later", type: "wait", config: { duration: { days: 3 } }, next: "plan" },
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: `Restock ${w.p} {{today}}` }, next: "items" },
        {
          id: "items",
          type: "add_items_to_plan",
          config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "product", from_trigger: true }, quantity: { strategy: "fill_to_target" } },
          next: "after",
        },
        { id: "after", type: "send_email", config: { to: ["buyer@example.com"], subject: "Added {{steps.items.output.added}} lines on {{today}}", body: "." } },
        { id: "never", type: "send_email", config: { to: ["buyer@example.com"], subject: "not low", body: "." } },
      ],
    });
    const before = await effects();
    const started = Date.now();

    const res = await preview(id, { entity: "inventory_item", entity_id: w.id("V1a_S1") });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);

    expect(body.trigger).toEqual({ matches: true, reasons: ["entity inventory_item", "event updated", "on_hand 1 < 5"] });
    expect(body.steps.map((s: Step) => `${s.node_id} ${s.status}`)).toEqual([
      "low would_run",
      "mail would_run",
      "hook would_run",
      "later would_run",
      "plan would_run",
      "items would_run",
      "after would_run",
      "never skipped",
    ]);
    expect(stepOf(body, "low").preview).toEqual({ result: true, branch: "then" });

    const mail = stepOf(body, "mail").preview;
    expect(mail).toMatchObject({ from: "workflows@example.com", to: ["buyer@example.com"], subject: "Runner size 42 is low" });
    expect(mail.html).toContain("<strong>Runner</strong> has 1 left");
    expect(mail.text).toContain("Runner has 1 left");

    const hook = stepOf(body, "hook").preview;
    expect(hook).toEqual({
      method: "POST",
      url: `https://erp.example.com/restock?item=${encodeURIComponent(w.id("V1a_S1"))}`,
      headers: { "content-type": "application/json", "idempotency-key": "(the step's idempotency key)", authorization: "Bearer [redacted]" },
      body: JSON.stringify({ on_hand: 1 }),
    });

    const wait = stepOf(body, "later").preview;
    expect(wait.text).toMatch(/^would wait 3 days, until \d{4}-\d{2}-\d{2}$/);
    expect(Date.parse(wait.until) - started).toBeGreaterThanOrEqual(3 * 86_400_000 - 5_000);

    // No open plan of that name: it would be created, and the lines go to it.
    const plan = stepOf(body, "plan").preview;
    expect(plan).toMatchObject({ plan: "create", created: true, kind: "restock" });
    expect(plan.plan_id).toMatch(/^PREVIEW-plan:/);
    const items = stepOf(body, "items").preview;
    expect(items.plan).toBe("create");
    expect(items.plan_id).toBe(plan.plan_id);
    // P1's items short of target: V1a_S1 5 units, V1b_S1 4, V1b_S2 1 (V1a at 100/50, V1b at 120/50).
    expect(items.lines.map((l: any) => `${w.short(l.inventory_item_id)} ${l.quantity} ${l.cost_value} ${l.retail_value}`)).toEqual([
      "V1a_S1 5 250 500",
      "V1b_S1 4 200 480",
      "V1b_S2 1 50 120",
    ]);
    expect(items.totals).toEqual({ lines: 3, units: 10, cost_value: 500, retail_value: 1100, margin: 600 });
    expect(items.shops).toEqual([
      { shop_id: w.id("S1"), lines: 2, units: 9, cost_value: 450, retail_value: 980, margin: 530 },
      { shop_id: w.id("S2"), lines: 1, units: 1, cost_value: 50, retail_value: 120, margin: 70 },
    ]);
    // A later step reads the previewed outputs, on the day after the wait.
    expect(stepOf(body, "after").preview.subject).toBe(`Added 3 lines on ${wait.until.slice(0, 10)}`);
    expect(body.impact).toEqual({ emails: 2, pushes: 0, webhooks: 1, discount_codes: 0, plan_lines: 3, units: 10, cost_value: 500, retail_value: 1100 });

    expect(await effects()).toEqual(before);
  });

  it("reuses the open plan of that name, and a failing step stops the walk", async () => {
    const w = await world();
    const name = `Reuse ${w.p}`;
    const id = await createWorkflow({
      name,
      trigger: { entity: "inventory_item", events: ["updated"] },
      start: "plan",
      nodes: [
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name }, next: "items" },
        { id: "items", type: "add_items_to_plan", config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "inventory_item", from_trigger: true }, quantity: { strategy: "fixed", quantity: 2 } }, next: "hook" },
        { id: "hook", type: "call_webhook", config: { url: "http://10.0.0.1/x" }, next: "mail" },
        { id: "mail", type: "send_email", config: { to: ["a@example.com"], subject: "s", body: "b" } },
      ],
    });
    // The open plan exists (a real run made it); the preview finds it, and adds nothing to it.
    const made = await planStep({ kind: "restock", name });
    expect(made.ok).toBe(true);
    const planId = (made as { output: { plan_id: string } }).output.plan_id;
    const body = await json(await preview(id, { event: { entity_id: w.id("V2a_S1") } }));
    expect(stepOf(body, "plan").preview).toMatchObject({ plan: "reuse", plan_id: planId, created: false });
    expect(stepOf(body, "items").preview).toMatchObject({ plan: "reuse", plan_id: planId, totals: { lines: 1, units: 2, cost_value: 140, retail_value: 160 } });
    expect(await linesOf(planId)).toEqual([]);
    expect(stepOf(body, "hook")).toMatchObject({ status: "would_fail", error: expect.stringContaining("10.0.0.1") });
    expect(stepOf(body, "mail").status).toBe("skipped");
    expect(body.impact.webhooks).toBe(0);
  });
});

describe("a preview on a mirrored subscription", () => {
  it("shows the status change, the tags before and after, the code it would create and the email with the related entities", async () => {
    const w = await world();
    const customer = w.id("C1");
    const sub = w.id("sub1");
    await mirror("customer", [{ id: customer, email: "ana@example.com", name: "Ana", tags: ["vip"] }]);
    await mirror("subscription", [{ id: sub, customer_id: customer, variant_id: w.id("V1b"), status: "pending", channel: "email", created_at: "2026-11-01T00:00:00Z" }]);
    const id = await createWorkflow({
      name: `Back ${w.p}`,
      trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1 } },
      start: "code",
      nodes: [
        { id: "code", type: "create_discount_code", config: { type: "percent", value: 10, expires: { type: "relative", days: 7 }, prefix: "BACK" }, next: "mail" },
        {
          id: "mail",
          type: "send_email",
          config: { to: ["{{trigger.related.customer.email}}"], subject: "{{trigger.related.product.name}} {{trigger.related.product_variant.size}} is back", body: "Use {{steps.code.output.code}}" },
          next: "status",
        },
        { id: "status", type: "update_subscription_status", config: { status: "delivered" }, next: "tags" },
        { id: "tags", type: "add_customer_tags", config: { tags: ["notified", "vip"] }, next: "done" },
        { id: "done", type: "update_subscription_status", config: { status: "completed" } },
      ],
    });
    const before = await effects();
    const res = await preview(id, { entity: "subscription", entity_id: sub });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    // A back-in-stock workflow sees the subscription as the event it runs on.
    expect(body.trigger).toEqual({ matches: true, reasons: ["entity subscription", "event back_in_stock"] });
    const code = stepOf(body, "code").preview;
    expect(code).toMatchObject({ type: "percent", value: 10, usage_limit: 1, customer_id: customer });
    expect(code.code).toMatch(/^PREVIEW-BACK/);
    expect(stepOf(body, "mail").preview).toMatchObject({ to: ["ana@example.com"], subject: "Runner 43 is back", text: expect.stringContaining(`Use ${code.code}`) });
    expect(stepOf(body, "status").preview).toEqual({ subscription_id: sub, from: "pending", to: "delivered", legal: true });
    expect(stepOf(body, "tags").preview).toEqual({ customer_id: customer, before: ["vip"], after: ["vip", "notified"] });
    // Judged on the mirror as it is (pending): pending → completed is not a legal change.
    expect(stepOf(body, "done")).toMatchObject({ status: "would_fail", preview: { from: "pending", to: "completed", legal: false } });
    expect(body.impact).toMatchObject({ emails: 1, discount_codes: 1 });
    expect(await effects()).toEqual(before);
  });
});

describe("a preview of a restock sized by the waitlist", () => {
  it("counts who waits for each item, in its shop or in any shop, less what is on order", async () => {
    const w = await world();
    const customer = w.id("Cw");
    await mirror("customer", [{ id: customer, email: "w@example.com" }]);
    const sub = (n: number, shop: string | null, status = "pending") => ({
      id: w.id(`ws${n}`),
      customer_id: customer,
      variant_id: w.id("V1b"),
      ...(shop ? { shop_id: w.id(shop) } : {}),
      status,
      channel: "email",
      created_at: "2026-11-01T00:00:00Z",
    });
    await mirror("subscription", [sub(1, "S1"), sub(2, "S1"), sub(3, null), sub(4, "S1", "delivered")]);
    const id = await createWorkflow({
      name: `Waitlist ${w.p}`,
      trigger: { entity: "product_variant", events: ["updated"] },
      start: "plan",
      nodes: [
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: `Waitlist ${w.p}` }, next: "items" },
        { id: "items", type: "add_items_to_plan", config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "product_variant", from_trigger: true }, quantity: { strategy: "waitlist" } } },
      ],
    });
    const body = await json(await preview(id, { entity: "product_variant", entity_id: w.id("V1b") }));
    const items = stepOf(body, "items");
    expect(items.status, JSON.stringify(items.error)).toBe("would_run");
    // S1: 2 there + 1 anywhere; S2: 1 anywhere − 1 on order; W: 1 anywhere. Priced 120, cost 50.
    expect(items.preview.lines.map((l: any) => `${w.short(l.inventory_item_id)} ${l.quantity}`)).toEqual(["V1b_S1 3", "V1b_W 1"]);
    expect(items.preview.totals).toEqual({ lines: 2, units: 4, cost_value: 200, retail_value: 480, margin: 280 });
  });
});

describe("a preview of what matches now", () => {
  it("previews a run for each mirrored entity that matches the trigger and sums the impact", async () => {
    const w = await world();
    const tag = w.tag("watch");
    const id = await createWorkflow({
      name: `Now ${w.p}`,
      trigger: { entity: "inventory_item", events: ["updated"], tags: { include: [tag] }, conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } },
      start: "mail",
      nodes: [{ id: "mail", type: "send_email", config: { to: ["buyer@example.com"], subject: "{{trigger.entity_id}} is low", body: "." } }],
    });
    await mirror(
      "inventory_item",
      [0, 2, 4, 9].map((on_hand, i) => ({ id: w.id(`watch_${i}`), variant_id: w.id("V1a"), shop_id: w.id("S1"), on_hand, on_order: 0, target: 5, tags: [tag] })),
    );
    const before = await effects();
    const body = await json(await preview(id, { matching_now: true, limit: 1000 }));
    expect(body).toMatchObject({ matching_now: true, examined: 4, runs: 3, failing: 0, truncated: false, impact: { emails: 3, webhooks: 0 } });
    const limited = await json(await preview(id, { matching_now: true, limit: 2 }));
    expect(limited).toMatchObject({ runs: 2, truncated: true, impact: { emails: 2 } });
    expect(await effects()).toEqual(before);
  });
});

describe("a preview of the back-in-stock notifications that would go now", () => {
  it("counts the pending subscriptions only: a notified one is not notified again", async () => {
    const w = await world();
    const tag = w.tag("bis");
    const customer = w.id("Cb");
    await mirror("customer", [{ id: customer, email: "b@example.com" }]);
    await mirror(
      "subscription",
      ["pending", "pending", "delivered"].map((status, i) => ({ id: w.id(`bis${i}`), customer_id: customer, variant_id: w.id("V1a"), status, channel: "email", created_at: "2026-11-01T00:00:00Z", tags: [tag] })),
    );
    const id = await createWorkflow({
      name: `Bis ${w.p}`,
      trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1 }, tags: { include: [tag] } },
      start: "mail",
      nodes: [{ id: "mail", type: "send_email", config: { to: ["{{trigger.related.customer.email}}"], subject: "{{trigger.related.product.name}} is back", body: "." } }],
    });
    const body = await json(await preview(id, { matching_now: true }));
    expect(body).toMatchObject({ examined: 3, runs: 2, failing: 0, truncated: false, impact: { emails: 2 } });
  });
});

describe("a preview over a large selection", () => {
  it("values a plan step over 10,000 candidates", async () => {
    const p = uid("big");
    await mirror("brand", [{ id: `${p}_B`, name: "Big" }]);
    await mirror("product", [{ id: `${p}_P`, brand_id: `${p}_B`, name: "Big tee", price: 30, cost: 10 }]);
    await mirror("product_variant", Array.from({ length: 100 }, (_, v) => ({ id: `${p}_V${String(v).padStart(3, "0")}`, product_id: `${p}_P`, size: `S${v}` })));
    await mirror("shop", Array.from({ length: 100 }, (_, s) => ({ id: `${p}_S${String(s).padStart(3, "0")}`, name: `Shop ${s}`, kind: "store" })));
    const items = [];
    for (let v = 0; v < 100; v++) {
      for (let s = 0; s < 100; s++) {
        items.push({ id: `${p}_I${v}_${s}`, variant_id: `${p}_V${String(v).padStart(3, "0")}`, shop_id: `${p}_S${String(s).padStart(3, "0")}`, on_hand: s % 4, on_order: 0, target: 3 });
      }
    }
    await mirror("inventory_item", items);
    const id = await createWorkflow({
      name: `Big ${p}`,
      trigger: { entity: "product", events: ["updated"] },
      start: "plan",
      nodes: [
        { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: `Big ${p}` }, next: "items" },
        { id: "items", type: "add_items_to_plan", config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "product", from_trigger: true }, quantity: { strategy: "fill_to_target" } } },
      ],
    });
    const started = Date.now();
    const body = await json(await preview(id, { entity: "product", entity_id: `${p}_P` }));
    const ms = Date.now() - started;
    console.log(`preview of add_items_to_plan over 10,000 candidates: ${ms} ms`);
    const step = stepOf(body, "items");
    expect(step.status, JSON.stringify(step.error)).toBe("would_run");
    // on_hand 0, 1, 2, 3 per four shops: 3 + 2 + 1 units on three of every four items.
    expect(step.preview).toMatchObject({ candidates: 10_000, totals: { lines: 7500, units: 15_000, cost_value: 150_000, retail_value: 450_000, margin: 300_000 } });
    expect(step.preview.lines).toHaveLength(50);
    expect(body.impact).toMatchObject({ plan_lines: 7500, units: 15_000 });
  });
});

describe("the preview in the API document", () => {
  it("is documented under /api/workflows/{id}/preview with its operation id", async () => {
    const doc = await json(await api("/api/openapi.json"));
    expect(doc.paths["/api/workflows/{id}/preview"]?.post?.operationId).toBe("previewWorkflow");
  });
});

describe("bad previews", () => {
  it("answers 400 for a body that is none of event, entity or matching_now, and 404 for what does not exist", async () => {
    const id = await createWorkflow({ name: "Bad", trigger: { entity: "product" }, start: "m", nodes: [{ id: "m", type: "send_email", config: { to: ["a@example.com"], subject: "s", body: "b" } }] });
    for (const bad of [{}, { entity: "planet", entity_id: "x" }, { matching_now: true, limit: 5000 }, { event: {} }, { event: { type: "product.exploded", entity_id: "x" } }, { entity: "product" }]) {
      const res = await preview(id, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((await json(res)).error).toBeDefined();
    }
    const bodyText = await api(`/api/workflows/${id}/preview`, { method: "POST", body: "{", headers: { "content-type": "application/json" } });
    expect(bodyText.status).toBe(400);
    expect((await preview(id, { entity: "product", entity_id: uid("missing") })).status).toBe(404);
    expect((await preview(id, { event: { type: "product.updated", entity_id: uid("missing") } })).status).toBe(404);
    expect((await preview(uid("wf"), { entity: "product", entity_id: "x" })).status).toBe(404);
    expect((await preview(id, { entity: "product", entity_id: "x", version: 99 })).status).toBe(404);
  });
});

describe("the check that a preview writes nothing", () => {
  it("sees what a test run writes: a new run object, its storage and the counters of its writes", async () => {
    const id = await createWorkflow({
      name: uid("Check"),
      trigger: { entity: "product", events: ["updated"] },
      start: "mail",
      nodes: [{ id: "mail", type: "send_email", config: { to: ["a@example.com"], subject: "s", body: "b" } }],
    });
    const before = await effects();
    const res = await api(`/api/workflows/${id}/test`, { method: "POST", json: { entity_id: uid("p"), data: { name: "x" } } });
    expect(res.status).toBe(202);
    const run = (await json<{ id: string }>(res)).id;
    await env.RUNS.get(env.RUNS.idFromString(run)).settled();
    const after = await effects();
    expect(Object.keys(after.durable_objects)).toContain(`RUNS ${run}`);
    expect(Object.keys(before.durable_objects)).not.toContain(`RUNS ${run}`);
    expect((after.counters.run_storage_rows_written ?? 0) - (before.counters.run_storage_rows_written ?? 0)).toBeGreaterThan(0);
    expect(after).not.toEqual(before);
  });
});
