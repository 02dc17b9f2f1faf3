import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { createWorkflow, program, received, settled, startRun, webhook } from "../support/runs";

/*
 * Retry from a step (SPEC §15): a new run linked both ways, the steps before `from` reused and
 * not executed again — the sink counts every webhook call, so a step done twice shows.
 */

/** erp (webhook) → notify (webhook): notify fails at once with a 404 unless the sink is told otherwise. */
function twoHooks(bucket: string) {
  return [
    { ...webhook(`${bucket}-erp`), id: "erp", next: "notify" },
    { ...webhook(`${bucket}-notify`), id: "notify" },
  ];
}

const retry = (id: string, body: unknown = {}) => api(`/api/runs/${id}/retry`, { method: "POST", json: body });
const run = async (id: string): Promise<RunRecord> => json(await api(`/api/runs/${id}`));

/** A workflow of `nodes` and one test run of it that failed. */
async function failedRun(bucket: string, nodes: unknown[] = twoHooks(bucket)) {
  await program(`${bucket}-notify`, [{ status: 404 }]);
  const workflowId = await createWorkflow(nodes);
  const id = await startRun(workflowId);
  const failed = await settled(id);
  expect(failed.status).toBe("failed");
  return { workflowId, id, failed };
}

describe("retry from a step", () => {
  it("starts a new run from the failed step without calling the first step's webhook again", async () => {
    const bucket = uid("retry");
    const { id } = await failedRun(bucket);
    expect(await received(`${bucket}-erp`)).toHaveLength(1);

    const res = await retry(id);
    expect(res.status).toBe(201);
    const answer = await json(res);
    expect(answer).toMatchObject({ retry_of: id, from: "notify", workflow_version: 1, run_id: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(answer.side_effects).toEqual([{ node_id: "erp", type: "call_webhook", status: "succeeded", summary: expect.stringContaining("status: 200"), counters: { webhooks_called: 1 } }]);

    const again = await settled(answer.run_id);
    expect(again.status).toBe("completed");
    expect(again.retry_of).toEqual({ run_id: id, from: "notify" });
    const erp = again.steps.find((s) => s.node_id === "erp")!;
    expect(erp).toMatchObject({ status: "succeeded", reused: true });
    expect(erp.logs.at(-1)!.message).toContain(`Reused from run ${id}`);
    expect(again.steps.find((s) => s.node_id === "notify")).toMatchObject({ status: "succeeded" });
    expect(again.steps.find((s) => s.node_id === "notify")!.reused).toBeUndefined();
    // The first step's webhook was called once in all; the failed one once per run.
    expect(await received(`${bucket}-erp`)).toHaveLength(1);
    const notified = await received(`${bucket}-notify`);
    expect(notified).toHaveLength(2);
    // A new run is a new attempt of the step: its own Idempotency-Key.
    expect(notified[1]!.headers["idempotency-key"]).toBe(`${answer.run_id}:notify`);
    // Only what the retry did counts in its summary.
    expect(again.summary.webhooks_called).toBe(1);

    const original = await run(id);
    expect(original).toMatchObject({ status: "failed", retried_by: [answer.run_id], retry_of: null });
  });

  it("runs a named earlier step and what follows again", async () => {
    const bucket = uid("earlier");
    const { id } = await failedRun(bucket);
    const answer = await json(await retry(id, { from: "erp" }));
    expect(answer).toMatchObject({ from: "erp", side_effects: [] });
    expect((await settled(answer.run_id)).status).toBe("completed");
    expect(await received(`${bucket}-erp`)).toHaveLength(2);
  });

  it("answers a dry run with the plan and the side effects, and starts nothing", async () => {
    const bucket = uid("dry");
    const { id } = await failedRun(bucket);
    const res = await retry(id, { dry_run: true });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ run_id: null, from: "notify", side_effects: [{ node_id: "erp" }] });
    expect((await run(id)).retried_by).toEqual([]);
    expect(await received(`${bucket}-notify`)).toHaveLength(1);
  });

  it("retries on the latest version: reused steps by node id, new steps after `from` run", async () => {
    const bucket = uid("latest");
    const { workflowId, id } = await failedRun(bucket);
    const v2 = [...twoHooks(bucket).map((n) => (n.id === "notify" ? { ...n, next: "audit" } : n)), { ...webhook(`${bucket}-audit`), id: "audit" }];
    const saved = await api(`/api/workflows/${workflowId}`, { method: "PUT", json: { name: uid("v2"), trigger: { entity: "inventory_item" }, start: "erp", nodes: v2 } });
    expect((await json(saved)).version).toBe(2);

    const pinned = await json(await retry(id, { dry_run: true }));
    expect(pinned.workflow_version).toBe(1);
    const answer = await json(await retry(id, { version: "latest" }));
    expect(answer).toMatchObject({ workflow_version: 2, from: "notify" });
    const again = await settled(answer.run_id);
    expect(again).toMatchObject({ status: "completed", workflow_version: 2 });
    expect(again.steps.map((s) => [s.node_id, s.status, s.reused ?? false])).toEqual([
      ["erp", "succeeded", true],
      ["notify", "succeeded", false],
      ["audit", "succeeded", false],
    ]);
    expect(await received(`${bucket}-erp`)).toHaveLength(1);
    expect(await received(`${bucket}-audit`)).toHaveLength(1);
  });

  it("refuses the latest version when a step before `from` is new there", async () => {
    const bucket = uid("newstep");
    const { workflowId, id } = await failedRun(bucket);
    const v2 = [{ ...webhook(`${bucket}-first`), id: "first", next: "erp" }, ...twoHooks(bucket)];
    await api(`/api/workflows/${workflowId}`, { method: "PUT", json: { name: uid("v2"), trigger: { entity: "inventory_item" }, start: "first", nodes: v2 } });
    const res = await retry(id, { version: "latest" });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "from", message: expect.stringContaining('"first" comes before "notify" in version 2') }]);
  });

  it("refuses a node no version has, one past the failed step, and one only a branch not taken leads to", async () => {
    const bucket = uid("bad");
    const nodes = [
      { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "notify", else: "other" },
      { ...webhook(`${bucket}-notify`), id: "notify", next: "after" },
      { ...webhook(`${bucket}-after`), id: "after" },
      { ...webhook(`${bucket}-other`), id: "other" },
    ];
    const { id } = await failedRun(bucket, nodes);
    for (const [from, message] of [
      ["ghost", 'no node "ghost"'],
      ["after", '"after" comes after "notify", which failed'],
      ["other", "never reached"],
    ] as const) {
      const res = await retry(id, { from });
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.issues[0]).toMatchObject({ path: "from", message: expect.stringContaining(message) });
    }
    // The condition is reused with the branch it took.
    const answer = await json(await retry(id));
    expect(answer).toMatchObject({ from: "notify", side_effects: [] });
    const again = await settled(answer.run_id);
    expect(again.steps.map((s) => [s.node_id, s.status])).toEqual([
      ["check", "succeeded"],
      ["notify", "succeeded"],
      ["after", "succeeded"],
      ["other", "skipped"],
    ]);
    expect((await run(id)).retried_by).toEqual([answer.run_id]);
  });

  it("answers 404 for an unknown run, 409 for a run that has not ended, 400 for a bad body", async () => {
    expect((await retry("f".repeat(64))).status).toBe(404);
    expect((await retry("not-a-run")).status).toBe(404);
    const waiting = await createWorkflow([{ id: "pause", type: "wait", config: { duration: { hours: 1 } } }]);
    const id = await startRun(waiting);
    await settled(id);
    const res = await retry(id);
    expect(res.status).toBe(409);
    expect((await json(res)).error.message).toContain("running");
    for (const body of [{ from: "Not An Id" }, { version: "newest" }, { dry_run: "yes" }, { extra: true }]) {
      const bad = await retry(id, body);
      expect(bad.status).toBe(400);
    }
  });

  it("needs `from` for a completed run, and retries it from there", async () => {
    const bucket = uid("done");
    const workflowId = await createWorkflow(twoHooks(bucket));
    const id = await startRun(workflowId);
    expect((await settled(id)).status).toBe("completed");
    const res = await retry(id);
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toContain("did not fail");
    const answer = await json(await retry(id, { from: "notify" }));
    expect((await settled(answer.run_id)).status).toBe("completed");
    expect(await received(`${bucket}-erp`)).toHaveLength(1);
    expect(await received(`${bucket}-notify`)).toHaveLength(2);
  });
});

