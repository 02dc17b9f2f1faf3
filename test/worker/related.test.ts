import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import { consumeBatch } from "../../worker/intake/consumer";
import { api, json, uid } from "../support/api";
import { inboxMessage, runFor, type SentEvent } from "../support/events";
import { settled } from "../support/runs";

/*
 * Related entities (SPEC §11): `trigger.related.<kind>` holds the mirrored snapshots the trigger's
 * entity points to, read once when the run starts — in the consumer for an event's run, in the
 * test route for a test run — and kept in the run record. And checked variables in the API's
 * answers: warnings beside issues.
 */

const put = async (kind: string, rows: unknown[]) => {
  const res = await api(`/api/entities/${kind}`, { method: "PUT", json: rows });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
};

/** A brand, product, variant and shop, and a customer, all with fresh ids. */
async function catalog(over: { product?: Record<string, unknown> } = {}) {
  const ids = { brand: uid("brand"), product: uid("prod"), variant: uid("var"), shop: uid("shop"), customer: uid("cust") };
  await put("brand", [{ id: ids.brand, name: "Nordlicht" }]);
  await put("product", [{ id: ids.product, brand_id: ids.brand, name: "Trail Runner Ö", price: 120, cost: 50, ...over.product }]);
  await put("product_variant", [{ id: ids.variant, product_id: ids.product, size: "42" }]);
  await put("shop", [{ id: ids.shop, name: "Berlin Mitte", kind: "store" }]);
  await put("customer", [{ id: ids.customer, email: `${ids.customer}@example.com`, name: "Zoë Ünal" }]);
  return ids;
}

/** An active workflow on `entity` (tagged `tag`) whose one step is a condition that holds, so each run completes at once. */
async function activeOn(entity: string, tag: string, conditions?: unknown): Promise<string> {
  const def = {
    name: uid("wf"),
    trigger: { entity, tags: { include: [tag] }, ...(conditions ? { conditions } : {}) },
    start: "done",
    nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.entity_id}}", op: "exists" }] } }],
  };
  const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

const event = (type: string, data: Record<string, unknown>): SentEvent => ({
  id: `evt_${crypto.randomUUID()}`,
  type,
  entity_id: String(data.id),
  occurred_at: new Date().toISOString(),
  data,
});

/**
 * Records the D1 batches (round trips) made through it, each with the number of statements that
 * read related entities prepared since the one before; every call goes on to the real database.
 */
