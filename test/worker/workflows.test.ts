import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { restockDefinition } from "../support/definitions";
import { api, json, uid } from "../support/api";

async function create(overrides: Record<string, unknown> = {}) {
  const res = await api("/api/workflows", { method: "POST", json: restockDefinition({ name: uid("wf"), ...overrides }) });
  expect(res.status).toBe(201);
  return json(res);
}

async function setStatus(id: string, status: string) {
  return api(`/api/workflows/${id}/status`, { method: "POST", json: { status } });
}

describe("authentication", () => {
  it("refuses /api without a token, with a JSON error", async () => {
    const res = await api("/api/workflows", { token: null });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ error: { code: "unauthorized", message: "Send Authorization: Bearer <token>" } });
  });

  it("refuses an unknown token", async () => {
    const res = await api("/api/workflows", { token: "nope" });
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe("unauthorized");
  });

  it("accepts every token of API_TOKENS", async () => {
    expect((await api("/api/workflows", { token: "second-token" })).status).toBe(200);
  });

  it("leaves health, the OpenAPI document and the docs page open", async () => {
    expect((await api("/api/health", { token: null })).status).toBe(200);
    expect((await api("/api/openapi.json", { token: null })).status).toBe(200);
    expect((await api("/api/docs", { token: null })).status).toBe(200);
  });
});

describe("create, read, list", () => {
  it("creates a draft at version 1 with defaults applied", async () => {
    const wf = await create();
    expect(wf).toMatchObject({ status: "draft", version: 1, trigger_entity: "inventory_item" });
    expect(wf.id).toMatch(/^wf_[0-9a-z]{26}$/);
    expect(wf.definition.nodes[2].config.method).toBe("POST");
    const again = await json(await api(`/api/workflows/${wf.id}`));
    // Creating also answers the warnings about the definition (SPEC §11); reading does not.
    const { warnings, ...saved } = wf;
    expect(warnings).toEqual([]);
    expect(again).toEqual(saved);
  });

  it("answers 404 for an unknown workflow", async () => {
    const res = await api("/api/workflows/wf_nope");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });

  it("refuses an invalid definition with every issue and saves nothing", async () => {
    const name = uid("bad");
    const def = restockDefinition({ name, start: "missing" });
    (def.nodes[2]!.config as { url: string }).url = "nope";
    const res = await api("/api/workflows", { method: "POST", json: def });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.issues).toEqual([{ path: "nodes.2.config.url", message: "Not a URL: use https://host/path" }]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM workflows WHERE name = ?").bind(name).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("reports graph issues after the schema passes", async () => {
    const res = await api("/api/workflows", { method: "POST", json: restockDefinition({ start: "missing" }) });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "start", message: 'No node has the id "missing"' }]);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await api("/api/workflows", { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("bad_request");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|stack/i);
  });

  it("answers 415 when the body is not declared as JSON", async () => {
    const res = await api("/api/workflows", { method: "POST", body: JSON.stringify(restockDefinition()) , headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect((await json(res)).error.code).toBe("unsupported_media_type");
  });

  it("answers 413 for a definition over 256 KiB", async () => {
    const def = restockDefinition({ description: "x".repeat(300 * 1024) });
    const res = await api("/api/workflows", { method: "POST", json: def });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe("payload_too_large");
  });

  it("lists newest first, filters by status and pages with a cursor", async () => {
    const tag = uid("page");
    const made: any[] = [];
    for (let i = 0; i < 3; i++) made.push(await create({ description: tag }));
    await setStatus(made[1].id, "active");
    const page1 = await json(await api("/api/workflows?limit=2"));
    expect(page1.items.map((w: { id: string }) => w.id)).toEqual([made[2].id, made[1].id]);
    expect(page1.items[0]).toMatchObject({ trigger: { entity: "inventory_item" }, node_count: 3, stats: { last_run: null, runs_24h: 0 } });
    expect(page1.items[0].definition).toBeUndefined();
    const page2 = await json(await api(`/api/workflows?limit=2&cursor=${page1.next_cursor}`));
    expect(page2.items[0].id).toBe(made[0].id);
    const active = await json(await api("/api/workflows?status=active&limit=500"));
    expect(active.items.some((w: { id: string }) => w.id === made[1].id)).toBe(true);
    expect(active.items.every((w: { status: string }) => w.status === "active")).toBe(true);
  });

  it("rejects a bad status filter, limit or cursor with 400", async () => {
    expect((await api("/api/workflows?status=sleeping")).status).toBe(400);
    expect((await api("/api/workflows?limit=0")).status).toBe(400);
    const res = await api("/api/workflows?cursor=garbage!");
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("cursor");
  });
});

