import { describe, expect, it } from "vitest";
import { previewRun } from "../../worker/engine/preview";
import { nextWake } from "../../worker/engine/run-state";
import { outputSummary, planRetry } from "../../worker/engine/retry-plan";
import { NODE_CATALOG } from "../../worker/nodes";
import { begin, clock, definition, executes, hook, ok, status, step, T0 } from "../support/run-machine";

/*
 * The pure parts of SPEC §15's approval and retry: a step that awaits a signal (an approval's
 * decision) in the run machine, and the plan of a retry from a step.
 */

const HOUR = 3_600_000;
const approvalNode = (extra: Record<string, unknown> = {}) => ({
  id: "ok",
  type: "approval",
  config: { title: "Restock", approvers: ["buyer@example.com"], timeout: { hours: 1 } },
  then: "yes",
  else: "no",
  ...extra,
});
const flow = () => definition([approvalNode(), hook("yes"), hook("no")]);
const request = (until: string) => ({
  title: "Restock",
  message: "",
  approvers: ["buyer@example.com"],
  timeout_at: until,
  on_timeout: "reject",
  link: "https://x/approvals/run_1/ok",
  message_id: "<m@x>",
  decision: null,
});

/** The approval step asked (its emails went out): it now awaits a decision until its deadline. */
function asked() {
  const def = flow();
  const started = begin(def);
  const [exec] = executes(started.effects);
  const until = new Date(T0 + HOUR).toISOString();
  expect(exec!.input).toMatchObject({ title: "Restock", timeout_at: until });
  const r = step(started.state, def, { type: "result", node_id: "ok", attempt: 1, result: { ok: "await", until, output: request(until) } });
  return { def, state: r.state, until, r };
}

describe("a step that awaits a signal", () => {
  it("waits with its attempt closed and the alarm at the deadline", () => {
    const { state, until, r } = asked();
    const st = state.steps[0]!;
    expect(st).toMatchObject({ status: "running", wake_at: until, deadline_at: null, next_attempt_at: null });
    expect(st.attempts[0]!.finished_at).not.toBeNull();
    expect(r.wakeAt).toBe(T0 + HOUR);
    expect(nextWake(state)).toBe(T0 + HOUR);
    expect(executes(r.effects)).toEqual([]);
  });

  it("goes to then on an approving signal, to else on a rejecting one, recording the decision", () => {
    const { def, state } = asked();
    const yes = step(state, def, { type: "signal", node_id: "ok", signal: { decision: "approve", by: "Dana", comment: "fine" } }, clock(T0 + 60_000));
    expect(status(yes.state)).toEqual({ ok: "succeeded", yes: "running", no: "skipped" });
    expect(yes.state.steps[0]!.output).toMatchObject({ decision: "approve", decided_by: "Dana", comment: "fine", decided_at: new Date(T0 + 60_000).toISOString(), timed_out: false, branch: "then" });
    expect(executes(yes.effects).map((e) => e.node_id)).toEqual(["yes"]);

    const no = step(state, def, { type: "signal", node_id: "ok", signal: { decision: "reject", by: "Sam", comment: null } });
    expect(status(no.state)).toEqual({ ok: "succeeded", yes: "skipped", no: "running" });
  });

  it("ignores a signal its module refuses, one for another step, and one once decided", () => {
    const { def, state } = asked();
    for (const event of [
      { type: "signal" as const, node_id: "ok", signal: { decision: "maybe", by: "x", comment: null } },
      { type: "signal" as const, node_id: "yes", signal: { decision: "approve", by: "x", comment: null } },
    ]) {
      const r = step(state, def, event);
      expect(status(r.state)).toEqual(status(state));
      expect(r.state.steps[0]!.wake_at).toBe(state.steps[0]!.wake_at);
    }
    const decided = step(state, def, { type: "signal", node_id: "ok", signal: { decision: "approve", by: "a", comment: null } });
    const again = step(decided.state, def, { type: "signal", node_id: "ok", signal: { decision: "reject", by: "b", comment: null } });
    expect(again.state.steps[0]!.output).toMatchObject({ decision: "approve", decided_by: "a" });
  });

  it("ends at the deadline by on_timeout, not a moment before", () => {
    const { def, state } = asked();
    const early = step(state, def, { type: "tick" }, clock(T0 + HOUR - 1));
    expect(status(early.state).ok).toBe("running");
    const late = step(state, def, { type: "tick" }, clock(T0 + HOUR));
    expect(status(late.state)).toEqual({ ok: "succeeded", yes: "skipped", no: "running" });
    expect(late.state.steps[0]!.output).toMatchObject({ decision: "reject", decided_by: null, timed_out: true });
  });

  it("is cancelled with its run, and a signal after that changes nothing", () => {
    const { def, state } = asked();
    const cancelled = step(state, def, { type: "cancel" });
    expect(status(cancelled.state)).toEqual({ ok: "cancelled", yes: "cancelled", no: "cancelled" });
    const late = step(cancelled.state, def, { type: "signal", node_id: "ok", signal: { decision: "approve", by: "a", comment: null } });
    expect(status(late.state)).toEqual(status(cancelled.state));
  });
});