function countingDb(db: D1Database) {
  const batches: { statements: number; related: number }[] = [];
  let related = 0;
  const proxy = new Proxy(db, {
    get(target, key) {
      if (key === "prepare") {
        return (sql: string) => {
          if (sql.includes(" AS r0")) related += 1;
          return target.prepare(sql);
        };
      }
      if (key === "batch") {
        return (statements: D1PreparedStatement[]) => {
          batches.push({ statements: statements.length, related });
          related = 0;
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy, batches };
}

describe("trigger.related in a run started by an event", () => {
  it("holds an inventory item's variant, product, brand and shop, read once when the run starts", async () => {
    const ids = await catalog();
    const tag = uid("tag");
    const wf = await activeOn("inventory_item", tag);
    const e = event("inventory_item.updated", { id: uid("inv"), variant_id: ids.variant, shop_id: ids.shop, on_hand: 0, on_order: 0, target: 4, tags: [tag] });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(e, uid("m"), 1)]), env);
    const run = await runFor(wf, e.id);
    expect(run?.status).toBe("completed");
    expect(run!.trigger.related).toEqual({
      product_variant: expect.objectContaining({ id: ids.variant, product_id: ids.product, size: "42" }),
      product: expect.objectContaining({ id: ids.product, brand_id: ids.brand, name: "Trail Runner Ö" }),
      brand: expect.objectContaining({ id: ids.brand, name: "Nordlicht" }),
      shop: expect.objectContaining({ id: ids.shop, name: "Berlin Mitte" }),
    });
    // Kept in the run record: a later change of the product does not change the run's view.
    await put("product", [{ id: ids.product, brand_id: ids.brand, name: "Renamed", price: 1, cost: 1 }]);
    expect(((await json(await api(`/api/runs/${run!.id}`))).trigger.related.product.name)).toBe("Trail Runner Ö");
  });

  it("holds a subscription's customer, variant, product, brand and shop, and no shop when it names none", async () => {
    const ids = await catalog();
    const tag = uid("tag");
    const wf = await activeOn("subscription", tag);
    const sub = (shop?: string) => ({
      id: uid("sub"),
      customer_id: ids.customer,
      variant_id: ids.variant,
      ...(shop ? { shop_id: shop } : {}),
      status: "pending",
      channel: "email",
      created_at: "2026-11-20T09:00:00Z",
      tags: [tag],
    });
    const [inShop, anywhere] = [event("subscription.created", sub(ids.shop)), event("subscription.created", sub())];
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(inShop, uid("m"), 1), inboxMessage(anywhere, uid("m"), 2)]), env);
    const [a, b] = [await runFor(wf, inShop.id), await runFor(wf, anywhere.id)];
    expect(Object.keys(a!.trigger.related!).sort()).toEqual(["brand", "customer", "product", "product_variant", "shop"]);
    expect(a!.trigger.related).toMatchObject({ customer: { name: "Zoë Ünal" }, product: { name: "Trail Runner Ö" }, product_variant: { size: "42" }, shop: { name: "Berlin Mitte" } });
    expect(Object.keys(b!.trigger.related!).sort()).toEqual(["brand", "customer", "product", "product_variant"]);
  });

  it("holds an order's customer, and nothing for an entity that points to none", async () => {
    const ids = await catalog();
    const tag = uid("tag");
    const [orders, brands] = [await activeOn("order", tag), await activeOn("brand", tag)];
    const o = event("order.created", { id: uid("ord"), customer_id: ids.customer, lines: [{ variant_id: ids.variant, quantity: 1, price: 120 }], total: 120, created_at: new Date().toISOString(), tags: [tag] });
    const br = event("brand.updated", { id: uid("brand"), name: "Other", tags: [tag] });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(o, uid("m"), 1), inboxMessage(br, uid("m"), 2)]), env);
    expect((await runFor(orders, o.id))!.trigger.related).toEqual({ customer: expect.objectContaining({ id: ids.customer, email: `${ids.customer}@example.com` }) });
    expect((await runFor(brands, br.id))!.trigger.related).toEqual({});
  });

  it("leaves out an entity the mirror does not hold, one marked deleted and one over 64 KiB, but follows the chain through them", async () => {
    const big = await catalog({ product: { description: "x".repeat(70 * 1024) } });
    const tag = uid("tag");
    const wf = await activeOn("inventory_item", tag);
    const ghost = event("inventory_item.updated", { id: uid("inv"), variant_id: uid("var_missing"), shop_id: big.shop, on_hand: 0, on_order: 0, target: 4, tags: [tag] });
    const large = event("inventory_item.updated", { id: uid("inv"), variant_id: big.variant, shop_id: uid("shop_missing"), on_hand: 0, on_order: 0, target: 4, tags: [tag] });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(ghost, uid("m"), 1), inboxMessage(large, uid("m"), 2)]), env);
    expect(Object.keys((await runFor(wf, ghost.id))!.trigger.related!)).toEqual(["shop"]);
    expect(Object.keys((await runFor(wf, large.id))!.trigger.related!).sort()).toEqual(["brand", "product_variant"]);

    const gone = await catalog();
    const del = event("product_variant.deleted", { id: gone.variant });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(del, uid("m"), 3)]), env);
    const after = event("inventory_item.updated", { id: uid("inv"), variant_id: gone.variant, shop_id: gone.shop, on_hand: 0, on_order: 0, target: 4, tags: [tag] });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(after, uid("m"), 4)]), env);
    expect(Object.keys((await runFor(wf, after.id))!.trigger.related!).sort()).toEqual(["brand", "product", "shop"]);
  });

  it("lets a trigger condition use a related entity; a missing one makes the comparison false", async () => {
    const ids = await catalog();
    const tag = uid("tag");
    const wf = await activeOn("inventory_item", tag, { all: [{ left: "{{trigger.related.brand.name}}", op: "eq", right: "Nordlicht" }] });
    const item = (variant: string) => event("inventory_item.updated", { id: uid("inv"), variant_id: variant, shop_id: ids.shop, on_hand: 0, on_order: 0, target: 4, tags: [tag] });
    const [known, unknown] = [item(ids.variant), item(uid("var_missing"))];
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(known, uid("m"), 1), inboxMessage(unknown, uid("m"), 2)]), env);
    expect((await runFor(wf, known.id))?.status).toBe("completed");
    expect(await runFor(wf, unknown.id)).toBeNull();
  });

  it("reads the related entities of a whole batch in one D1 round trip, and none for events no workflow may run on", async () => {
    const ids = await catalog();
    const tag = uid("tag");
    await activeOn("inventory_item", tag);
    await activeOn("subscription", tag);
    await activeOn("order", tag);
    const events = [
      ...Array.from({ length: 8 }, () => event("inventory_item.updated", { id: uid("inv"), variant_id: ids.variant, shop_id: ids.shop, on_hand: 0, on_order: 0, target: 4, tags: [tag] })),
      ...Array.from({ length: 6 }, () =>
        event("subscription.created", { id: uid("sub"), customer_id: ids.customer, variant_id: ids.variant, status: "pending", channel: "push", created_at: "2026-11-20T09:00:00Z", tags: [tag] }),
      ),
      ...Array.from({ length: 6 }, () => event("order.created", { id: uid("ord"), customer_id: ids.customer, lines: [{ variant_id: ids.variant, quantity: 1, price: 1 }], total: 1, created_at: "2026-11-20T09:00:00Z", tags: [tag] })),
    ];
    const counted = countingDb(env.DB);
    const summary = await consumeBatch(createMessageBatch("workflow-events", events.map((e, i) => inboxMessage(e, uid("m"), i))), { ...env, DB: counted.db });
    expect(summary).toMatchObject({ messages: 20, created: 20, retried: 0 });
    // One statement per trigger kind, all in one batch.
    expect(counted.batches.filter((c) => c.related > 0)).toEqual([{ statements: 3, related: 3 }]);

    // No workflow listens to these tags: nothing related is read.
    const quiet = countingDb(env.DB);
    const untagged = event("inventory_item.updated", { id: uid("inv"), variant_id: ids.variant, shop_id: ids.shop, on_hand: 0, on_order: 0, target: 4, tags: [uid("nobody")] });
    await consumeBatch(createMessageBatch("workflow-events", [inboxMessage(untagged, uid("m"), 99)]), { ...env, DB: quiet.db });
    expect(quiet.batches.filter((c) => c.related > 0)).toEqual([]);
  });
});