describe("versions", () => {
  it("makes a new version on every save and keeps the old ones", async () => {
    const wf = await create();
    const v2def = restockDefinition({ name: "Renamed" });
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: v2def });
    expect(res.status).toBe(200);
    const v2 = await json(res);
    expect(v2).toMatchObject({ version: 2, name: "Renamed" });
    const versions = await json(await api(`/api/workflows/${wf.id}/versions`));
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.items[1].definition.name).toBe(wf.name);
    const one = await json(await api(`/api/workflows/${wf.id}/versions/1`));
    expect(one.definition.name).toBe(wf.name);
    expect((await api(`/api/workflows/${wf.id}/versions/9`)).status).toBe(404);
  });

  it("keeps definitions and versions in D1", async () => {
    const wf = await create();
    await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ name: "Stored" }) });
    const rows = await env.DB.prepare("SELECT version, definition FROM workflow_versions WHERE workflow_id = ? ORDER BY version").bind(wf.id).all<{ version: number; definition: string }>();
    expect(rows.results.map((r) => r.version)).toEqual([1, 2]);
    expect(JSON.parse(rows.results[1]!.definition).name).toBe("Stored");
  });

  it("refuses an invalid update and keeps the current version", async () => {
    const wf = await create();
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: { name: "" } });
    expect(res.status).toBe(400);
    expect((await json(await api(`/api/workflows/${wf.id}`))).version).toBe(1);
  });

  it("refuses to change an archived workflow", async () => {
    const wf = await create();
    await setStatus(wf.id, "archived");
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition() });
    expect(res.status).toBe(409);
  });

  it("refuses an update of an active workflow that could not run", async () => {
    const wf = await create();
    expect((await setStatus(wf.id, "active")).status).toBe(200);
    const def = restockDefinition();
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "bearer", credential: "NOT_THERE" };
    const res = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: def });
    expect(res.status).toBe(422);
    expect((await json(res)).error.issues).toEqual([
      { path: "nodes.2.config.auth.credential", message: "No credential named NOT_THERE: add the secret CREDENTIAL_NOT_THERE" },
    ]);
  });
});

