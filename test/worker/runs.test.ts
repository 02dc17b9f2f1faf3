import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RunObject } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { expectAtRest } from "../support/runs";

const HOUR = 3_600_000;

function waitFlow(name = uid("wait")) {
  return {
    name,
    trigger: { entity: "inventory_item", tags: { include: ["sneakers"] } },
    start: "low",
    nodes: [
      { id: "low", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "pause", else: "done" },
      { id: "pause", type: "wait", config: { duration: { hours: 1 } }, next: "check" },
      { id: "check", type: "condition", config: { any: [{ left: "{{trigger.previous.on_hand}}", op: "eq", right: 0 }] }, then: "done" },
      { id: "done", type: "wait", config: { until: { type: "absolute", date: "2020-01-01" } } },
    ],
  };
}

async function createWorkflow(def: unknown) {
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status).toBe(201);
  return json(res);
}

async function testRun(workflowId: string, event: Record<string, unknown>) {
  const res = await api(`/api/workflows/${workflowId}/test`, { method: "POST", json: event });
  expect(res.status).toBe(202);
  return (await json(res)).id as string;
}

const stubOf = (id: string) => env.RUNS.get(env.RUNS.idFromString(id));
const event = (onHand: number) => ({ entity_id: uid("inv"), data: { variant_id: "v", shop_id: "s", on_hand: onHand, on_order: 0, target: 10, tags: ["sneakers"] }, previous: { on_hand: 0 } });

/** Moves the run's clock forward instead of sleeping, then fires its alarm. */
async function advanceClock(id: string, ms: number) {
  await runInDurableObject(stubOf(id), (obj: RunObject) => {
    const base = Date.now();
    obj.clock.now = () => Date.now() - base + base + ms;
  });
  return runDurableObjectAlarm(stubOf(id));
}

describe("test runs", () => {
  it("starts a test run of the current version whatever the status, and records every step", async () => {
    const wf = await createWorkflow(waitFlow());
    const id = await testRun(wf.id, event(2));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const run = await json(await api(`/api/runs/${id}`));
    expect(run).toMatchObject({ id, workflow_id: wf.id, workflow_version: 1, workflow_name: wf.name, status: "running", test: true });
    expect(run.definition.start).toBe("low");
    expect(run.steps.map((s: { node_id: string; status: string }) => [s.node_id, s.status])).toEqual([
      ["low", "succeeded"],
      ["pause", "running"],
      ["check", "pending"],
      ["done", "pending"],
    ]);
    expect(run.steps[0].input).toEqual({ all: [{ left: 2, op: "lt", right: 5, result: true }] });
    expect(run.steps[1].wake_at).toBe(new Date(Date.parse(run.steps[1].started_at) + HOUR).toISOString());
  });

  it("refuses a test event without an entity, and a bad type, with 400", async () => {
    const wf = await createWorkflow(waitFlow());
    const res = await api(`/api/workflows/${wf.id}/test`, { method: "POST", json: { data: { on_hand: 1 } } });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues[0].path).toBe("entity_id");
    const bad = await api(`/api/workflows/${wf.id}/test`, { method: "POST", json: { entity_id: "x", type: "planet.updated", data: {} } });
    expect(bad.status).toBe(400);
  });

  it("answers 404 for an unknown run id, whatever its form", async () => {
    expect((await api("/api/runs/nope")).status).toBe(404);
    expect((await api(`/api/runs/${"0".repeat(64)}`)).status).toBe(404);
  });
});

describe("waits and alarms", () => {
  it("sleeps on an alarm and goes on when it is due", async () => {
    const wf = await createWorkflow(waitFlow());
    const id = await testRun(wf.id, event(1));
    // An alarm that fires early changes nothing.
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(true);
    expect((await json(await api(`/api/runs/${id}`))).steps[1].status).toBe("running");
    expect(await advanceClock(id, HOUR + 1000)).toBe(true);
    const run = await json(await api(`/api/runs/${id}`));
    expect(run.status).toBe("completed");
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    expect(run.steps[1].output).toEqual({ waited_until: run.steps[1].wake_at ?? expect.any(String) });
    // Nothing is left to wake it.
    await expectAtRest(id);
  });

  it("survives the object being evicted while it waits", async () => {
    const wf = await createWorkflow(waitFlow());
    const id = await testRun(wf.id, event(0));
    await evictDurableObject(stubOf(id));
    expect(await advanceClock(id, HOUR + 1000)).toBe(true);
    expect((await json(await api(`/api/runs/${id}`))).status).toBe("completed");
  });
});

describe("cancel", () => {
  it("stops a waiting run at once and cancels its pending steps", async () => {
    const wf = await createWorkflow(waitFlow());
    const id = await testRun(wf.id, event(3));
    const res = await api(`/api/runs/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const run = await json(res);
    expect(run.status).toBe("cancelled");
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(["succeeded", "cancelled", "cancelled", "cancelled"]);
    expect(run.finished_at).not.toBeNull();
    await expectAtRest(id);
    const again = await api(`/api/runs/${id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe("conflict");
  });

  it("answers 404 when cancelling an unknown run", async () => {
    expect((await api(`/api/runs/${"a".repeat(64)}/cancel`, { method: "POST" })).status).toBe(404);
  });
});

describe("the D1 index of runs", () => {
  it("lists a run once it sleeps or ends, with filters and paging", async () => {
    const wf = await createWorkflow(waitFlow());
    const sleeping = await testRun(wf.id, event(1));
    const finished = await testRun(wf.id, event(9)); // else branch: straight to done
    await stubOf(sleeping).settled();
    await stubOf(finished).settled();
    const list = await json(await api(`/api/runs?workflow_id=${wf.id}`));
    expect(list.items.map((r: { id: string }) => r.id).sort()).toEqual([sleeping, finished].sort());
    const done = list.items.find((r: { id: string }) => r.id === finished);
    expect(done).toMatchObject({ status: "completed", test: true, workflow_version: 1, workflow_name: wf.name, steps: { low: "succeeded", pause: "skipped", check: "skipped", done: "succeeded" } });
    expect((await json(await api(`/api/runs?workflow_id=${wf.id}&status=running`))).items.map((r: { id: string }) => r.id)).toEqual([sleeping]);
    expect((await json(await api(`/api/runs?workflow_id=${wf.id}&test=false`))).items).toEqual([]);
    const page1 = await json(await api(`/api/runs?workflow_id=${wf.id}&limit=1`));
    const page2 = await json(await api(`/api/runs?workflow_id=${wf.id}&limit=1&cursor=${page1.next_cursor}`));
    expect([page1.items[0].id, page2.items[0].id].sort()).toEqual([sleeping, finished].sort());
    expect(page2.next_cursor).toBeNull();
    // The workflows list shows the last run, and counts the real runs of the last 24 hours: test runs are not.
    const wfs = await json(await api("/api/workflows?limit=500"));
    const stats = wfs.items.find((w: { id: string }) => w.id === wf.id).stats;
    expect(stats.runs_24h).toBe(0);
    expect(stats.last_run).toEqual({ id: page1.items[0].id, status: page1.items[0].status, started_at: page1.items[0].started_at });
  });

  it("rejects bad run filters with 400", async () => {
    expect((await api("/api/runs?status=sleeping")).status).toBe(400);
    expect((await api("/api/runs?test=maybe")).status).toBe(400);
    expect((await api("/api/runs?cursor=zzz")).status).toBe(400);
  });
});
