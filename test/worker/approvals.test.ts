import { evictDurableObject } from "cloudflare:test";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import type { Approval } from "../../worker/contract/approval";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { alarmOf, fireAt, received, settled, startTest, stubOf, webhook } from "../support/runs";

/*
 * The approval node (SPEC §15) end to end: the real run object, its alarm fired with the clock
 * moved to the deadline, the real send_email binding, the approvals inbox in D1, and the sink
 * counting which branch's webhook was called.
 */

const DAY = 86_400_000;

/** approval → then: webhook to `<bucket>-yes`, else: webhook to `<bucket>-no`. */
function approvalFlow(bucket: string, config: Record<string, unknown> = {}) {
  return [
    {
      id: "buyer_ok",
      type: "approval",
      config: { title: "Restock {{trigger.data.sku}}", message: "Only {{trigger.data.on_hand}} left.", approvers: ["buyer@example.com", "lead@example.com"], timeout: { days: 2 }, ...config },
      then: "yes",
      else: "no",
    },
    { ...webhook(`${bucket}-yes`), id: "yes" },
    { ...webhook(`${bucket}-no`), id: "no" },
  ];
}

const decide = (id: string, node: string, body: unknown) => api(`/api/runs/${id}/steps/${node}/decision`, { method: "POST", json: body });

async function inbox(status?: "waiting" | "decided"): Promise<Approval[]> {
  const res = await api(`/api/approvals?limit=500${status ? `&status=${status}` : ""}`);
  expect(res.status).toBe(200);
  return (await json(res)).items;
}

const stepOf = (run: RunRecord, node: string) => run.steps.find((s) => s.node_id === node)!;

