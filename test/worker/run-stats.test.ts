import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upsertRunStatement } from "../../worker/db/run-index";
import { api, json, uid } from "../support/api";
import { restockDefinition } from "../support/definitions";

/*
 * Pictures of how workflows do (issue 14): runs per hour by outcome, and the failure rate of each
 * step, aggregated in D1 from the run index; test runs never count.
 */

const HOUR = 3_600_000;

/** Writes a run's index row as its run object would. */
async function indexRun(r: { workflow: string; status: string; at: number; test?: boolean; steps?: Record<string, string> }) {
  await upsertRunStatement(env.DB, {
    id: uid("run"),
    workflow_id: r.workflow,
    workflow_version: 1,
    status: r.status,
    test: r.test ?? false,
    event_id: null,
    entity: "inventory_item",
    entity_id: "item",
    started_at: r.at,
    finished_at: r.status === "running" || r.status === "pending" ? null : r.at + 1000,
    error: null,
    summary: null,
    steps: r.steps ?? {},
    waiting_for: null,
    flow_key: null,
    rev: 1,
  }).run();
}

describe("GET /api/runs/stats", () => {
  it("counts a workflow's runs per hour by outcome, oldest hour first, leaving test runs and older runs out", async () => {
    const wf = uid("wf");
    const now = Date.now();
    const thisHour = Math.floor(now / HOUR) * HOUR;
    for (const status of ["completed", "completed", "failed", "cancelled", "running", "pending"]) await indexRun({ workflow: wf, status, at: thisHour + 1 });
    await indexRun({ workflow: wf, status: "failed", at: thisHour - 3 * HOUR + 5 });
    await indexRun({ workflow: wf, status: "failed", at: thisHour + 2, test: true });
    await indexRun({ workflow: wf, status: "completed", at: thisHour - 30 * HOUR });

    const res = await api(`/api/runs/stats?hours=24&workflow_id=${wf}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ workflow_id: wf, hours: 24, bucket_ms: HOUR, from: new Date(thisHour - 23 * HOUR).toISOString() });
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets.at(-1)).toEqual({ start: new Date(thisHour).toISOString(), completed: 2, failed: 1, cancelled: 1, running: 2 });
    expect(body.buckets.at(-4)).toEqual({ start: new Date(thisHour - 3 * HOUR).toISOString(), completed: 0, failed: 1, cancelled: 0, running: 0 });
    expect(body.buckets.filter((b: { completed: number; failed: number }) => b.completed + b.failed > 0)).toHaveLength(2);
    expect(body.totals).toEqual({ completed: 2, failed: 2, cancelled: 1, running: 2 });

    const week = await json(await api(`/api/runs/stats?hours=168&workflow_id=${wf}`));
    expect(week.buckets).toHaveLength(168);
    expect(week.totals).toEqual({ completed: 3, failed: 2, cancelled: 1, running: 2 });
  });

  it("counts every workflow's runs without a workflow_id, and is not taken for a run id", async () => {
    const [a, b] = [uid("wf"), uid("wf")];
    const at = Date.now();
    await indexRun({ workflow: a, status: "failed", at });
    await indexRun({ workflow: b, status: "failed", at });
    const all = await json(await api("/api/runs/stats?hours=1"));
    const one = await json(await api(`/api/runs/stats?hours=1&workflow_id=${a}`));
    expect(one.totals.failed).toBe(1);
    expect(all.totals.failed).toBeGreaterThanOrEqual(2);
    expect(all.workflow_id).toBeNull();
    expect((await api("/api/runs/stats")).status).toBe(200);
  });

  it("refuses a window that is not 1 to 168 hours, or an empty workflow id, with 400", async () => {
    for (const q of ["hours=0", "hours=169", "hours=1.5", "hours=a", "workflow_id="]) {
      const res = await api(`/api/runs/stats?${q}`);
      expect(res.status, q).toBe(400);
      expect((await json(res)).error.issues.length).toBeGreaterThan(0);
    }
  });
});

describe("GET /api/workflows/{id}/step-failures", () => {
  it("gives each step's failure rate over the window in the order of the current version, steps it no longer has last", async () => {
    const def = restockDefinition({ name: uid("failing") });
    (def.nodes[1] as { name?: string }).name = "Add the low sizes";
    const created = await api("/api/workflows", { method: "POST", json: def });
    expect(created.status).toBe(201);
    const wf = (await json(created)).id as string;
    const at = Date.now() - 60_000;
    const runs: Record<string, string>[] = [
      { plan: "succeeded", items: "failed", notify: "skipped" },
      { plan: "succeeded", items: "failed", notify: "cancelled" },
      { plan: "succeeded", items: "succeeded", notify: "failed" },
      { plan: "succeeded", items: "succeeded", notify: "succeeded" },
      { plan: "failed", legacy: "failed" },
    ];
    for (const steps of runs) await indexRun({ workflow: wf, status: Object.values(steps).includes("failed") ? "failed" : "completed", at, steps });
    await indexRun({ workflow: wf, status: "failed", at, steps: { plan: "failed" }, test: true });
    await indexRun({ workflow: wf, status: "failed", at: at - 200 * HOUR, steps: { plan: "failed" } });

    const res = await api(`/api/workflows/${wf}/step-failures`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ workflow_id: wf, hours: 168, runs: 5 });
    expect(body.steps).toEqual([
      { node_id: "plan", name: null, type: "create_or_get_plan", runs: 5, succeeded: 4, failed: 1, failure_rate: 0.2 },
      { node_id: "items", name: "Add the low sizes", type: "add_items_to_plan", runs: 4, succeeded: 2, failed: 2, failure_rate: 0.5 },
      { node_id: "notify", name: null, type: "call_webhook", runs: 2, succeeded: 1, failed: 1, failure_rate: 0.5 },
      { node_id: "legacy", name: null, type: null, runs: 1, succeeded: 0, failed: 1, failure_rate: 1 },
    ]);
    const longer = await json(await api(`/api/workflows/${wf}/step-failures?hours=720`));
    expect(longer.steps[0]).toMatchObject({ node_id: "plan", runs: 6, failed: 2 });
  });

  it("answers zeros for a workflow without runs, 404 for an unknown one and 400 for a bad window", async () => {
    const created = await json(await api("/api/workflows", { method: "POST", json: restockDefinition({ name: uid("quiet") }) }));
    const quiet = await json(await api(`/api/workflows/${created.id}/step-failures`));
    expect(quiet.runs).toBe(0);
    expect(quiet.steps.map((s: { node_id: string; runs: number; failure_rate: number }) => [s.node_id, s.runs, s.failure_rate])).toEqual([
      ["plan", 0, 0],
      ["items", 0, 0],
      ["notify", 0, 0],
    ]);
    expect((await api("/api/workflows/wf_nope/step-failures")).status).toBe(404);
    expect((await api(`/api/workflows/${created.id}/step-failures?hours=0`)).status).toBe(400);
    expect((await api(`/api/workflows/${created.id}/step-failures?hours=721`)).status).toBe(400);
  });

  it("is described in the OpenAPI document with the runs stats", async () => {
    const doc = await json(await api("/api/openapi.json", { token: null }));
    expect(doc.paths["/api/runs/stats"].get.operationId).toBe("getRunStats");
    expect(doc.paths["/api/workflows/{id}/step-failures"].get.operationId).toBe("getStepFailures");
    expect(doc.paths["/api/plans/{id}/export.csv"].get.responses["200"].content["text/csv"]).toBeDefined();
    expect(doc.paths["/api/plans/{id}/lines/{line_id}"].patch.operationId).toBe("setPlanLineQuantity");
  });
});
