import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEADLINE_MARGIN_MS, DEFAULT_STEP_TIMEOUT_MS, INTERRUPTED, MAX_STEP_OUTPUT_BYTES } from "../../worker/engine/run-machine";
import type { RunState } from "../../worker/engine/run-state";
import type { RunObject } from "../../worker/run/run-object";
import { api, uid } from "../support/api";
import { alarmOf, createWorkflow, expectAtRest, fireAt, noJitter, program, reached, received, settled, startRun, startTest, stubOf, webhook } from "../support/runs";

/*
 * A run never hangs in `running`: whatever goes wrong between an action and the record of its
 * result — a result too large to store, a write that throws, a runtime that stops — the attempt
 * is open only while an alarm stands at its deadline, and the run goes on from there.
 */

const pause = { id: "pause", type: "wait", config: { duration: { minutes: 1 } }, next: "notify" };

describe("results that cannot be recorded", () => {
  it("fails a step whose output is too large to store, with its size, and ends the run", async () => {
    // A 1 MB email: its raw message, kept beside the step, is more than a step may store.
    const note = "x".repeat(200 * 1024);
    const body = "{{trigger.data.note}}".repeat(5);
    const { id, run } = await startTest([{ id: "mail", type: "send_email", config: { to: ["planner@example.com"], subject: "Big", body } }], {
      sku: "SKU-1",
      note,
    });
    expect(run.status).toBe("failed");
    const step = run.steps[0]!;
    expect(step.status).toBe("failed");
    expect(step.error).toMatch(new RegExp(`^The step's output is \\d+ bytes; at most ${MAX_STEP_OUTPUT_BYTES} can be stored$`));
    expect(step.attempts).toHaveLength(1);
    expect(step.output).toBeNull();
    expect(run.error).toContain(step.error);
    expect((await api(`/api/runs/${id}/steps/mail/message`)).status).toBe(404);
    // Nothing is left to do, and nothing waits.
    await expectAtRest(id);
  });

  it("keeps the alarm at the attempt's deadline when recording its result throws, and completes the run from it", async () => {
    const bucket = uid("unrecorded");
    const { id, run } = await startTest([pause, webhook(bucket, { retry: noJitter })]);
    // Fault: the write that records notify's result throws, once.
    await runInDurableObject(stubOf(id), (_obj: RunObject, state) => {
      const kv = state.storage.kv;
      const put = kv.put.bind(kv);
      kv.put = <T,>(key: string, value: T) => {
        const recordsResult = key === "run" && (value as RunState).steps.some((s) => s.node_id === "notify" && s.status !== "running");
        if (!recordsResult) return put(key, value);
        kv.put = put;
        throw new Error("string or blob too big: SQLITE_TOOBIG");
      };
    });
    const fired = await fireAt(id, Date.parse(run.steps[0]!.wake_at!));
    expect(await received(bucket)).toHaveLength(1);
    // The result is lost; the attempt is still open, and an alarm stands at its deadline.
    expect(fired.run.status).toBe("running");
    expect(fired.run.steps[1]!.attempts).toEqual([expect.objectContaining({ finished_at: null })]);
    const deadline = Date.parse(fired.run.steps[1]!.attempts[0]!.started_at) + DEFAULT_STEP_TIMEOUT_MS + DEADLINE_MARGIN_MS;
    expect(await alarmOf(id)).toBe(deadline);

    // At the deadline the attempt counts as interrupted and is retried.
    const interrupted = await fireAt(id, deadline);
    const step = interrupted.run.steps[1]!;
    expect(step.attempts[0]).toMatchObject({ error: INTERRUPTED });
    expect(step.next_attempt_at).not.toBeNull();
    const done = await fireAt(id, Date.parse(step.next_attempt_at!));
    expect(done.run.status).toBe("completed");
    const calls = await received(bucket);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.headers["idempotency-key"]))).toEqual(new Set([`${id}:notify`]));
  });
});

describe("restarts", () => {
  it("retries an attempt the runtime cut off, at its deadline, with the same Idempotency-Key", async () => {
    const bucket = uid("cutoff");
    await program(bucket, [{ status: 200, delay_ms: 5000 }]);
    const id = await startRun(await createWorkflow([webhook(bucket, { retry: noJitter })]));
    // The runtime stops while the action is in flight.
    await reached(bucket);
    await runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.abort("the runtime stopped")).catch(() => undefined);

    // A fresh instance reads the run and does nothing more: the attempt is still open.
    const read = await settled(id);
    const attempt = read.steps[0]!.attempts[0]!;
    expect(read.steps[0]!.attempts).toEqual([expect.objectContaining({ finished_at: null })]);
    expect(await received(bucket)).toHaveLength(1);
    const deadline = Date.parse(attempt.started_at) + DEFAULT_STEP_TIMEOUT_MS + DEADLINE_MARGIN_MS;
    expect(await alarmOf(id)).toBe(deadline);

    const interrupted = await fireAt(id, deadline);
    expect(interrupted.run.steps[0]!.attempts[0]!.error).toBe(INTERRUPTED);
    const done = await fireAt(id, Date.parse(interrupted.run.steps[0]!.next_attempt_at!));
    expect(done.run.status).toBe("completed");
    const calls = await received(bucket);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers["idempotency-key"]).toBe(calls[0]!.headers["idempotency-key"]);
  });
});

describe("starting", () => {
  it("refuses a version that does not exist with an error naming it, and holds no run until a real one starts", async () => {
    const stub = env.RUNS.get(env.RUNS.idFromName(uid("start")));
    const workflowId = await createWorkflow([webhook(uid("start"))]);
    const trigger = { id: uid("evt"), type: "inventory_item.updated", entity: "inventory_item", entity_id: uid("inv"), occurred_at: new Date().toISOString(), data: {}, previous: null };
    // Over RPC only the message of an error arrives: it is all the caller has to go on.
    const refused = await stub.start({ workflow_id: workflowId, workflow_version: 7, trigger, test: true }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(refused).toHaveProperty("message", `Workflow ${workflowId} has no version 7`);
    expect(await stub.snapshot()).toBeNull();
    const started = await stub.start({ workflow_id: workflowId, workflow_version: 1, trigger, test: true });
    expect(started).toMatchObject({ created: true });
  });
});
