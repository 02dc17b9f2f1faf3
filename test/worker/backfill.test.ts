import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { PAGE_ENTITIES } from "../../worker/backfill/sweep";
import type { Backfill } from "../../worker/contract/backfill";
import { pool } from "../../worker/lib/pool";
import { api, json, uid } from "../support/api";
import { runFor } from "../support/events";

/*
 * Backfills (SPEC §15) through the API, with the real BackfillObject whose alarms the tests run
 * with runDurableObjectAlarm (never slept for), real run objects, flow-control gates and D1.
 * Storage is shared by the tests of this file: each test has its own tag, entities and workflow.
 */

/** Completes at once, with no effect. */
const DONE = { id: "done", type: "condition", config: { all: [{ left: "{{trigger.id}}", op: "exists" }] } };
/** Sleeps a day: a run holds its concurrency slot for the whole test. */
const SLEEP = { id: "pause", type: "wait", config: { duration: { days: 1 } } };
const LOW_STOCK = { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] };

async function createWorkflow(opts: { tag: string; nodes?: unknown[]; controls?: unknown; trigger?: Record<string, unknown>; status?: string }): Promise<string> {
  const nodes = opts.nodes ?? [DONE];
  const def = {
    name: uid("backfill"),
    trigger: { entity: "inventory_item", tags: { include: [opts.tag] }, conditions: LOW_STOCK, ...opts.trigger },
    start: (nodes[0] as { id: string }).id,
    nodes,
    ...(opts.controls ? { controls: opts.controls } : {}),
  };
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status).toBe(201);
  const wf = await json(res);
  for (const status of opts.status === "draft" ? [] : ["active", ...(opts.status && opts.status !== "active" ? [opts.status] : [])]) {
    expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status } })).status).toBe(200);
  }
  return wf.id as string;
}

