/** The run state machine when runs stop early: cancelled, attempts lost, outputs too large. */
import { describe, expect, it } from "vitest";
import { DEADLINE_MARGIN_MS, INTERRUPTED, MAX_STEP_OUTPUT_BYTES } from "../../worker/engine/run-machine";
import { initialState, nextWake, resting } from "../../worker/engine/run-state";
import { NODE_CATALOG } from "../../worker/nodes";
import { begin, clock, definition, executes, hook, ok, status, step, T0 } from "../support/run-machine";

describe("run state machine", () => {
  describe("cancel", () => {
    it("stops a waiting run at once: the wait and pending steps become cancelled", () => {
      const def = definition([{ id: "w", type: "wait", config: { duration: { days: 3 } }, next: "a" }, hook("a")]);
      let { state } = begin(def);
      const r = step(state, def, { type: "cancel" }, clock(T0 + 5000));
      state = r.state;
      expect(state.status).toBe("cancelled");
      expect(state.finished_at).toBe("2026-11-22T10:00:05.000Z");
      expect(status(state)).toEqual({ w: "cancelled", a: "cancelled" });
      expect(state.steps[0]!.wake_at).toBeNull();
      expect(nextWake(state)).toBeNull();
    });

    it("stops a retrying run and closes nothing twice", () => {
      const def = definition([hook("a", { next: "b" }), hook("b")]);
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: { ok: false, error: "HTTP 500", retryable: true } }));
      ({ state } = step(state, def, { type: "cancel" }));
      expect(status(state)).toEqual({ a: "cancelled", b: "cancelled" });
      expect(state.steps[0]!.next_attempt_at).toBeNull();
      expect(state.steps[0]!.attempts).toHaveLength(1);
    });

    it("closes an attempt still running and ignores its result", () => {
      const def = definition([hook("a")]);
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "cancel" }));
      expect(state.steps[0]!.attempts[0]!.error).toBe("cancelled");
      const late = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() });
      expect(late.state.status).toBe("cancelled");
      expect(late.state.steps[0]!.output).toBeNull();
    });

    it("leaves a finished run as it is", () => {
      const def = definition([hook("a")]);
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() }));
      const after = step(state, def, { type: "cancel" }, clock(T0 + 9000));
      expect(after.state.status).toBe("completed");
      expect(after.state.finished_at).toBe(state.finished_at);
      expect(after.state.steps).toEqual(state.steps);
      expect(after.effects).toEqual([]);
    });
  });

  describe("attempts that never report back", () => {
    const DEADLINE = T0 + 120_000 + DEADLINE_MARGIN_MS;

    it("keeps a wake-up at the deadline of the attempt in flight, and does not rest meanwhile", () => {
      const def = definition([hook("a")]);
      const { state } = begin(def);
      expect(nextWake(state)).toBe(DEADLINE);
      expect(resting(state)).toBe(false);
    });

    it("leaves an open attempt alone before its deadline", () => {
      const def = definition([hook("a")]);
      const { state } = begin(def);
      const r = step(state, def, { type: "tick" }, clock(DEADLINE - 1));
      expect(r.state.steps).toEqual(state.steps);
      expect(r.effects).toEqual([]);
    });

    it("counts an attempt still open at its deadline as interrupted and retries it", () => {
      const def = definition([hook("a")]);
      let { state } = begin(def);
      const r = step(state, def, { type: "tick" }, clock(DEADLINE));
      state = r.state;
      expect(state.steps[0]!.attempts[0]).toMatchObject({ finished_at: new Date(DEADLINE).toISOString(), error: INTERRUPTED });
      expect(state.steps[0]!.next_attempt_at).not.toBeNull();
      expect(executes(r.effects)).toEqual([]);
      expect(nextWake(state)).toBe(Date.parse(state.steps[0]!.next_attempt_at!));
      expect(resting(state)).toBe(true);
      // The answer of the interrupted attempt, should it come after all, changes nothing.
      expect(step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() }).state.steps).toEqual(state.steps);
    });

    it("fails the step when its last attempt is interrupted", () => {
      const def = definition([hook("a", { retry: { max_attempts: 1 } })]);
      const { state } = step(begin(def).state, def, { type: "tick" }, clock(DEADLINE));
      expect(state.status).toBe("failed");
      expect(state.steps[0]!.error).toBe(`${INTERRUPTED} (gave up after 1 attempts)`);
      expect(nextWake(state)).toBeNull();
    });

    it("leaves a sleeping run asleep", () => {
      const def = definition([{ id: "w", type: "wait", config: { duration: { hours: 1 } } }]);
      const { state } = begin(def);
      expect(step(state, def, { type: "tick" }).state.steps[0]).toEqual(state.steps[0]);
    });

    it("starts a run that was recorded but never started", () => {
      const def = definition([hook("a")]);
      const pending = initialState({
        id: "r",
        workflow_id: "w",
        workflow_version: 1,
        definition: def,
        test: true,
        now: new Date(T0),
        catalog: NODE_CATALOG,
        trigger: { id: "e", type: "inventory_item.updated", entity: "inventory_item", entity_id: "i", occurred_at: "x", data: { sku: 1 }, previous: null },
      });
      expect(nextWake(pending)).toBe(0);
      expect(executes(step(pending, def, { type: "tick" }).effects)).toHaveLength(1);
    });
  });

  describe("outputs too large to store", () => {
    const def = definition([hook("a", { next: "b" }), hook("b")]);

    it("fails the step with its size, without retrying, and records no output", () => {
      let { state } = begin(def);
      const output = { body: "x".repeat(MAX_STEP_OUTPUT_BYTES) };
      const bytes = JSON.stringify(output).length;
      const r = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok(output) });
      state = r.state;
      expect(state.status).toBe("failed");
      expect(state.steps[0]!.error).toBe(`The step's output is ${bytes} bytes; at most ${MAX_STEP_OUTPUT_BYTES} can be stored`);
      expect(state.steps[0]!.attempts).toHaveLength(1);
      expect(state.steps[0]!.output).toBeNull();
      expect(status(state)).toEqual({ a: "failed", b: "skipped" });
    });

    it("counts an artifact with the output, and keeps an output at the limit", () => {
      const { state } = begin(def);
      const artifact = { name: "message", contentType: "message/rfc822", content: "é".repeat(MAX_STEP_OUTPUT_BYTES / 2) };
      const big = step(state, def, { type: "result", node_id: "a", attempt: 1, result: { ok: true, output: {}, artifact } });
      expect(big.state.steps[0]!.error).toBe(`The step's output is ${MAX_STEP_OUTPUT_BYTES + 2} bytes; at most ${MAX_STEP_OUTPUT_BYTES} can be stored`);
      expect(big.effects.filter((e) => e.type === "artifact")).toEqual([]);
      const fits = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok("x".repeat(MAX_STEP_OUTPUT_BYTES - 2)) });
      expect(fits.state.steps[0]!.status).toBe("succeeded");
    });
  });
});