describe("status transitions", () => {
  const legal: [string[], string][] = [
    [[], "active"],
    [["active"], "paused"],
    [["active", "paused"], "active"],
    [["active"], "draft"],
    [["active", "paused"], "draft"],
    [[], "archived"],
    [["active"], "archived"],
    [["active", "paused"], "archived"],
  ];
  for (const [path, to] of legal) {
    const from = path.at(-1) ?? "draft";
    it(`allows ${from} → ${to}`, async () => {
      const wf = await create();
      for (const s of path) expect((await setStatus(wf.id, s)).status).toBe(200);
      const res = await setStatus(wf.id, to);
      expect(res.status).toBe(200);
      expect((await json(res)).status).toBe(to);
      expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe(to);
    });
  }

  const illegal: [string[], string][] = [
    [[], "paused"],
    [["archived"], "active"],
    [["archived"], "draft"],
    [["archived"], "paused"],
  ];
  for (const [path, to] of illegal) {
    const from = path.at(-1) ?? "draft";
    it(`refuses ${from} → ${to} with 409`, async () => {
      const wf = await create();
      for (const s of path) await setStatus(wf.id, s);
      const res = await setStatus(wf.id, to);
      expect(res.status).toBe(409);
      const body = await json(res);
      expect(body.error.code).toBe("conflict");
      expect(body.error.message).toContain(`cannot become ${to}`);
      expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe(from);
    });
  }

  it("treats asking for the current status as a no-op", async () => {
    const wf = await create();
    const res = await setStatus(wf.id, "draft");
    expect(res.status).toBe(200);
    expect((await json(res)).updated_at).toBe(wf.updated_at);
  });

  it("refuses activation with 422 when a credential is missing", async () => {
    const def = restockDefinition({ name: uid("cred") });
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "hmac", credential: "MISSING_ONE" };
    const wf = await json(await api("/api/workflows", { method: "POST", json: def }));
    const res = await setStatus(wf.id, "active");
    expect(res.status).toBe(422);
    expect((await json(res)).error.issues[0].path).toBe("nodes.2.config.auth.credential");
    expect((await json(await api(`/api/workflows/${wf.id}`))).status).toBe("draft");
  });

  it("rejects an unknown status with 400", async () => {
    const wf = await create();
    const res = await setStatus(wf.id, "asleep");
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("status");
  });

  it("indexes the trigger only while active", async () => {
    const wf = await create();
    const rows = () => env.DB.prepare("SELECT entity, tag, version FROM trigger_index WHERE workflow_id = ?").bind(wf.id).all();
    expect((await rows()).results).toEqual([]);
    await setStatus(wf.id, "active");
    expect((await rows()).results).toEqual([{ entity: "inventory_item", tag: "sneakers", version: 1 }]);
    await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ trigger: { entity: "product", tags: { include: [] } } }) });
    expect((await rows()).results).toEqual([{ entity: "product", tag: "*", version: 2 }]);
    await setStatus(wf.id, "paused");
    expect((await rows()).results).toEqual([]);
  });

  it("indexes a trigger with 100 include tags (more than one statement's bound parameters)", async () => {
    const include = Array.from({ length: 100 }, (_, i) => `tag${String(i).padStart(3, "0")}`);
    const wf = await create({ trigger: { entity: "product", tags: { include } } });
    const res = await setStatus(wf.id, "active");
    expect(res.status).toBe(200);
    const rows = await env.DB.prepare("SELECT tag, version FROM trigger_index WHERE workflow_id = ? ORDER BY tag").bind(wf.id).all();
    expect(rows.results).toEqual(include.map((tag) => ({ tag, version: 1 })));
    const saved = await api(`/api/workflows/${wf.id}`, { method: "PUT", json: restockDefinition({ trigger: { entity: "product", tags: { include: [...include].reverse() } } }) });
    expect(saved.status).toBe(200);
    const again = await env.DB.prepare("SELECT count(*) AS n FROM trigger_index WHERE workflow_id = ? AND version = 2").bind(wf.id).first<{ n: number }>();
    expect(again?.n).toBe(100);
  });
});

describe("validate and credentials", () => {
  it("validates without saving", async () => {
    const name = uid("val");
    const ok = await json(await api("/api/workflows/validate", { method: "POST", json: restockDefinition({ name }) }));
    expect(ok).toEqual({ valid: true, issues: [], activation_issues: [], warnings: [] });
    const bad = await json(await api("/api/workflows/validate", { method: "POST", json: { name } }));
    expect(bad.valid).toBe(false);
    expect(bad.issues.map((i: { path: string }) => i.path).sort()).toEqual(["nodes", "start", "trigger"]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM workflows WHERE name = ?").bind(name).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("lists activation issues for missing credentials", async () => {
    const def = restockDefinition();
    (def.nodes[2]!.config as { auth: unknown }).auth = { type: "basic", credential: "NOPE" };
    const res = await json(await api("/api/workflows/validate", { method: "POST", json: def }));
    expect(res.valid).toBe(true);
    expect(res.activation_issues).toHaveLength(1);
  });

  it("lists credential names, never values", async () => {
    const res = await api("/api/credentials");
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ items: [{ name: "BASIC_ERP" }, { name: "DEMO_ERP" }, { name: "HOOK_SECRET" }], next_cursor: null });
    expect(text).not.toContain("demo-token");
    expect(text).not.toContain("erp-password");
  });
});

describe("API description", () => {
  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const doc = await json(await api("/api/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/workflows", "/api/workflows/{id}", "/api/workflows/{id}/status", "/api/credentials"]));
    expect(doc.paths["/api/workflows/{id}/status"].post.requestBody.content["application/json"].schema).toBeDefined();
  });

  it("answers unknown API routes with a JSON 404", async () => {
    const res = await api("/api/nothing-here");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });
});