/** Mirrors `n` inventory items with the tag, ids `<prefix>_00001`…, with on_hand from `onHand(i)`. */
async function putItems(prefix: string, tag: string, n: number, onHand: (i: number) => number = () => 1) {
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}_${String(i).padStart(5, "0")}`,
    variant_id: "var_1",
    shop_id: `shop_${i % 7}`,
    on_hand: onHand(i),
    on_order: 0,
    target: 10,
    tags: [tag],
  }));
  const res = await api("/api/entities/inventory_item", { method: "PUT", json: rows });
  expect(res.status).toBeLessThan(300);
  return rows.map((r) => r.id);
}

async function startBackfill(workflowId: string, body?: unknown): Promise<Backfill> {
  const res = await api(`/api/workflows/${workflowId}/backfill`, body === undefined ? { method: "POST" } : { method: "POST", json: body });
  expect(res.status).toBe(202);
  return json(res);
}

async function getBackfill(workflowId: string, id: string): Promise<Backfill> {
  const res = await api(`/api/workflows/${workflowId}/backfills/${id}`);
  expect(res.status).toBe(200);
  return json(res);
}

const stubOf = (backfillId: string) => env.BACKFILLS.get(env.BACKFILLS.idFromName(backfillId));

/** Runs the backfill's alarms until it stops running; answers the progress read after each one. */
async function drive(workflowId: string, backfillId: string): Promise<Backfill[]> {
  const seen: Backfill[] = [];
  for (let i = 0; i < 2000; i++) {
    const p = await getBackfill(workflowId, backfillId);
    seen.push(p);
    if (p.status !== "running") return seen;
    await runDurableObjectAlarm(stubOf(backfillId));
  }
  throw new Error("the backfill did not finish");
}

/** Rows of the run index a workflow has, by status. */
async function indexedRuns(workflowId: string): Promise<Record<string, number>> {
  const res = await env.DB.prepare("SELECT status, count(*) AS n, count(DISTINCT event_id) AS events FROM runs WHERE workflow_id = ? GROUP BY status").bind(workflowId).all<{ status: string; n: number; events: number }>();
  for (const r of res.results) expect(r.events).toBe(r.n);
  return Object.fromEntries(res.results.map((r) => [r.status, r.n]));
}

const eventId = (workflowId: string, version: number, entityId: string) => `backfill:${workflowId}:v${version}:${entityId}`;

describe("a backfill", () => {
  it(
    "over 5,000 entities completes with its progress reported, and started twice starts no run twice",
    async () => {
      const tag = uid("tag");
      const prefix = uid("inv");
      // 5,000 that match, 500 with the tag whose stock is too high.
      const ids = await putItems(prefix, tag, 5500, (i) => (i % 11 === 10 ? 50 : 1));
      const matching = ids.filter((_, i) => i % 11 !== 10);
      expect(matching).toHaveLength(5000);
      const wf = await createWorkflow({ tag });

      const first = await startBackfill(wf);
      expect(first).toMatchObject({ workflow_id: wf, version: 1, status: "running", limit: 100_000, matched: 0, started: 0, completed: 0, failed: 0 });
      expect(first.id).toMatch(/^bf_/);
      // 5,000 runs log some 15,000 lines; printing them would take most of the test's time.
      const quiet = vi.spyOn(console, "log").mockImplementation(() => {});
      onTestFinished(() => quiet.mockRestore());
      const seen = await drive(wf, first.id);
      const last = seen.at(-1)!;
      expect(last).toMatchObject({ status: "done", examined: 5500, matched: 5000, started: 5000, duplicates: 0, errors: 0, limit_reached: false, reason: null });
      expect(last.finished_at).not.toBeNull();
      // The progress advanced page by page, never going back: a read before each alarm, one after the
      // last; 5,500 is 22 full pages, and a 23rd finds the end.
      expect(5500 % PAGE_ENTITIES).toBe(0);
      expect(seen.length).toBe(5500 / PAGE_ENTITIES + 2);
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i]!.examined).toBeGreaterThanOrEqual(seen[i - 1]!.examined);
        expect(seen[i]!.started).toBeGreaterThanOrEqual(seen[i - 1]!.started);
      }
      expect(new Set(seen.map((p) => p.examined)).size).toBe(5500 / PAGE_ENTITIES + 1);
      expect(seen[1]).toMatchObject({ status: "running", examined: PAGE_ENTITIES });

      // Every run reaches its end; the progress then counts them from the runs index.
      await pool(matching, 32, async (id) => expect(await runFor(wf, eventId(wf, 1, id))).toMatchObject({ status: "completed", trigger: { type: "inventory_item.backfill", entity_id: id } }));
      expect(await getBackfill(wf, first.id)).toMatchObject({ status: "done", started: 5000, completed: 5000, failed: 0 });
      expect(await runFor(wf, eventId(wf, 1, ids[10]!))).toBeNull();

      // Started again: the same 5,000 match, and every one has its run already.
      const second = await startBackfill(wf, {});
      expect(second.id).not.toBe(first.id);
      expect((await drive(wf, second.id)).at(-1)).toMatchObject({ status: "done", matched: 5000, started: 0, duplicates: 5000, completed: 0 });
      expect(await indexedRuns(wf)).toEqual({ completed: 5000 });
    },
    // Each run is a new Durable Object, a new SQLite file under workerd: 5,000 take a minute or two here.
    300_000,
  );

  it("starts runs for entities that matched since an earlier backfill of the same version, and only those", async () => {
    const tag = uid("tag");
    const prefix = uid("inv");
    const ids = await putItems(prefix, tag, 4, (i) => (i < 2 ? 1 : 9));
    const wf = await createWorkflow({ tag });
    const first = await startBackfill(wf);
    expect((await drive(wf, first.id)).at(-1)).toMatchObject({ matched: 2, started: 2 });
    // One more item runs low.
    await api("/api/entities/inventory_item", { method: "PUT", json: [{ id: ids[2], variant_id: "var_1", shop_id: "shop_1", on_hand: 0, on_order: 0, target: 10, tags: [tag] }] });
    const second = await startBackfill(wf);
    expect((await drive(wf, second.id)).at(-1)).toMatchObject({ matched: 3, started: 1, duplicates: 2 });
    expect(await runFor(wf, eventId(wf, 1, ids[2]!))).toMatchObject({ status: "completed" });
  });

  it("stops at its limit", async () => {
    const tag = uid("tag");
    const ids = await putItems(uid("inv"), tag, 10);
    const wf = await createWorkflow({ tag });
    const b = await startBackfill(wf, { limit: 3 });
    expect(b.limit).toBe(3);
    expect((await drive(wf, b.id)).at(-1)).toMatchObject({ status: "done", matched: 3, started: 3, limit_reached: true });
    expect(await runFor(wf, eventId(wf, 1, ids[2]!))).not.toBeNull();
    expect(await runFor(wf, eventId(wf, 1, ids[3]!))).toBeNull();
  });

  it("is bounded by the workflow's flow controls", async () => {
    const tag = uid("tag");
    const ids = await putItems(uid("inv"), tag, 4);
    const wf = await createWorkflow({ tag, nodes: [SLEEP], controls: { concurrency: 1 } });
    const b = await startBackfill(wf);
    expect((await drive(wf, b.id)).at(-1)).toMatchObject({ status: "done", matched: 4, started: 4 });
    const runs = await Promise.all(ids.map((id) => runFor(wf, eventId(wf, 1, id))));
    // One run holds the only slot (asleep in its wait); the gate keeps the others pending.
    expect(runs.map((r) => r?.status).sort()).toEqual(["pending", "pending", "pending", "running"]);
    expect(runs.filter((r) => r?.status === "pending").map((r) => r?.waiting_for)).toEqual(["concurrency", "concurrency", "concurrency"]);
  });

  it("can be cancelled: no run starts after, and runs started go on", async () => {
    const tag = uid("tag");
    const ids = await putItems(uid("inv"), tag, PAGE_ENTITIES * 3);
    const wf = await createWorkflow({ tag });
    const b = await startBackfill(wf);
    await runDurableObjectAlarm(stubOf(b.id));
    expect(await getBackfill(wf, b.id)).toMatchObject({ status: "running", started: PAGE_ENTITIES });

    const res = await api(`/api/workflows/${wf}/backfills/${b.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "cancelled", reason: "Cancelled", started: PAGE_ENTITIES });
    // An alarm after the cancel (the one armed for the next page) starts nothing.
    await runDurableObjectAlarm(stubOf(b.id));
    expect(await getBackfill(wf, b.id)).toMatchObject({ status: "cancelled", examined: PAGE_ENTITIES, started: PAGE_ENTITIES });
    expect(await runFor(wf, eventId(wf, 1, ids[PAGE_ENTITIES - 1]!))).toMatchObject({ status: "completed" });
    expect(await runFor(wf, eventId(wf, 1, ids[PAGE_ENTITIES]!))).toBeNull();
    // Cancelling again answers it as it is.
    expect((await api(`/api/workflows/${wf}/backfills/${b.id}/cancel`, { method: "POST" })).status).toBe(200);
  });

  it("stops when the workflow is paused", async () => {
    const tag = uid("tag");
    await putItems(uid("inv"), tag, PAGE_ENTITIES + 10);
    const wf = await createWorkflow({ tag });
    const b = await startBackfill(wf);
    await runDurableObjectAlarm(stubOf(b.id));
    expect((await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "paused" } })).status).toBe(200);
    await runDurableObjectAlarm(stubOf(b.id));
    expect(await getBackfill(wf, b.id)).toMatchObject({ status: "cancelled", started: PAGE_ENTITIES, reason: expect.stringContaining("paused") });
  });

  it("walks a per-entity schedule's entities too", async () => {
    const tag = uid("tag");
    await putItems(uid("inv"), tag, 3);
    const wf = await createWorkflow({ tag, trigger: { schedule: { cron: "0 6 * * 1" } } });
    const b = await startBackfill(wf);
    expect((await drive(wf, b.id)).at(-1)).toMatchObject({ status: "done", matched: 3, started: 3 });
  });
});