describe("approval", () => {
  it("emails each approver a link to the approval, then waits at no cost with the alarm at the deadline", async () => {
    const bucket = uid("ask");
    const { id, run } = await startTest(approvalFlow(bucket));
    expect(run.status).toBe("running");
    const step = stepOf(run, "buyer_ok");
    expect(step.status).toBe("running");
    expect(step.attempts).toHaveLength(1);
    expect(step.attempts[0]!.error).toBeNull();
    const asked = Date.parse(step.started_at!);
    expect(Date.parse(step.wake_at!)).toBe(asked + 2 * DAY);
    expect(await alarmOf(id)).toBe(asked + 2 * DAY);
    expect(step.output).toMatchObject({
      title: "Restock SKU-1",
      message: "Only 1 left.",
      approvers: ["buyer@example.com", "lead@example.com"],
      link: `https://workflows.test/approvals/${id}/buyer_ok`,
      on_timeout: "reject",
      decision: null,
    });

    const res = await api(`/api/runs/${id}/steps/buyer_ok/message`);
    expect(res.status).toBe(200);
    const mail = await PostalMime.parse(await res.text());
    expect(mail.subject).toBe("Approval needed: Restock SKU-1");
    expect(mail.to?.map((a) => a.address)).toEqual(["buyer@example.com", "lead@example.com"]);
    expect(mail.text).toContain(`https://workflows.test/approvals/${id}/buyer_ok`);
    expect(mail.text).toContain("Only 1 left.");

    const waiting = (await inbox("waiting")).find((a) => a.run_id === id);
    expect(waiting).toMatchObject({ node_id: "buyer_ok", status: "waiting", title: "Restock SKU-1", approvers: ["buyer@example.com", "lead@example.com"], decided_by: null, test: true });
    expect(Date.parse(waiting!.timeout_at)).toBe(asked + 2 * DAY);
    expect((await inbox("decided")).some((a) => a.run_id === id)).toBe(false);
    expect(await received(`${bucket}-yes`)).toHaveLength(0);
    expect(await received(`${bucket}-no`)).toHaveLength(0);
  });

  it("goes on to then when approved, recording who decided, when and why", async () => {
    const bucket = uid("approve");
    const { id } = await startTest(approvalFlow(bucket));
    const res = await decide(id, "buyer_ok", { decision: "approve", comment: "Go ahead, sells well", by: "Dana (buyer)" });
    expect(res.status).toBe(200);
    const answered: RunRecord = await json(res);
    expect(stepOf(answered, "buyer_ok").status).toBe("succeeded");

    const run = await settled(id);
    expect(run.status).toBe("completed");
    expect(run.steps.map((s) => [s.node_id, s.status])).toEqual([
      ["buyer_ok", "succeeded"],
      ["yes", "succeeded"],
      ["no", "skipped"],
    ]);
    const output = stepOf(run, "buyer_ok").output as Record<string, unknown>;
    expect(output).toMatchObject({ decision: "approve", decided_by: "Dana (buyer)", comment: "Go ahead, sells well", timed_out: false, result: true, branch: "then" });
    expect(Math.abs(Date.parse(output.decided_at as string) - Date.now())).toBeLessThan(60_000);
    expect(await received(`${bucket}-yes`)).toHaveLength(1);
    expect(await received(`${bucket}-no`)).toHaveLength(0);

    const row = (await inbox("decided")).find((a) => a.run_id === id);
    expect(row).toMatchObject({ status: "approved", decided_by: "Dana (buyer)", comment: "Go ahead, sells well", timed_out: false, decided_at: output.decided_at });
    expect((await inbox("waiting")).some((a) => a.run_id === id)).toBe(false);
  });

  it("goes on to else when rejected, and records the API as the decider when the body names nobody", async () => {
    const bucket = uid("reject");
    const { id } = await startTest(approvalFlow(bucket));
    expect((await decide(id, "buyer_ok", { decision: "reject" })).status).toBe(200);
    const run = await settled(id);
    expect(run.steps.map((s) => s.status)).toEqual(["succeeded", "skipped", "succeeded"]);
    expect(stepOf(run, "buyer_ok").output).toMatchObject({ decision: "reject", decided_by: "api", comment: null, result: false, branch: "else" });
    expect(await received(`${bucket}-yes`)).toHaveLength(0);
    expect(await received(`${bucket}-no`)).toHaveLength(1);
    expect((await inbox("decided")).find((a) => a.run_id === id)).toMatchObject({ status: "rejected", decided_by: "api" });
  });

  it("rejects at the deadline when nobody decided (on_timeout: reject)", async () => {
    const bucket = uid("late");
    const { id, run } = await startTest(approvalFlow(bucket));
    const deadline = Date.parse(stepOf(run, "buyer_ok").wake_at!);
    // A minute early, the alarm changes nothing.
    const early = await fireAt(id, deadline - 60_000);
    expect(stepOf(early.run, "buyer_ok").status).toBe("running");
    const { run: after } = await fireAt(id, deadline);
    expect(after.status).toBe("completed");
    expect(after.steps.map((s) => s.status)).toEqual(["succeeded", "skipped", "succeeded"]);
    expect(stepOf(after, "buyer_ok").output).toMatchObject({ decision: "reject", decided_by: null, timed_out: true, branch: "else" });
    expect(await received(`${bucket}-no`)).toHaveLength(1);
    expect((await inbox("decided")).find((a) => a.run_id === id)).toMatchObject({ status: "rejected", timed_out: true, decided_by: null });
    // Too late for a person.
    expect((await decide(id, "buyer_ok", { decision: "approve" })).status).toBe(409);
  });

  it("approves at the deadline when on_timeout is approve", async () => {
    const bucket = uid("lenient");
    const { id, run } = await startTest(approvalFlow(bucket, { on_timeout: "approve", timeout: { hours: 4 } }));
    const step = stepOf(run, "buyer_ok");
    expect(Date.parse(step.wake_at!) - Date.parse(step.started_at!)).toBe(4 * 3_600_000);
    const { run: after } = await fireAt(id, Date.parse(step.wake_at!));
    expect(after.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "skipped"]);
    expect(stepOf(after, "buyer_ok").output).toMatchObject({ decision: "approve", timed_out: true, branch: "then" });
    expect(await received(`${bucket}-yes`)).toHaveLength(1);
  });

  it("takes a decision after the object was evicted (the waiting step lives in storage)", async () => {
    const bucket = uid("evicted");
    const { id } = await startTest(approvalFlow(bucket));
    await evictDurableObject(stubOf(id));
    expect((await decide(id, "buyer_ok", { decision: "approve", by: "Sam" })).status).toBe(200);
    expect((await settled(id)).status).toBe("completed");
    expect(await received(`${bucket}-yes`)).toHaveLength(1);
  });

  it("answers a second decision with 409 and changes nothing", async () => {
    const bucket = uid("twice");
    const { id } = await startTest(approvalFlow(bucket));
    expect((await decide(id, "buyer_ok", { decision: "approve", by: "first" })).status).toBe(200);
    const again = await decide(id, "buyer_ok", { decision: "reject", by: "second" });
    expect(again.status).toBe(409);
    expect((await json(again)).error).toMatchObject({ code: "conflict", message: expect.stringContaining("not waiting for a decision") });
    const run = await settled(id);
    expect(stepOf(run, "buyer_ok").output).toMatchObject({ decision: "approve", decided_by: "first" });
    expect(await received(`${bucket}-no`)).toHaveLength(0);
  });

  it("cancels the approval with its run: the inbox says so and a decision is 409", async () => {
    const bucket = uid("cancel");
    const { id } = await startTest(approvalFlow(bucket));
    expect((await api(`/api/runs/${id}/cancel`, { method: "POST" })).status).toBe(200);
    expect((await decide(id, "buyer_ok", { decision: "approve" })).status).toBe(409);
    await settled(id);
    expect((await inbox()).find((a) => a.run_id === id)).toMatchObject({ status: "cancelled" });
    expect(await received(`${bucket}-yes`)).toHaveLength(0);
  });

  it("answers 404 for an unknown run, an unknown step and a step that is not an approval; 400 for a bad decision", async () => {
    const bucket = uid("bad");
    const { id } = await startTest(approvalFlow(bucket));
    expect((await decide("f".repeat(64), "buyer_ok", { decision: "approve" })).status).toBe(404);
    expect((await decide("nope", "buyer_ok", { decision: "approve" })).status).toBe(404);
    expect((await decide(id, "nobody", { decision: "approve" })).status).toBe(404);
    const notApproval = await decide(id, "yes", { decision: "approve" });
    expect(notApproval.status).toBe(404);
    expect((await json(notApproval)).error.message).toContain('no approval step "yes"');
    for (const body of [{ decision: "maybe" }, {}, { decision: "approve", comment: "x".repeat(2001) }, { decision: "approve", extra: 1 }, { decision: "approve", by: "" }]) {
      const res = await decide(id, "buyer_ok", body);
      expect(res.status).toBe(400);
      expect((await json(res)).error.code).toBe("validation_failed");
    }
    // Still waiting after all that.
    expect(stepOf(await settled(id), "buyer_ok").status).toBe("running");
  });

  it("refuses a definition whose approval has no approver or an address that is not one", async () => {
    for (const config of [{ title: "x", approvers: [] }, { title: "x", approvers: ["not-an-address"] }, { title: "", approvers: ["a@example.com"] }, { title: "x", approvers: ["a@example.com"], on_timeout: "maybe" }]) {
      const res = await api("/api/workflows/validate", {
        method: "POST",
        json: { name: "approval", trigger: { entity: "inventory_item" }, start: "ok", nodes: [{ id: "ok", type: "approval", config }] },
      });
      const body = await json(res);
      expect(body.valid).toBe(false);
      expect(body.issues[0].path).toMatch(/^nodes\.0\.config\./);
    }
  });

  it("lists the inbox newest first, a page at a time", async () => {
    const first = await startTest(approvalFlow(uid("page")));
    const second = await startTest(approvalFlow(uid("page")));
    const page1 = await json(await api("/api/approvals?status=waiting&limit=1"));
    expect(page1.items).toHaveLength(1);
    expect(page1.items[0].run_id).toBe(second.id);
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = await json(await api(`/api/approvals?status=waiting&limit=1&cursor=${page1.next_cursor}`));
    expect(page2.items[0].run_id).toBe(first.id);
    expect((await api("/api/approvals?status=maybe")).status).toBe(400);
    expect((await api("/api/approvals?cursor=garbage")).status).toBe(400);
  });
});