describe("the preview of an approval", () => {
  it("shows the email approvers would get and follows the approved branch", async () => {
    const def = flow();
    const trigger = begin(def).state.trigger;
    const out = await previewRun(def, trigger, NODE_CATALOG, {
      now: new Date(T0),
      workflow: { id: "wf_1", name: "Test flow", version: 1 },
      config: { EMAIL_FROM: "workflows@example.com", INTERNAL_EMAILS: [], WEBHOOK_ALLOWED_HOSTS: [] },
    });
    expect(out.steps.map((s) => [s.node_id, s.status])).toEqual([
      ["ok", "would_run"],
      ["yes", "would_run"],
      ["no", "skipped"],
    ]);
    expect(out.steps[0]!.preview).toMatchObject({ email: { to: ["buyer@example.com"], subject: "Approval needed: Restock" }, text: expect.stringContaining("would wait up to 1 hour") });
    expect(out.impact.emails).toBe(1);
  });
});

describe("planning a retry from a step", () => {
  /** erp → check (condition) → then: notify → after; else: other. notify failed. */
  function failedRun() {
    const def = definition([
      hook("erp", { next: "check" }),
      { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "notify", else: "other" },
      hook("notify", { next: "after" }),
      hook("after"),
      hook("other"),
    ]);
    let r = begin(def);
    r = step(r.state, def, { type: "result", node_id: "erp", attempt: 1, result: ok({ status: 200, body: { ok: true } }) });
    r = step(r.state, def, { type: "result", node_id: "notify", attempt: 1, result: { ok: false, error: "HTTP 404", retryable: false } });
    expect(r.state.status).toBe("failed");
    return { def, run: r.state, target: { ...def, version: 3 } };
  }

  it("starts at the failed step by default, reusing what ran before it and naming its side effects", () => {
    const { run, target } = failedRun();
    const planned = planRetry(run, target, undefined, NODE_CATALOG, new Date(T0));
    expect(planned.ok).toBe(true);
    if (!planned.ok) return;
    expect(planned.plan.from).toBe("notify");
    expect(planned.plan.reused.map((s) => s.node_id)).toEqual(["erp", "check"]);
    expect(planned.plan.side_effects).toEqual([{ node_id: "erp", type: "call_webhook", status: "succeeded", summary: "status: 200", counters: { webhooks_called: 1 } }]);
  });

  it("refuses a node after the failed one, one on the branch not taken, and one no version has", () => {
    const { run, target } = failedRun();
    const issue = (from: string) => {
      const p = planRetry(run, target, from, NODE_CATALOG, new Date(T0));
      return p.ok ? null : p.issue.message;
    };
    expect(issue("after")).toContain('"after" comes after "notify", which failed');
    expect(issue("other")).toContain("never reached");
    expect(issue("ghost")).toContain('no node "ghost"');
    expect(issue("erp")).toBeNull();
  });

  it("says what an output was in one short line", () => {
    expect(outputSummary({ plan_id: "pl_1", created: true, nested: { a: 1 }, to: ["a@x", "b@x"] })).toBe("plan_id: pl_1, created: true, to: a@x, b@x");
    expect(outputSummary(null)).toBe("no output");
    expect(outputSummary({ text: "x".repeat(300) })).toHaveLength(200);
  });
});