describe("trigger.related in a test run and in templates", () => {
  it("reads the related entities of a test run from the mirror and interpolates them into an email", async () => {
    const ids = await catalog();
    const subId = uid("sub");
    await put("subscription", [{ id: subId, customer_id: ids.customer, variant_id: ids.variant, shop_id: ids.shop, status: "pending", channel: "email", created_at: "2026-11-20T09:00:00Z" }]);
    const def = {
      name: uid("bis"),
      trigger: { entity: "subscription", events: ["created"] },
      start: "mail",
      nodes: [
        {
          id: "mail",
          type: "send_email",
          config: {
            to: ["{{trigger.related.customer.email}}"],
            subject: "{{trigger.related.product.name}}, size {{trigger.related.product_variant.size}} is back",
            body: "Hello {{trigger.related.customer.name}}, it is back at {{trigger.related.shop.name}}.",
          },
        },
      ],
    };
    const created = await json(await api("/api/workflows", { method: "POST", json: def }));
    expect(created.warnings).toEqual([]);
    const res = await api(`/api/workflows/${created.id}/test`, { method: "POST", json: { entity_id: subId } });
    expect(res.status).toBe(202);
    const run = await settled((await json(res)).id);
    expect(run.status).toBe("completed");
    expect(run.trigger.related).toMatchObject({ customer: { id: ids.customer }, product: { id: ids.product }, product_variant: { id: ids.variant }, brand: { id: ids.brand }, shop: { id: ids.shop } });
    const mail = run.steps[0]!;
    expect(mail.input).toMatchObject({ to: [`${ids.customer}@example.com`], subject: "Trail Runner Ö, size 42 is back" });
    expect(mail.output).toMatchObject({ subject: "Trail Runner Ö, size 42 is back" });
    const raw = await (await api(`/api/runs/${run.id}/steps/mail/message`)).text();
    const parsed = await PostalMime.parse(raw);
    expect(parsed.subject).toBe("Trail Runner Ö, size 42 is back");
    expect(parsed.text?.trim()).toBe("Hello Zoë Ünal, it is back at Berlin Mitte.");
  });

  it("fails the step with a clear reason when a related entity is missing, instead of sending an empty name", async () => {
    const def = {
      name: uid("bis"),
      trigger: { entity: "subscription" },
      start: "mail",
      nodes: [{ id: "mail", type: "send_email", config: { to: ["team@example.com"], subject: "{{trigger.related.product.name}} is back", body: "x" } }],
    };
    const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
    const data = { id: uid("sub"), customer_id: uid("nobody"), variant_id: uid("nothing"), status: "pending", channel: "email", created_at: "2026-11-20T09:00:00Z" };
    const res = await api(`/api/workflows/${wf.id}/test`, { method: "POST", json: { data } });
    const run = await settled((await json(res)).id);
    expect(run.trigger.related).toEqual({});
    expect(run.status).toBe("failed");
    expect(run.steps[0]!.error).toContain('"{{trigger.related.product.name}}" is missing in this run');
  });
});