describe("backfill errors", () => {
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    const body = await json(res);
    expect(body.error.code).toBe(code);
    return body.error;
  };

  it("answers 400 for a limit that is not a whole number from 1 to 100,000, or an unknown field", async () => {
    const wf = await createWorkflow({ tag: uid("tag") });
    for (const body of [{ limit: 0 }, { limit: 100_001 }, { limit: 2.5 }, { limit: "10" }, { limits: 5 }, []]) {
      const error = await expectError(await api(`/api/workflows/${wf}/backfill`, { method: "POST", json: body }), 400, "validation_failed");
      expect(error.issues.length).toBeGreaterThan(0);
    }
    await expectError(await api(`/api/workflows/${wf}/backfill`, { method: "POST", body: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });

  it("answers 404 for an unknown workflow or backfill, and for another workflow's backfill", async () => {
    await expectError(await api("/api/workflows/wf_nope/backfill", { method: "POST", json: {} }), 404, "not_found");
    const tag = uid("tag");
    await putItems(uid("inv"), tag, 1);
    const wf = await createWorkflow({ tag });
    const other = await createWorkflow({ tag: uid("tag") });
    const b = await startBackfill(wf);
    await expectError(await api(`/api/workflows/${other}/backfills/${b.id}`), 404, "not_found");
    await expectError(await api(`/api/workflows/${wf}/backfills/bf_00000000000000000000000000`), 404, "not_found");
    await expectError(await api(`/api/workflows/${wf}/backfills/nonsense`), 404, "not_found");
    await expectError(await api(`/api/workflows/${wf}/backfills/nonsense/cancel`, { method: "POST" }), 404, "not_found");
  });

  it("answers 409 for a workflow that is not active: a backfill starts real runs", async () => {
    for (const status of ["draft", "paused", "archived"]) {
      const wf = await createWorkflow({ tag: uid("tag"), status });
      const error = await expectError(await api(`/api/workflows/${wf}/backfill`, { method: "POST" }), 409, "conflict");
      expect(error.message).toContain(status);
    }
  });

  it("answers 409 when cancelling a backfill that is done", async () => {
    const tag = uid("tag");
    await putItems(uid("inv"), tag, 1);
    const wf = await createWorkflow({ tag });
    const b = await startBackfill(wf);
    await drive(wf, b.id);
    await expectError(await api(`/api/workflows/${wf}/backfills/${b.id}/cancel`, { method: "POST" }), 409, "conflict");
  });

  it("answers 422 for a trigger with no entities to walk", async () => {
    const tick = await createWorkflow({ tag: uid("tag"), trigger: { tags: { include: [] }, conditions: undefined, schedule: { cron: "0 6 * * 1", each: "tick" } } });
    await expectError(await api(`/api/workflows/${tick}/backfill`, { method: "POST" }), 422, "unprocessable");
    const bis = await createWorkflow({
      tag: uid("tag"),
      trigger: { entity: "subscription", events: ["back_in_stock"], restock: {}, tags: { include: [] }, conditions: undefined },
      nodes: [{ id: "done", type: "condition", config: { all: [{ left: "{{trigger.id}}", op: "exists" }] } }],
    });
    await expectError(await api(`/api/workflows/${bis}/backfill`, { method: "POST" }), 422, "unprocessable");
  });
});