describe("bulk retry", () => {
  it("retries the failed runs of a workflow started since a time, a page at a time, never one twice", async () => {
    const bucket = uid("bulk");
    const since = new Date(Date.now() - 1000).toISOString();
    await program(`${bucket}-notify`, [{ status: 404 }, { status: 404 }, { status: 404 }]);
    const workflowId = await createWorkflow(twoHooks(bucket));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await startRun(workflowId);
      expect((await settled(id)).status).toBe("failed");
      ids.push(id);
    }
    const bulk = (body: Record<string, unknown>) => api("/api/runs/retry", { method: "POST", json: { workflow_id: workflowId, since, ...body } });

    const first = await json(await bulk({ limit: 2 }));
    expect(first.items).toHaveLength(2);
    expect(first.skipped).toEqual([]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json(await bulk({ limit: 2, cursor: first.next_cursor }));
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    const retried = [...first.items, ...second.items];
    expect(retried.map((r: { run_id: string }) => r.run_id).sort()).toEqual([...ids].sort());
    for (const r of retried) {
      const again = await settled(r.retry_id);
      expect(again).toMatchObject({ status: "completed", retry_of: { run_id: r.run_id, from: "notify" } });
    }
    expect(await received(`${bucket}-erp`)).toHaveLength(3);

    // The same request again starts nothing: each was retried already.
    const repeat = await json(await bulk({}));
    expect(repeat.items).toEqual([]);
    expect(repeat.skipped).toHaveLength(3);
    expect(repeat.skipped[0].reason).toContain("retried already");
    expect(await received(`${bucket}-notify`)).toHaveLength(6);
  });

  it("takes nothing started before `since`, answers 404 for an unknown workflow and 400 for a bad body", async () => {
    const bucket = uid("window");
    const { workflowId } = await failedRun(bucket);
    const later = await json(await api("/api/runs/retry", { method: "POST", json: { workflow_id: workflowId, since: new Date(Date.now() + 60_000).toISOString() } }));
    expect(later).toEqual({ items: [], skipped: [], next_cursor: null });
    expect((await api("/api/runs/retry", { method: "POST", json: { workflow_id: "wf_nope", since: new Date().toISOString() } })).status).toBe(404);
    for (const body of [{ workflow_id: workflowId }, { workflow_id: workflowId, since: "yesterday" }, { workflow_id: workflowId, since: new Date().toISOString(), limit: 501 }, { workflow_id: workflowId, since: new Date().toISOString(), status: "running" }]) {
      expect((await api("/api/runs/retry", { method: "POST", json: body })).status).toBe(400);
    }
  });
});
