import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { createOrGetPlan } from "../../worker/nodes/create-or-get-plan";
import type { ActionContext } from "../../worker/engine/step";
import type { Scope } from "../../worker/definition/interpolate";
import { upsertStatements } from "../../worker/entities";
import { newId } from "../../worker/lib/ids";
import { stepDeps } from "../../worker/run/deps";
import { api, json, uid } from "../support/api";

const NOW = new Date("2026-11-22T10:00:00Z");
const trigger: Scope["trigger"] = { id: "evt", type: "product.updated", entity: "product", entity_id: "p", occurred_at: NOW.toISOString(), data: {}, previous: null };
const scope: Scope = { trigger, steps: {}, workflow: { id: "wf", name: "W", version: 1 }, run: { id: "run" }, now: NOW.toISOString(), today: "2026-11-22" };
const ctx = (nodeId: string): ActionContext => ({
  runId: `run_${uid()}`,
  workflowId: "wf",
  nodeId,
  attempt: 1,
  idempotencyKey: uid("key"),
  test: false,
  now: NOW,
  signal: new AbortController().signal,
  trigger,
  checkpoint: undefined,
  log: () => {},
});
const deps = () => stepDeps(env).deps;

async function plan(kind: string, name = uid("plan"), extra: Record<string, unknown> = {}): Promise<string> {
  const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse({ kind, name, ...extra }), scope, NOW);
  const res = await createOrGetPlan.execute(input, ctx("plan"), deps());
  if (res.ok !== true) throw new Error(JSON.stringify(res));
  return (res.output as { plan_id: string }).plan_id;
}

/** A plan holding `n` restock lines of quantity 1..n, for items `<prefix>_<i>`. */
async function planWithLines(n: number, kind = "restock") {
  const prefix = uid("items");
  const rows = Array.from({ length: n }, (_, i) => ({
    data: { id: `${prefix}_${String(i).padStart(3, "0")}`, variant_id: `${prefix}_v`, shop_id: `s${i}`, on_hand: 0, on_order: 0, target: i + 1 },
    occurredAt: NOW.toISOString(),
    eventId: `e${i}`,
  }));
  await env.DB.batch(upsertStatements(env.DB, "inventory_item", rows));
  const id = await plan(kind);
  const input = addItemsToPlan.resolve!(
    addItemsToPlan.configSchema.parse({ plan: id, filter: { entity: "product_variant", ids: [`${prefix}_v`] }, quantity: { strategy: "fill_to_target" } }),
    scope,
    NOW,
  );
  const res = await addItemsToPlan.execute(input, ctx("items"), deps());
  expect(res.ok).toBe(true);
  return { id, prefix };
}

/**
 * Until an id made now sorts after `id`: ids begin with the millisecond they were made in, and the
 * plans list sorts on the id alone. The clock of the runtime moves on I/O, so each look does a
 * trivial D1 read; a bounded number of looks, not a fixed delay.
 */
async function pastMillisecondOf(id: string): Promise<void> {
  const stamp = (s: string) => s.slice(0, s.indexOf("_") + 11); // prefix_ and the 10 time characters
  for (let i = 0; i < 1000; i++) {
    if (stamp(newId("plan")) > stamp(id)) return;
    await env.DB.prepare("SELECT 1").first();
  }
  throw new Error(`The clock never moved past the millisecond of ${id}`);
}

const setStatus = (id: string, status: string) => api(`/api/plans/${id}/status`, { method: "POST", json: { status } });

