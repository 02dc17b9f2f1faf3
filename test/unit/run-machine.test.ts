import { describe, expect, it } from "vitest";
import { DefinitionSchema, type Definition } from "../../worker/contract/definition";
import { advance, DEADLINE_MARGIN_MS, INTERRUPTED, MAX_STEP_OUTPUT_BYTES, type Clock, type Effect, type RunEvent } from "../../worker/engine/run-machine";
import { initialState, nextWake, resting, type RunState } from "../../worker/engine/run-state";
import type { NodeCatalog } from "../../worker/engine/step";
import { NODE_CATALOG } from "../../worker/nodes";

const T0 = Date.parse("2026-11-22T10:00:00.000Z");
const clock = (ms = T0, random = 0.5): Clock => ({ now: new Date(ms), random: () => random });

const hook = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "call_webhook",
  config: { url: "https://erp.example.com/hook", body: { sku: "{{trigger.data.sku}}" } },
  ...extra,
});

function definition(nodes: unknown[], start = (nodes[0] as { id: string }).id): Definition {
  return DefinitionSchema.parse({ name: "Test flow", trigger: { entity: "inventory_item" }, start, nodes });
}

function begin(def: Definition, data: Record<string, unknown> = { id: "inv_1", sku: "SKU-1", on_hand: 2, tags: ["a"] }, catalog: NodeCatalog = NODE_CATALOG) {
  const state = initialState({
    id: "run_1",
    workflow_id: "wf_1",
    workflow_version: 3,
    definition: def,
    test: false,
    now: new Date(T0),
    catalog,
    trigger: {
      id: "evt_1",
      type: "inventory_item.updated",
      entity: "inventory_item",
      entity_id: "inv_1",
      occurred_at: "2026-11-22T09:59:00.000Z",
      data,
      previous: { id: "inv_1", on_hand: 0 },
    },
  });
  return step(state, def, { type: "start" }, clock(), catalog);
}

function step(state: RunState, def: Definition, event: RunEvent, c: Clock = clock(), catalog: NodeCatalog = NODE_CATALOG) {
  return advance(state, def, event, c, catalog);
}

const executes = (effects: Effect[]) => effects.filter((e) => e.type === "execute") as Extract<Effect, { type: "execute" }>[];
const status = (s: RunState) => Object.fromEntries(s.steps.map((st) => [st.node_id, st.status]));
const ok = (output: unknown = { status: 200 }) => ({ ok: true as const, output });

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