// ---------------------------------------------------------------- test runs: test plans, back in stock

const putEntities = async (kind: string, rows: unknown[]) => {
  const res = await api(`/api/entities/${kind}`, { method: "PUT", json: rows });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
};
const settledRun = async (id: string) => JSON.parse((await env.RUNS.get(env.RUNS.idFromString(id)).settled())!);
const startTestRun = (workflowId: string, body: unknown) => api(`/api/workflows/${workflowId}/test`, { method: "POST", json: body });

describe("a test run's plan", () => {
  it("is a test plan of its own, marked in the API with its lines, while the real open plan of that name is left alone", async () => {
    const p = uid("tp");
    await putEntities("product_variant", [{ id: `${p}_v`, product_id: `${p}_p`, size: "42" }]);
    await putEntities("inventory_item", [{ id: `${p}_i`, variant_id: `${p}_v`, shop_id: `${p}_s`, on_hand: 1, on_order: 0, target: 5 }]);
    const name = `Restock ${p}`;
    const res = await api("/api/workflows", {
      method: "POST",
      json: {
        name: uid("wf"),
        trigger: { entity: "inventory_item" },
        start: "plan",
        nodes: [
          { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name }, next: "items" },
          { id: "items", type: "add_items_to_plan", config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "inventory_item", from_trigger: true }, quantity: { strategy: "fill_to_target" } } },
        ],
      },
    });
    expect(res.status).toBe(201);
    const wf = await json(res);
    // A real plan of that name is open (as a real run would have made it).
    await env.DB.prepare("INSERT INTO plans (id, kind, name, status, shops, created_at, updated_at) VALUES (?, 'restock', ?, 'open', '{\"mode\":\"all\",\"ids\":[]}', ?, ?)")
      .bind(`${p}_real`, name, new Date().toISOString(), new Date().toISOString())
      .run();

    const runs = [];
    for (let i = 0; i < 2; i++) {
      const started = await startTestRun(wf.id, { entity_id: `${p}_i` });
      expect(started.status).toBe(202);
      runs.push(await settledRun((await json(started)).id));
    }
    for (const run of runs) expect(run.status, run.error ?? "").toBe("completed");
    const [first, second] = runs.map((r) => r.steps.find((s: { node_id: string }) => s.node_id === "plan").output);
    expect(first).toMatchObject({ created: true, test: true });
    expect(second).toMatchObject({ created: false, test: true, plan_id: first.plan_id });
    expect(first.plan_id).not.toBe(`${p}_real`);

    const plan = await json(await api(`/api/plans/${first.plan_id}`));
    expect(plan).toMatchObject({ name, test: true, item_count: 1, total_quantity: 4 });
    expect(plan.items).toEqual([expect.objectContaining({ inventory_item_id: `${p}_i`, quantity: 4, test: true })]);
    expect(await json(await api(`/api/plans/${p}_real`))).toMatchObject({ test: false, item_count: 0, items: [] });
  });
});

