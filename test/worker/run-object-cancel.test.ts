import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RunObject } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { createWorkflow, noJitter, program, reached, received, settled, startRun, startTest, stubOf, webhook } from "../support/runs";

/*
 * Cancel stops a run at once, in every state it can be in, and a cancelled run performs no
 * effect afterwards: the sink counts every request a run makes.
 */

const cancel = async (id: string) => {
  const res = await api(`/api/runs/${id}/cancel`, { method: "POST" });
  expect(res.status).toBe(200);
  return json(res);
};

/**
 * A run whose first attempt is in flight when its instance stops, as a fresh instance finds it.
 * Were the cut-off attempt settled on load, it would fail for good and the run would go on to
 * "after" (the `next` bucket).
 */
async function cutOffRun() {
  const [slow, next] = [uid("cutoff"), uid("next")];
  await program(slow, [{ status: 200, delay_ms: 5000 }]);
  const first = webhook(slow, { retry: { max_attempts: 1 }, on_error: "continue", next: "after" });
  const id = await startRun(await createWorkflow([first, webhook(next, { id: "after" })]));
  await reached(slow);
  await runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.abort("the runtime stopped")).catch(() => undefined);
  return { id, slow, next };
}

/**
 * Nothing is left that could move a cancelled run: an alarm still armed (it is never deleted, see
 * RunObject.arm) fires and writes nothing, and then none is left.
 */
async function nothingMoreHappens(id: string) {
  const rev = () => runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<{ rev: number }>("run")!.rev);
  const before = await rev();
  await runDurableObjectAlarm(stubOf(id));
  expect(await rev()).toBe(before);
  expect(await runDurableObjectAlarm(stubOf(id))).toBe(false);
  expect((await settled(id)).status).toBe("cancelled");
}

describe("cancel", () => {
  it("stops a waiting run, and the step after the wait never runs", async () => {
    const bucket = uid("waiting");
    const { id, run } = await startTest([{ id: "pause", type: "wait", config: { duration: { hours: 2 } }, next: "notify" }, webhook(bucket)]);
    expect(run.steps[0]!.wake_at).not.toBeNull();
    const cancelled = await cancel(id);
    expect(cancelled.steps.map((s: { status: string }) => s.status)).toEqual(["cancelled", "cancelled"]);
    expect(cancelled.steps[0].wake_at).toBeNull();
    await nothingMoreHappens(id);
    expect(await received(bucket)).toHaveLength(0);
  });

  it("stops a retrying run: no further attempt is made", async () => {
    const bucket = uid("retrying");
    await program(bucket, [{ status: 503 }]);
    const { id, run } = await startTest([webhook(bucket, { retry: { ...noJitter, initial_delay_ms: 60_000 }, next: "after" }), webhook(bucket, { id: "after" })]);
    expect(run.steps[0]!.next_attempt_at).not.toBeNull();
    const cancelled = await cancel(id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.steps.map((s: { status: string }) => s.status)).toEqual(["cancelled", "cancelled"]);
    expect(cancelled.steps[0].next_attempt_at).toBeNull();
    expect(cancelled.steps[0].attempts).toHaveLength(1);
    await nothingMoreHappens(id);
    expect(await received(bucket)).toHaveLength(1);
  });

  it("stops a run while its action is in flight, ignores that action's answer and runs nothing after it", async () => {
    const [slow, next] = [uid("inflight"), uid("next")];
    await program(slow, [{ status: 200, delay_ms: 3000, body: { late: true } }]);
    const id = await startRun(await createWorkflow([webhook(slow, { next: "after" }), webhook(next, { id: "after" })]));
    await reached(slow);
    const cancelled = await cancel(id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.steps[0].attempts).toEqual([expect.objectContaining({ error: "cancelled" })]);
    const after = await settled(id);
    expect(after.status).toBe("cancelled");
    expect(after.steps.map((s) => s.status)).toEqual(["cancelled", "cancelled"]);
    expect(after.steps[0]!.output).toBeNull();
    await nothingMoreHappens(id);
    expect(await received(slow)).toHaveLength(1);
    expect(await received(next)).toHaveLength(0);
  });

  it("cancels a run found on a fresh instance with an attempt in flight, performing nothing first", async () => {
    const { id, slow, next } = await cutOffRun();

    const cancelled = await cancel(id);
    expect(cancelled.steps.map((s: { status: string }) => s.status)).toEqual(["cancelled", "cancelled"]);
    expect(cancelled.steps[0].attempts).toEqual([expect.objectContaining({ error: "cancelled" })]);
    expect((await settled(id)).status).toBe("cancelled");
    await nothingMoreHappens(id);
    expect(await received(slow)).toHaveLength(1);
    expect(await received(next)).toHaveLength(0);
  });

  it("reads a run found on a fresh instance without advancing it", async () => {
    const { id, next } = await cutOffRun();

    const read = await json(await api(`/api/runs/${id}`));
    expect(read.steps.map((s: { status: string }) => s.status)).toEqual(["running", "pending"]);
    expect((await settled(id)).steps.map((s) => s.status)).toEqual(["running", "pending"]);
    expect(await received(next)).toHaveLength(0);
  });
});
