import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upsertRunStatement, type RunIndexWrite } from "../../worker/db/run-index";
import type { RunState } from "../../worker/engine/run-state";
import { emptySummary } from "../../worker/nodes";
import { IndexWriter } from "../../worker/run/index-writer";
import type { RunObject } from "../../worker/run/run-object";
import { RunStorage } from "../../worker/run/storage";
import { uid } from "../support/api";
import { fireAt, settled, startTest, stubOf, webhook } from "../support/runs";

/*
 * The D1 row of a run only moves forward. Writes of one run can be in flight together — the
 * "running" row written a second into a busy step, and the final one — and land in any order.
 */

const rowOf = (id: string) => env.DB.prepare("SELECT status, rev, steps FROM runs WHERE id = ?").bind(id).first<{ status: string; rev: number; steps: string }>();

function write(id: string, rev: number, status: string): RunIndexWrite {
  return {
    id,
    rev,
    workflow_id: "wf_index",
    workflow_version: 1,
    status,
    test: true,
    event_id: null,
    entity: "inventory_item",
    entity_id: "inv_1",
    waiting_for: null,
    flow_key: null,
    started_at: 1_700_000_000_000,
    finished_at: status === "completed" ? 1_700_000_001_000 : null,
    error: null,
    summary: emptySummary(),
    steps: { notify: status === "completed" ? "succeeded" : "running" },
  };
}

describe("the D1 index of runs", () => {
  it("keeps a run's row at its newest revision, whichever write lands last", async () => {
    const id = uid("run");
    await upsertRunStatement(env.DB, write(id, 2, "running")).run();
    await upsertRunStatement(env.DB, write(id, 5, "completed")).run();
    await upsertRunStatement(env.DB, write(id, 3, "running")).run();
    expect(await rowOf(id)).toEqual({ status: "completed", rev: 5, steps: JSON.stringify({ notify: "succeeded" }) });
    // The same revision again is the same content: idempotent.
    await upsertRunStatement(env.DB, write(id, 5, "completed")).run();
    expect((await rowOf(id))!.rev).toBe(5);
  });

  it("keeps a completed run completed when its stale running row is written after the final one", async () => {
    const bucket = uid("index");
    const { id, run } = await startTest([{ id: "pause", type: "wait", config: { duration: { minutes: 5 } }, next: "notify" }, webhook(bucket)]);
    expect(run.status).toBe("running");
    // The state as the delayed "running" write read it.
    const stale = await runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<RunState>("run")!);
    expect(stale.status).toBe("running");
    const done = await fireAt(id, Date.parse(run.steps[0]!.wake_at!));
    expect(done.run.status).toBe("completed");
    expect((await rowOf(id))!.status).toBe("completed");

    // That write lands now, after the final one: the run's writer over the run's own storage.
    const written = await runInDurableObject(stubOf(id), (_obj: RunObject, state) => new IndexWriter(new RunStorage(state.storage.kv), env.DB).write(stale));
    expect(written).toBe(true);
    expect(await rowOf(id)).toMatchObject({ status: "completed", steps: JSON.stringify({ pause: "succeeded", notify: "succeeded" }) });
    // An alarm left armed changes neither the row nor the run, and leaves none behind.
    await runDurableObjectAlarm(stubOf(id));
    expect(await runDurableObjectAlarm(stubOf(id))).toBe(false);
    expect(await rowOf(id)).toMatchObject({ status: "completed" });
    expect((await settled(id)).status).toBe("completed");
  });
});