describe("checked variables in the API's answers", () => {
  const typo = {
    name: "Typo",
    trigger: { entity: "inventory_item" },
    start: "mail",
    nodes: [{ id: "mail", type: "send_email", config: { to: ["team@example.com"], subject: "{{trigger.data.idd}} is low", body: "x" } }],
  };
  const warning = { path: "nodes.0.config.subject", message: '"{{trigger.data.idd}}": idd is not a field of inventory_item (it may still be an extra attribute); did you mean id?' };

  it("answers warnings beside issues when validating, creating and saving, and saves anyway", async () => {
    const validated = await json(await api("/api/workflows/validate", { method: "POST", json: typo }));
    expect(validated).toEqual({ valid: true, issues: [], activation_issues: [], warnings: [warning] });
    const created = await api("/api/workflows", { method: "POST", json: typo });
    expect(created.status).toBe(201);
    const wf = await json(created);
    expect(wf.warnings).toEqual([warning]);
    const saved = await json(await api(`/api/workflows/${wf.id}`, { method: "PUT", json: { ...typo, name: "Typo 2" } }));
    expect(saved).toMatchObject({ version: 2, warnings: [warning] });
    expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  });

  it("refuses an unknown root or related kind with a 400 naming the field", async () => {
    const bad = { ...typo, nodes: [{ ...typo.nodes[0]!, config: { ...typo.nodes[0]!.config, subject: "{{trigger.related.customer.name}} {{product.name}}" } }] };
    const res = await api("/api/workflows", { method: "POST", json: bad });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.issues).toEqual([
      { path: "nodes.0.config.subject", message: '"{{product.name}}" must start with one of trigger, steps, workflow, run, now, today' },
      { path: "nodes.0.config.subject", message: '"{{trigger.related.customer.name}}": inventory_item has no related customer; it has product_variant, product, brand, shop' },
    ]);
    const validated = await json(await api("/api/workflows/validate", { method: "POST", json: bad }));
    expect(validated.valid).toBe(false);
  });
});
