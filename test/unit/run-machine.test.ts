import { describe, expect, it } from "vitest";
import { advance, DEADLINE_MARGIN_MS } from "../../worker/engine/run-machine";
import { nextWake } from "../../worker/engine/run-state";
import type { NodeCatalog } from "../../worker/engine/step";
import { NODE_CATALOG } from "../../worker/nodes";
import { begin, clock, definition, executes, hook, ok, status, step, T0 } from "../support/run-machine";

describe("run state machine", () => {
  it("records every node as pending from the start and executes the first with its resolved input", () => {
    const def = definition([hook("a", { next: "b" }), hook("b")]);
    const { state, effects } = begin(def);
    expect(state.status).toBe("running");
    expect(status(state)).toEqual({ a: "running", b: "pending" });
    const [exec] = executes(effects);
    expect(exec).toMatchObject({ node_id: "a", attempt: 1, timeout_ms: 120_000 });
    expect((exec!.input as { body: unknown }).body).toEqual({ sku: "SKU-1" });
    expect(state.steps[0]!.input).toEqual(exec!.input);
    expect(state.steps[0]!.attempts).toEqual([{ started_at: "2026-11-22T10:00:00.000Z", finished_at: null, error: null }]);
  });

  it("goes through the chain, counts the summary and completes", () => {
    const def = definition([hook("a", { next: "b" }), hook("b")]);
    let { state } = begin(def);
    ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok({ status: 201 }) }));
    expect(status(state)).toEqual({ a: "succeeded", b: "running" });
    const r = step(state, def, { type: "result", node_id: "b", attempt: 1, result: ok() }, clock(T0 + 250));
    state = r.state;
    expect(state.status).toBe("completed");
    expect(state.finished_at).toBe("2026-11-22T10:00:00.250Z");
    expect(state.summary).toMatchObject({ webhooks_called: 2, errors: 0 });
    expect(state.steps[0]!.output).toEqual({ status: 201 });
    const lines = r.effects.filter((e) => e.type === "log").map((e) => (e as { line: Record<string, unknown> }).line);
    expect(lines).toContainEqual({ kind: "step", run_id: "run_1", workflow_id: "wf_1", node_id: "b", status: "succeeded", attempt: 1, ms: 250 });
    expect(lines).toContainEqual(expect.objectContaining({ kind: "run", run_id: "run_1", status: "completed", ms: 250 }));
    expect(nextWake(state)).toBeNull();
  });

  it("answers every event with when to wake the run: an attempt's deadline, a retry, or nothing", () => {
    const retry = { max_attempts: 2, backoff: "fixed", initial_delay_ms: 1000, max_delay_ms: 1000, jitter: false };
    const def = definition([hook("a", { retry })]);
    const started = begin(def);
    expect(started.wakeAt).toBe(T0 + 120_000 + DEADLINE_MARGIN_MS);
    const failed = step(started.state, def, { type: "result", node_id: "a", attempt: 1, result: { ok: false, error: "HTTP 503", retryable: true } });
    expect(failed.wakeAt).toBe(T0 + 1000);
    const retried = step(failed.state, def, { type: "tick" }, clock(T0 + 1000));
    expect(retried.wakeAt).toBe(T0 + 1000 + 120_000 + DEADLINE_MARGIN_MS);
    const done = step(retried.state, def, { type: "result", node_id: "a", attempt: 2, result: ok() }, clock(T0 + 1000));
    expect(done.state.status).toBe("completed");
    expect(done.wakeAt).toBeNull();
    for (const r of [started, failed, retried, done]) expect(r.wakeAt).toBe(nextWake(r.state));
  });

  it("knows the node types only through the catalog it is handed", () => {
    const def = definition([hook("a")]);
    const webhook = NODE_CATALOG.node("call_webhook");
    if (webhook.kind !== "action") throw new Error("call_webhook is an action");
    const catalog: NodeCatalog = {
      counters: ["bytes_sent", "errors"],
      node: (type) => ({ ...webhook, type, resolve: () => ({ resolved: "by the catalog" }), summary: { counters: ["bytes_sent"], summarize: () => ({ bytes_sent: 3 }) } }),
    };
    const { state, effects } = begin(def, undefined, catalog);
    expect(state.summary).toEqual({ bytes_sent: 0, errors: 0 });
    expect(executes(effects)[0]!.input).toEqual({ resolved: "by the catalog" });
    const done = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() }, clock(), catalog);
    expect(done.state.summary).toEqual({ bytes_sent: 3, errors: 0 });
  });

  it("makes later steps' output available to interpolation", () => {
    const def = definition([hook("a", { next: "b" }), { ...hook("b"), config: { url: "https://x.example.com/{{steps.a.output.body.id}}" } }]);
    let { state } = begin(def);
    const r = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok({ body: { id: 42 } }) });
    expect((executes(r.effects)[0]!.input as { url: string }).url).toBe("https://x.example.com/42");
  });

  it("takes the then branch and records nodes only the else branch reaches as skipped", () => {
    const def = definition([
      { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "low", else: "fine" },
      hook("low", { next: "join" }),
      hook("fine", { next: "only_else" }),
      hook("only_else", { next: "join" }),
      hook("join"),
    ]);
    let { state } = begin(def);
    expect(status(state)).toEqual({ check: "succeeded", low: "running", fine: "skipped", only_else: "skipped", join: "pending" });
    expect(state.steps[0]!.output).toEqual({ result: true, branch: "then" });
    expect(state.steps[0]!.input).toEqual({ all: [{ left: 2, op: "lt", right: 5, result: true }] });
    ({ state } = step(state, def, { type: "result", node_id: "low", attempt: 1, result: ok() }));
    ({ state } = step(state, def, { type: "result", node_id: "join", attempt: 1, result: ok() }));
    expect(state.status).toBe("completed");
    expect(status(state)).toEqual({ check: "succeeded", low: "succeeded", fine: "skipped", only_else: "skipped", join: "succeeded" });
  });

  it("evaluates a condition on a missing path as false, for exists and every comparison, recording it as missing", () => {
    const exists = definition([
      { id: "c", type: "condition", config: { all: [{ left: "{{trigger.data.colour}}", op: "exists" }] }, then: "a" },
      hook("a"),
    ]);
    const r1 = begin(exists);
    expect(r1.state.status).toBe("completed");
    expect(status(r1.state)).toEqual({ c: "succeeded", a: "skipped" });

    const ne = definition([{ id: "c", type: "condition", config: { all: [{ left: "{{trigger.data.colour}}", op: "ne", right: "red" }] }, then: "a" }, hook("a")]);
    const r2 = begin(ne);
    expect(r2.state.status).toBe("completed");
    expect(status(r2.state)).toEqual({ c: "succeeded", a: "skipped" });
    expect(r2.state.steps[0]!.input).toEqual({ all: [{ left: null, op: "ne", right: "red", result: false, missing: ["left"] }] });
    expect(r2.state.steps[0]!.output).toEqual({ result: false, branch: "else" });
  });

  it("fails a step whose input cannot be resolved, without executing it", () => {
    const def = definition([{ ...hook("a"), config: { url: "https://x.example.com/{{trigger.data.nope}}" } }]);
    const { state, effects } = begin(def);
    expect(executes(effects)).toEqual([]);
    expect(state.status).toBe("failed");
    expect(state.steps[0]!.error).toBe('Could not prepare the input: "{{trigger.data.nope}}" is missing in this run');
    expect(state.summary.errors).toBe(1);
  });

  describe("retries", () => {
    const policy = { max_attempts: 3, backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 3000, jitter: false };
    const def = definition([hook("a", { retry: policy, next: "b" }), hook("b")]);
    const fail = (retryable = true, retryAfterMs?: number) => ({ ok: false as const, error: "HTTP 503", retryable, ...(retryAfterMs ? { retryAfterMs } : {}) });

    it("waits with exponential back-off, then executes the next attempt when due", () => {
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: fail() }));
      expect(state.steps[0]).toMatchObject({ status: "running", error: "HTTP 503", next_attempt_at: "2026-11-22T10:00:01.000Z" });
      expect(state.steps[0]!.attempts[0]).toEqual({ started_at: "2026-11-22T10:00:00.000Z", finished_at: "2026-11-22T10:00:00.000Z", error: "HTTP 503" });
      expect(nextWake(state)).toBe(T0 + 1000);
      // An early alarm changes nothing.
      expect(executes(step(state, def, { type: "tick" }, clock(T0 + 999)).effects)).toEqual([]);
      let r = step(state, def, { type: "tick" }, clock(T0 + 1000));
      expect(executes(r.effects)).toMatchObject([{ node_id: "a", attempt: 2 }]);
      state = r.state;
      expect(state.steps[0]!.next_attempt_at).toBeNull();
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 2, result: fail() }, clock(T0 + 1000)));
      expect(state.steps[0]!.next_attempt_at).toBe("2026-11-22T10:00:03.000Z"); // 2 s, doubled
      r = step(state, def, { type: "tick" }, clock(T0 + 3000));
      state = r.state;
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 3, result: fail() }, clock(T0 + 3000)));
      expect(state.status).toBe("failed");
      expect(state.steps[0]!.error).toBe("HTTP 503 (gave up after 3 attempts)");
      expect(state.steps[0]!.attempts).toHaveLength(3);
      expect(status(state)).toEqual({ a: "failed", b: "skipped" });
      expect(state.summary.errors).toBe(1);
    });

    it("never retries sooner than Retry-After asked", () => {
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: fail(true, 60_000) }));
      expect(state.steps[0]!.next_attempt_at).toBe("2026-11-22T10:01:00.000Z");
    });

    it("applies full jitter within the exponential ceiling", () => {
      const jittered = definition([hook("a", { retry: { ...policy, jitter: true } })]);
      let { state } = begin(jittered);
      ({ state } = advance(state, jittered, { type: "result", node_id: "a", attempt: 1, result: fail() }, clock(T0, 0.25), NODE_CATALOG));
      expect(state.steps[0]!.next_attempt_at).toBe(new Date(T0 + 250).toISOString());
    });

    it("fails at once on a non-retryable error", () => {
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: fail(false) }));
      expect(state.status).toBe("failed");
      expect(state.steps[0]!.attempts).toHaveLength(1);
      expect(state.steps[0]!.error).toBe("HTTP 503");
    });

    it("goes on after a failed step when on_error is continue", () => {
      const lenient = definition([hook("a", { on_error: "continue", next: "b" }), hook("b")]);
      let { state, effects } = begin(lenient);
      ({ state, effects } = step(state, lenient, { type: "result", node_id: "a", attempt: 1, result: fail(false) }));
      expect(status(state)).toEqual({ a: "failed", b: "running" });
      expect(executes(effects)).toMatchObject([{ node_id: "b" }]);
      ({ state } = step(state, lenient, { type: "result", node_id: "b", attempt: 1, result: ok() }));
      expect(state.status).toBe("completed");
      expect(state.summary.errors).toBe(1);
    });

    it("ignores a late result for an attempt that is already closed", () => {
      let { state } = begin(def);
      ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: fail() }));
      const again = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() });
      expect(again.state.steps[0]!.status).toBe("running");
      expect(again.state.steps[0]!.output).toBeNull();
    });
  });

  describe("waits", () => {
    it("sleeps for a duration and goes on when woken", () => {
      const def = definition([{ id: "w", type: "wait", config: { duration: { minutes: 90 } }, next: "a" }, hook("a")]);
      let { state, effects } = begin(def);
      expect(executes(effects)).toEqual([]);
      expect(state.steps[0]).toMatchObject({ status: "running", wake_at: "2026-11-22T11:30:00.000Z" });
      expect(nextWake(state)).toBe(T0 + 90 * 60_000);
      ({ state, effects } = step(state, def, { type: "tick" }, clock(T0 + 90 * 60_000)));
      expect(state.steps[0]).toMatchObject({ status: "succeeded", wake_at: null, output: { waited_until: "2026-11-22T11:30:00.000Z" } });
      expect(executes(effects)).toMatchObject([{ node_id: "a" }]);
    });

    it("sleeps until the start of a UTC date", () => {
      const def = definition([{ id: "w", type: "wait", config: { until: { type: "relative", days: 2 } } }]);
      const { state } = begin(def);
      expect(state.steps[0]!.wake_at).toBe("2026-11-24T00:00:00.000Z");
    });

    it("does not sleep for a date already past", () => {
      const def = definition([{ id: "w", type: "wait", config: { until: { type: "absolute", date: "2020-01-01" } } }]);
      expect(begin(def).state.status).toBe("completed");
    });
  });

  it("bumps the revision with every event, so writes of the run can be ordered", () => {
    const def = definition([hook("a")]);
    const { state } = begin(def);
    expect(state.rev).toBe(1);
    expect(step(state, def, { type: "tick" }).state.rev).toBe(2);
  });

  it("continues a long step from its checkpoint in a later invocation", () => {
    const def = definition([hook("a")]);
    let { state, effects } = begin(def);
    ({ state, effects } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: { ok: "continue", checkpoint: { after: "inv_500" } } }));
    expect(executes(effects)).toEqual([]);
    // The attempt stays open, waiting to continue: no deadline runs until it is invoked again.
    expect(nextWake(state)).toBe(T0);
    expect(state.steps[0]!.attempts[0]!.finished_at).toBeNull();
    ({ state, effects } = step(state, def, { type: "tick" }, clock(T0 + 1000)));
    expect(executes(effects)).toMatchObject([{ node_id: "a", attempt: 1, checkpoint: { after: "inv_500" } }]);
    expect(nextWake(state)).toBe(T0 + 1000 + 120_000 + DEADLINE_MARGIN_MS);
    ({ state } = step(state, def, { type: "result", node_id: "a", attempt: 1, result: ok() }));
    expect(state.status).toBe("completed");
    expect(state.steps[0]!.checkpoint).toBeUndefined();
  });

  it("keeps untouched steps by identity so the shell writes only what changed", () => {
    const def = definition([hook("a", { next: "b" }), hook("b", { next: "c" }), hook("c")]);
    const first = begin(def).state;
    const second = step(first, def, { type: "result", node_id: "a", attempt: 1, result: ok() }).state;
    expect(second.steps[2]).toBe(first.steps[2]);
    expect(second.steps[0]).not.toBe(first.steps[0]);
  });
});