describe("a back-in-stock test run", () => {
  /** A mirrored customer, product, size and subscription, and a back-in-stock workflow emailing about them. */
  async function waitlist(status = "pending") {
    const p = uid("bt");
    await putEntities("brand", [{ id: `${p}_b`, name: "Nordlicht" }]);
    await putEntities("product", [{ id: `${p}_p`, brand_id: `${p}_b`, name: "Trail Runner", price: 120, cost: 50 }]);
    await putEntities("product_variant", [{ id: `${p}_v`, product_id: `${p}_p`, size: "43" }]);
    await putEntities("customer", [{ id: `${p}_c`, email: `${p}@example.com`, name: "Zoë" }]);
    await putEntities("subscription", [{ id: `${p}_s`, customer_id: `${p}_c`, variant_id: `${p}_v`, status, channel: "email", created_at: "2026-11-20T09:00:00Z", tags: ["waitlist"] }]);
    const res = await api("/api/workflows", {
      method: "POST",
      json: {
        name: uid("bis"),
        trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1, per_unit: 2 } },
        start: "mail",
        nodes: [
          {
            id: "mail",
            type: "send_email",
            config: { to: ["{{trigger.related.customer.email}}"], subject: "{{trigger.related.product.name}}, size {{trigger.related.product_variant.size}}, is back", body: "Hello {{trigger.related.customer.name}}" },
            next: "delivered",
          },
          { id: "delivered", type: "update_subscription_status", config: { status: "delivered" } },
        ],
      },
    });
    expect(res.status).toBe(201);
    return { p, wf: (await json(res)).id as string, sub: `${p}_s` };
  }

  it("runs on a mirrored subscription with the event a restock wave gives it: its snapshot, no previous, its related entities", async () => {
    const { p, wf, sub } = await waitlist();
    const res = await startTestRun(wf, { type: "subscription.back_in_stock", entity_id: sub });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(202);
    const run = await settledRun((await json(res)).id);
    expect(run).toMatchObject({ status: "completed", test: true });
    expect(run.trigger).toMatchObject({
      type: "subscription.back_in_stock",
      entity: "subscription",
      entity_id: sub,
      previous: null,
      data: { id: sub, customer_id: `${p}_c`, variant_id: `${p}_v`, status: "pending", channel: "email", tags: ["waitlist"] },
      related: { customer: { id: `${p}_c` }, product_variant: { id: `${p}_v` }, product: { id: `${p}_p` }, brand: { id: `${p}_b` } },
    });
    expect(run.steps[0]).toMatchObject({ node_id: "mail", status: "succeeded", input: { to: [`${p}@example.com`], subject: "Trail Runner, size 43, is back" } });
    expect(run.steps[1]).toMatchObject({ node_id: "delivered", status: "succeeded", output: { subscription_id: sub, from: "pending", to: "delivered" } });
    // No restock episode is started by a test.
    expect((await json(await api(`/api/restocks?variant_id=${p}_v`))).items).toEqual([]);
  });

  it("answers 404 for a subscription the mirror does not hold, or holds deleted", async () => {
    const { wf, sub } = await waitlist();
    const missing = await startTestRun(wf, { type: "subscription.back_in_stock", entity_id: uid("nobody") });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ code: "not_found", message: expect.stringMatching(/^No subscription with id \S+ in the mirror/) });
    // As a subscription.deleted event leaves it in the mirror.
    await env.DB.prepare("UPDATE subscriptions SET deleted = 1 WHERE id = ?").bind(sub).run();
    expect((await startTestRun(wf, { type: "subscription.back_in_stock", entity_id: sub })).status).toBe(404);
  });

  it("answers 400 with the reason for back_in_stock on another entity or workflow, or with data given by hand", async () => {
    const { wf, sub } = await waitlist();
    const issuesOf = async (res: Response) => {
      expect(res.status).toBe(400);
      return (await json(res)).error.issues as { path: string; message: string }[];
    };
    expect(await issuesOf(await startTestRun(wf, { type: "inventory_item.back_in_stock", entity_id: sub }))).toContainEqual({
      path: "type",
      message: "back_in_stock is an event of subscriptions: use subscription.back_in_stock",
    });
    expect(await issuesOf(await startTestRun(wf, { type: "subscription.back_in_stock", entity_id: sub, data: { id: sub, status: "pending" } }))).toContainEqual({
      path: "data",
      message: "A back-in-stock event is derived from a mirrored subscription: give its entity_id, not data",
    });
    expect(await issuesOf(await startTestRun(wf, { type: "subscription.back_in_stock", entity_id: sub, previous: {} }))).toContainEqual(expect.objectContaining({ path: "previous" }));
    const other = await create();
    expect(await issuesOf(await startTestRun(other.id, { type: "subscription.back_in_stock", entity_id: sub }))).toContainEqual({
      path: "type",
      message: "subscription.back_in_stock starts back-in-stock workflows only; this one listens to inventory_item created, updated",
    });
    expect((await startTestRun(wf, { type: "subscription.restocked", entity_id: sub })).status).toBe(400);
  });

  it("still runs a back-in-stock workflow on a subscription.updated test event, as before", async () => {
    const { wf, sub } = await waitlist();
    const res = await startTestRun(wf, { type: "subscription.updated", entity_id: sub });
    expect(res.status).toBe(202);
    expect((await settledRun((await json(res)).id)).trigger).toMatchObject({ type: "subscription.updated", entity_id: sub });
  });
});