describe("GET /api/plans", () => {
  it("lists plans newest first with their line count and total quantity", async () => {
    const older = await plan("markdown");
    await pastMillisecondOf(older); // ids sort by the millisecond they were made in
    const { id: newer } = await planWithLines(3);
    const page = await json(await api("/api/plans?limit=500"));
    const ids = page.items.map((p: { id: string }) => p.id);
    expect(ids.indexOf(newer)).toBeLessThan(ids.indexOf(older));
    const item = page.items.find((p: { id: string }) => p.id === newer);
    expect(item).toMatchObject({ kind: "restock", status: "open", deadline: null, shops: { mode: "all", ids: [] }, item_count: 3, total_quantity: 6 });
    expect(Object.keys(item).sort()).toEqual(["created_at", "deadline", "id", "item_count", "kind", "name", "shops", "status", "test", "total_quantity", "updated_at"]);
  });

  it("filters by kind and status, and pages with a cursor", async () => {
    const mine = [await plan("supplier_return"), await plan("supplier_return"), await plan("supplier_return")];
    await setStatus(mine[1]!, "closed");
    const open = await json(await api("/api/plans?kind=supplier_return&status=open&limit=500"));
    expect(open.items.every((p: { kind: string; status: string }) => p.kind === "supplier_return" && p.status === "open")).toBe(true);
    expect(open.items.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining([mine[0], mine[2]]));
    expect(open.items.map((p: { id: string }) => p.id)).not.toContain(mine[1]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json(await api(`/api/plans?kind=supplier_return&limit=1${cursor ? `&cursor=${cursor}` : ""}`));
      seen.push(...page.items.map((p: { id: string }) => p.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(seen).toEqual(expect.arrayContaining(mine));
  });

  it("refuses an unknown kind or status with 400", async () => {
    expect((await api("/api/plans?kind=giveaway")).status).toBe(400);
    const res = await api("/api/plans?status=archived");
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("status");
  });
});

describe("GET /api/plans/{id}", () => {
  it("answers the plan with its lines and their lineage", async () => {
    const { id, prefix } = await planWithLines(3);
    const res = await api(`/api/plans/${id}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ id, kind: "restock", status: "open", item_count: 3, total_quantity: 6, items_next_cursor: null });
    expect(body.items).toHaveLength(3);
    expect(body.items[0]).toEqual({
      inventory_item_id: `${prefix}_000`,
      variant_id: `${prefix}_v`,
      shop_id: "s0",
      quantity: 1,
      from_shop_id: null,
      to_shop_id: null,
      discount_percent: null,
      markdown_date: null,
      strategy: "quantity:fill_to_target",
      score: null,
      run_id: expect.stringMatching(/^run_/),
      test: false,
    });
  });

  it("pages through many lines with items_limit and items_cursor", async () => {
    const { id, prefix } = await planWithLines(25);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const body: any = await json(await api(`/api/plans/${id}?items_limit=10${cursor ? `&items_cursor=${cursor}` : ""}`));
      expect(body.items.length).toBeLessThanOrEqual(10);
      seen.push(...body.items.map((i: { inventory_item_id: string }) => i.inventory_item_id));
      cursor = body.items_next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `${prefix}_${String(i).padStart(3, "0")}`));
  });

  it("answers 404 for an unknown plan and 400 for a bad items_limit or cursor", async () => {
    const res = await api("/api/plans/plan_nope");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
    const id = await plan("restock");
    expect((await api(`/api/plans/${id}?items_limit=0`)).status).toBe(400);
    expect((await api(`/api/plans/${id}?items_limit=5001`)).status).toBe(400);
    expect((await api(`/api/plans/${id}?items_cursor=***`)).status).toBe(400);
  });
});

describe("POST /api/plans/{id}/status", () => {
  it("closes an open plan, after which the same kind and name opens a new one", async () => {
    const name = uid("cycle");
    const id = await plan("restock", name);
    const res = await setStatus(id, "closed");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id, status: "closed" });
    expect((await json(await api(`/api/plans/${id}`))).status).toBe("closed");
    const next = await plan("restock", name);
    expect(next).not.toBe(id);
  });

  it("refuses to reopen a closed plan with 409", async () => {
    const id = await plan("restock");
    await setStatus(id, "closed");
    const res = await setStatus(id, "open");
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatchObject({ code: "conflict", message: "A closed plan cannot become open; closed is final" });
    expect((await setStatus(id, "draft")).status).toBe(409);
  });

  it("opens a draft, unless another open plan has its kind and name", async () => {
    const name = uid("draft");
    const insertDraft = async () => {
      const id = `plan_${uid()}`;
      await env.DB.prepare("INSERT INTO plans (id, kind, name, status, shops, created_at, updated_at) VALUES (?, 'markdown', ?, 'draft', '{\"mode\":\"all\",\"ids\":[]}', ?, ?)")
        .bind(id, name, NOW.toISOString(), NOW.toISOString())
        .run();
      return id;
    };
    const first = await insertDraft();
    expect((await json(await setStatus(first, "open"))).status).toBe("open");
    const second = await insertDraft();
    const res = await setStatus(second, "open");
    expect(res.status).toBe(409);
    expect((await json(res)).error.message).toContain("Another open markdown plan");
    expect((await json(await setStatus(second, "closed"))).status).toBe("closed");
  });

  it("treats the current status as a no-op and refuses unknown statuses and plans", async () => {
    const id = await plan("restock");
    const same = await setStatus(id, "open");
    expect(same.status).toBe(200);
    expect((await json(same)).status).toBe("open");
    const bad = await setStatus(id, "archived");
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.issues[0].path).toBe("status");
    expect((await setStatus("plan_nope", "closed")).status).toBe(404);
  });

  it("stops add_items_to_plan from adding to a closed plan", async () => {
    const { id } = await planWithLines(2);
    await setStatus(id, "closed");
    const input = addItemsToPlan.resolve!(addItemsToPlan.configSchema.parse({ plan: id, filter: { entity: "brand", ids: ["b"] } }), scope, NOW);
    const res = await addItemsToPlan.execute(input, ctx("items"), deps());
    expect(res).toMatchObject({ ok: false, retryable: false });
  });
});

describe("API description", () => {
  it("documents the plan routes", async () => {
    const doc = await json(await api("/api/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/plans", "/api/plans/{id}", "/api/plans/{id}/status"]));
    expect(doc.components.schemas.PlanWithItems.properties.items).toBeDefined();
  });
});
