import { createExecutionContext, createMessageBatch, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { utcDate } from "../../worker/definition/date-spec";
import type { CapsObject } from "../../worker/flow/caps-object";
import { capsBinder, type ReserveRequest } from "../../worker/run/caps-port";
import { snapshotCounters } from "../../worker/lib/metrics";
import { addItems, DEFAULT_LIMITS } from "../../worker/planning/add-items";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor } from "../support/events";
import { ctxOf, linesOf, newPlan, scopeOf, world, NOW } from "../support/plan-fixtures";
import { fireAt, noJitter, program, received, settled, webhook } from "../support/runs";

/*
 * Daily safety caps (SPEC §14) end to end: real events through the queue consumer, real run
 * objects, the real CapsObject with its alarm, D1, the local HTTP sink and the real send_email
 * binding for the internal email. Clocks are moved, never slept on.
 */

const DAY_MS = 86_400_000;
const today = () => utcDate(new Date());
const capsOf = (workflowId: string) => env.CAPS.get(env.CAPS.idFromName(workflowId));
const emailsSent = () => snapshotCounters().cap_emails_sent ?? 0;

const mailNode = { id: "mail", type: "send_email", config: { to: ["ops@example.com"], subject: "Low stock {{trigger.entity_id}}", body: "Only {{trigger.data.on_hand}} left" } };

/** A workflow with these nodes and daily caps, saved (a draft) or also activated. */
async function capped(nodes: { id: string }[], perDay: Record<string, number>, opts: { tag?: string; active?: boolean } = {}): Promise<string> {
  const trigger = { entity: "inventory_item", ...(opts.tag ? { tags: { include: [opts.tag] } } : {}) };
  const res = await api("/api/workflows", { method: "POST", json: { name: uid("caps"), trigger, start: nodes[0]!.id, nodes, controls: { caps: { per_day: perDay } } } });
  expect(res.status).toBe(201);
  const id = (await json(res)).id as string;
  if (opts.active) expect((await api(`/api/workflows/${id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return id;
}

const workflowOf = async (id: string) => json(await api(`/api/workflows/${id}`));

let seq = 0;
/** One platform event through the queue consumer, as the inbox hands it over; the run it started, settled, or null. */
async function deliver(workflowId: string, tag: string): Promise<RunRecord | null> {
  const event = inventoryEvent({}, { tags: [tag] });
  seq += 1;
  const batch = createMessageBatch("workflow-events", [inboxMessage(event, `caps_${seq}_${event.id}`, 2_000_000 + seq)]);
  await worker.queue(batch, env, createExecutionContext());
  return runFor(workflowId, event.id);
}

/** A test run of the workflow's current version, settled. */
async function testRun(workflowId: string, data: Record<string, unknown> = { sku: "SKU-1", on_hand: 1 }, entityId = uid("inv")): Promise<RunRecord> {
  const res = await api(`/api/workflows/${workflowId}/test`, { method: "POST", json: { entity_id: entityId, data } });
  expect(res.status).toBe(202);
  return settled((await json(res)).id);
}

const ask = (over: Partial<ReserveRequest> & Pick<ReserveRequest, "workflow_id">): ReserveRequest => ({
  run_id: uid("run"),
  node_id: "step",
  kind: "emails",
  units: 1,
  limit: 3,
  day: "2026-03-01",
  ...over,
});

describe("a daily cap on emails", () => {
  it("pauses the workflow at the 4th email of 3 a day, with the internal email sent once", async () => {
    const tag = uid("cap");
    const wf = await capped([mailNode], { emails: 3 }, { tag, active: true });
    const emailsBefore = emailsSent();

    for (let i = 1; i <= 3; i++) {
      const run = await deliver(wf, tag);
      expect(run?.status).toBe("completed");
      expect(run?.summary.emails_sent).toBe(1);
    }
    const fourth = (await deliver(wf, tag))!;
    expect(fourth.status).toBe("failed");
    const step = fourth.steps[0]!;
    expect(step.status).toBe("failed");
    expect(step.error).toMatch(/^cap_exceeded: the workflow's daily cap of 3 emails is reached \(3 on \d{4}-\d{2}-\d{2} UTC; this step needs 1 more\)$/);
    // Not retried: one attempt, nothing scheduled.
    expect(step.attempts).toHaveLength(1);
    expect(step.next_attempt_at).toBeNull();
    expect(fourth.summary.emails_sent ?? 0).toBe(0);

    const paused = await workflowOf(wf);
    expect(paused.status).toBe("paused");
    expect(paused.paused_reason).toBe("Daily cap reached: at most 3 emails a day");

    const caps = capsOf(wf);
    expect((await caps.usage(today())).used).toEqual({ emails: 3, pushes: 0, units: 0, discount_codes: 0, webhook_calls: 0 });
    const [trip, ...more] = await caps.trips(today());
    expect(more).toEqual([]);
    expect(trip).toMatchObject({ kind: "emails", seq: 1, cap: 3, used: 3, units: 1, run_id: fourth.id, node_id: "mail", paused: "paused_now", done: true });
    if (trip?.email?.status !== "sent") throw new Error(`expected the internal email to be sent, got ${JSON.stringify(trip?.email)}`);
    expect(trip.email.to).toEqual(["team@example.com"]);
    const mail = await PostalMime.parse(trip.email.raw);
    expect(mail.to?.map((a) => a.address)).toEqual(["team@example.com"]);
    expect(mail.subject).toContain("reached its daily cap of 3 emails");
    expect(mail.subject).toMatch(/^Paused: /);
    expect(mail.text).toContain(`https://workflows.test/workflows/${wf}`);
    expect(mail.text).toContain("cap_exceeded");
    expect(mail.text).toContain(`run ${fourth.id}`);

    // The same step asking again (a redelivered invocation), and the alarm, change nothing and send nothing.
    expect(await caps.reserve({ workflow_id: wf, run_id: fourth.id, node_id: "mail", kind: "emails", units: 1, limit: 3, day: today() })).toEqual({ ok: false, used: 3, limit: 3 });
    await runDurableObjectAlarm(caps);
    expect(await caps.trips(today())).toHaveLength(1);
    expect(emailsSent() - emailsBefore).toBe(1);

    // Paused: a 5th event starts no run.
    expect(await deliver(wf, tag)).toBeNull();
  });

  it("clears paused_reason when the user resumes, and pauses again (telling the team again) at the next refused email", async () => {
    const tag = uid("resume");
    const wf = await capped([mailNode], { emails: 1 }, { tag, active: true });
    expect((await deliver(wf, tag))?.status).toBe("completed");
    expect((await deliver(wf, tag))?.steps[0]?.error).toMatch(/^cap_exceeded:/);
    expect((await workflowOf(wf)).paused_reason).toBe("Daily cap reached: at most 1 email a day");

    const resumed = await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "active" } });
    expect(resumed.status).toBe(200);
    expect(await json(resumed)).toMatchObject({ status: "active", paused_reason: null });
    expect(await workflowOf(wf)).toMatchObject({ status: "active", paused_reason: null });

    const before = emailsSent();
    const again = (await deliver(wf, tag))!;
    expect(again.status).toBe("failed");
    expect(await workflowOf(wf)).toMatchObject({ status: "paused", paused_reason: "Daily cap reached: at most 1 email a day" });
    // A run still in flight that is refused while the workflow is paused pauses nothing and emails nobody.
    const late = await capsOf(wf).reserve(ask({ workflow_id: wf, limit: 1, day: today() }));
    expect(late).toEqual({ ok: false, used: 1, limit: 1 });
    const trips = await capsOf(wf).trips(today());
    expect(trips.map((t) => [t.seq, t.paused, t.email?.status])).toEqual([
      [1, "paused_now", "sent"],
      [2, "paused_now", "sent"],
      [3, "was_paused", "not_sent"],
    ]);
    expect(emailsSent() - before).toBe(1);
  });

  it("refuses the first effect under a cap of 0", async () => {
    const tag = uid("zero");
    const codeNode = { id: "code", type: "create_discount_code", config: { type: "percent", value: 10, expires: { type: "relative", days: 7 } } };
    const wf = await capped([codeNode], { discount_codes: 0 }, { tag, active: true });
    const run = (await deliver(wf, tag))!;
    expect(run.status).toBe("failed");
    expect(run.steps[0]!.error).toMatch(/^cap_exceeded: the workflow's daily cap of 0 discount codes is reached \(0 on /);
    const codes = await env.DB.prepare("SELECT count(*) AS n FROM discount_codes WHERE run_id = ?").bind(run.id).first<{ n: number }>();
    expect(codes?.n).toBe(0);
    expect(await workflowOf(wf)).toMatchObject({ status: "paused", paused_reason: "Daily cap reached: at most 0 discount codes a day" });
  });

  it("costs an uncapped workflow no call: a workflow with caps on other kinds only sends as usual", async () => {
    const tag = uid("other");
    const wf = await capped([mailNode], { pushes: 0 }, { tag, active: true });
    const run = await deliver(wf, tag);
    expect(run?.status).toBe("completed");
    expect((await capsOf(wf).usage(today())).used.emails).toBe(0);
    expect(await capsOf(wf).trips(today())).toEqual([]);
  });
});

describe("counting once per effect", () => {
  it("counts a webhook retried twice once: it passes a cap of 1 and the next call is refused", async () => {
    const bucket = uid("retried");
    await program(bucket, [{ status: 503 }, { status: 503 }, { status: 200, body: { ok: 1 } }]);
    const wf = await capped([webhook(bucket, { retry: noJitter })], { webhook_calls: 1 });
    let run = await testRun(wf);
    expect(run.steps[0]!.attempts).toHaveLength(1);
    for (let i = 0; i < 2; i++) run = (await fireAt(run.id, Date.parse(run.steps[0]!.next_attempt_at!))).run;
    expect(run.status).toBe("completed");
    expect(run.steps[0]!.attempts).toHaveLength(3);
    expect(await received(bucket)).toHaveLength(3);
    expect((await capsOf(wf).usage(today())).used.webhook_calls).toBe(1);

    // Test runs count like real ones: the cap is spent.
    const second = await testRun(wf);
    expect(second.status).toBe("failed");
    expect(second.steps[0]!.error).toMatch(/^cap_exceeded: the workflow's daily cap of 1 webhook calls/);
    expect(await received(bucket)).toHaveLength(3);
    // A draft is not paused; the team still hears of the cap.
    expect(await workflowOf(wf)).toMatchObject({ status: "draft", paused_reason: null });
    const [trip] = await capsOf(wf).trips(today());
    expect(trip).toMatchObject({ paused: "draft", done: true, email: { status: "sent" } });
  });

  it("answers a step asking again with its first answer, and passes 0 units without counting", async () => {
    const wf = uid("wf");
    const caps = capsOf(wf);
    const first = ask({ workflow_id: wf, units: 2 });
    expect(await caps.reserve(first)).toEqual({ ok: true, used: 2 });
    expect(await caps.reserve(first)).toEqual({ ok: true, used: 2 });
    expect(await caps.reserve({ ...first, units: 5 })).toEqual({ ok: true, used: 2 });
    // Another piece of the same step is another effect.
    expect(await caps.reserve({ ...first, part: "page 2" })).toEqual({ ok: false, used: 2, limit: 3 });
    expect(await caps.reserve(ask({ workflow_id: wf, units: 0 }))).toEqual({ ok: true, used: 2 });
    expect(await caps.reserve(ask({ workflow_id: wf, units: 1 }))).toEqual({ ok: true, used: 3 });
    expect(await caps.reserve(ask({ workflow_id: wf, units: 1 }))).toEqual({ ok: false, used: 3, limit: 3 });
    expect(await caps.reserve(ask({ workflow_id: wf, kind: "pushes", units: 3 }))).toEqual({ ok: true, used: 3 });
    expect(await caps.usage("2026-03-01")).toEqual({ used: { emails: 3, pushes: 3, units: 0, discount_codes: 0, webhook_calls: 0 } });
    expect(await caps.usage("2026-03-02")).toEqual({ used: { emails: 0, pushes: 0, units: 0, discount_codes: 0, webhook_calls: 0 } });
  });

  it("refuses a malformed request", async () => {
    const wf = uid("wf");
    await runInDurableObject(capsOf(wf), async (obj: CapsObject) => {
      await expect(obj.reserve(ask({ workflow_id: wf, units: -1 }))).rejects.toThrow(/units/);
      await expect(obj.reserve({ ...ask({ workflow_id: wf }), kind: "hugs" as never })).rejects.toThrow(/kind/);
      await expect(obj.reserve(ask({ workflow_id: wf, day: "1 March" }))).rejects.toThrow(/day/);
      await expect(obj.usage("yesterday")).rejects.toThrow();
    });
    expect((await capsOf(wf).usage("2026-03-01")).used.emails).toBe(0);
  });
});

describe("a daily cap on units added to plans", () => {
  it("refuses the step whose lines would pass the cap and writes none of them; lines already there add nothing", async () => {
    const w = await world();
    const items = [w.id("V1a_S1"), w.id("V1b_S1"), w.id("V2a_S2")];
    const nodes = [
      { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: "Caps {{trigger.data.sku}}" }, next: "items" },
      { id: "items", type: "add_items_to_plan", config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "inventory_item", ids: items }, quantity: { strategy: "fixed", quantity: 2 } } },
    ];
    const wf = await capped(nodes, { units: 10 });
    const a = uid("A");
    const first = await testRun(wf, { sku: a });
    expect(first.status).toBe("completed");
    expect(first.steps[1]!.output).toMatchObject({ added: 3, total_quantity: 6 });

    const second = await testRun(wf, { sku: uid("B") });
    expect(second.status).toBe("failed");
    expect(second.steps[1]!.error).toBe(`cap_exceeded: the workflow's daily cap of 10 units added to plans is reached (6 on ${today()} UTC; this step needs 6 more)`);
    expect(second.steps[1]!.attempts).toHaveLength(1);
    const planB = (second.steps[0]!.output as { plan_id: string }).plan_id;
    expect(await linesOf(planB)).toEqual([]);

    // The same lines again add no unit: nothing is asked, the run completes.
    const again = await testRun(wf, { sku: a });
    expect(again.status).toBe("completed");
    expect(again.steps[1]!.output).toMatchObject({ added: 0, unchanged: 3 });
    expect((await capsOf(wf).usage(today())).used.units).toBe(6);
  });

  it("asks page by page, and counts each page once when the step is done again from its start", async () => {
    const w = await world();
    const plan = await newPlan("restock");
    const wf = uid("wf");
    const runId = uid("run");
    const caps = capsBinder(env.CAPS).forStep({ workflowId: wf, runId, nodeId: "items", now: NOW, limits: { units: 100 } });
    const cfg = { plan, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fixed", quantity: 2 } };
    const input = addItemsToPlan.resolve!(addItemsToPlan.configSchema.parse(cfg), scopeOf(), NOW);
    const limits = { ...DEFAULT_LIMITS, pageSize: 2, maxUnits: 1, maxPages: 1 };
    const base = ctxOf({ runId, nodeId: "items" });
    const admit = async (units: number, page: string) => {
      const r = await caps.reserve("units", units, page);
      return r.ok ? undefined : r.error;
    };
    const checkpoints: unknown[] = [undefined];
    let result;
    for (let i = 0; i < 100; i++) {
      result = await addItems(input, { ...base, checkpoint: checkpoints.at(-1), admit }, { db: env.DB }, limits);
      if (result.ok !== "continue") break;
      checkpoints.push(JSON.parse(JSON.stringify(result.checkpoint)));
    }
    if (result?.ok !== true) throw new Error(`expected the step to finish, got ${JSON.stringify(result)}`);
    expect(checkpoints.length).toBeGreaterThan(2);
    const day = utcDate(NOW);
    const total = result.output.total_quantity;
    expect(total).toBe(16);
    expect((await capsOf(wf).usage(day)).used.units).toBe(total);
    // The same step done again from its start, its writes lost (here: into a plan without its lines):
    // every page asks again from the same place, gets its first answer and counts nothing more.
    const lost = addItemsToPlan.resolve!(addItemsToPlan.configSchema.parse({ ...cfg, plan: await newPlan("restock") }), scopeOf(), NOW);
    let redo;
    for (let checkpoint: unknown = undefined, i = 0; i < 100; i++) {
      redo = await addItems(lost, { ...base, checkpoint, admit }, { db: env.DB }, limits);
      if (redo.ok !== "continue") break;
      checkpoint = JSON.parse(JSON.stringify(redo.checkpoint));
    }
    expect(redo).toMatchObject({ ok: true, output: { added: 8, total_quantity: 16 } });
    expect((await capsOf(wf).usage(day)).used.units).toBe(total);
  });
});

describe("days", () => {
  it("starts each UTC day from zero: a run that waited into the next day sends again", async () => {
    const nodes = [{ id: "pause", type: "wait", config: { duration: { days: 1 } }, next: "mail" }, mailNode];
    const wf = await capped(nodes, { emails: 1 });
    const wake = async () => {
      const run = await testRun(wf);
      expect(run.steps[0]!.status).toBe("running");
      return { id: run.id, at: Date.parse(run.steps[0]!.wake_at!) };
    };
    const [a, b, c] = [await wake(), await wake(), await wake()];
    const tomorrow = utcDate(new Date(a.at));
    expect((await fireAt(a.id, a.at)).run.status).toBe("completed");
    const refused = (await fireAt(b.id, b.at)).run;
    expect(refused.steps[1]!.error).toMatch(new RegExp(`^cap_exceeded: .* \\(1 on ${tomorrow} UTC`));
    // One more day later the cap is whole again.
    expect((await fireAt(c.id, c.at + DAY_MS)).run.status).toBe("completed");
    const caps = capsOf(wf);
    expect((await caps.usage(tomorrow)).used.emails).toBe(1);
    expect((await caps.usage(utcDate(new Date(c.at + DAY_MS)))).used.emails).toBe(1);
    expect((await caps.usage(today())).used.emails).toBe(0);
  });

  it("forgets days older than 3 when it next writes (the object's clock moved)", async () => {
    const wf = uid("wf");
    const caps = capsOf(wf);
    const start = Date.parse("2026-05-10T12:00:00Z");
    const at = (offsetDays: number) => runInDurableObject(caps, (obj: CapsObject) => void (obj.clock.now = () => start + offsetDays * DAY_MS));
    await at(0);
    expect(await caps.reserve(ask({ workflow_id: wf, day: "2026-05-10", units: 2 }))).toMatchObject({ ok: true });
    await at(3);
    expect(await caps.reserve(ask({ workflow_id: wf, day: "2026-05-13", units: 1 }))).toMatchObject({ ok: true });
    // Three days back is kept.
    expect((await caps.usage("2026-05-10")).used.emails).toBe(2);
    await at(4);
    expect(await caps.reserve(ask({ workflow_id: wf, day: "2026-05-14", units: 1 }))).toMatchObject({ ok: true });
    expect((await caps.usage("2026-05-10")).used.emails).toBe(0);
    expect((await caps.usage("2026-05-13")).used.emails).toBe(1);
    const rows = await runInDurableObject(caps, (_obj: CapsObject, state) => state.storage.sql.exec("SELECT count(*) AS n FROM asks WHERE day < '2026-05-11'").one().n);
    expect(rows).toBe(0);
  });
});

describe("a trip that cannot finish at once", () => {
  it("pauses and logs without an email when INTERNAL_EMAILS is empty", async () => {
    const wf = await capped([mailNode], { emails: 1 }, { tag: uid("quiet"), active: true });
    const caps = capsOf(wf);
    await runInDurableObject(caps, (obj: CapsObject) => {
      (obj as unknown as { env: Env }).env = { ...env, INTERNAL_EMAILS: "" };
    });
    const before = emailsSent();
    await caps.reserve(ask({ workflow_id: wf, limit: 1, day: today() }));
    expect(await caps.reserve(ask({ workflow_id: wf, limit: 1, day: today() }))).toMatchObject({ ok: false });
    expect(await workflowOf(wf)).toMatchObject({ status: "paused", paused_reason: "Daily cap reached: at most 1 email a day" });
    const [trip] = await caps.trips(today());
    expect(trip).toMatchObject({ paused: "paused_now", done: true, email: { status: "not_sent", reason: "INTERNAL_EMAILS is empty" } });
    expect(emailsSent()).toBe(before);
  });

  it("works off, when the alarm fires, a trip recorded by an instance that died before it was worked off", async () => {
    const wf = await capped([mailNode], { emails: 1 }, { tag: uid("later"), active: true });
    const caps = capsOf(wf);
    await caps.reserve(ask({ workflow_id: wf, limit: 1, day: today() }));
    // The synchronous half of reserve() only: the answer, the trip and its alarm are stored; the pause and the email never began.
    const refused = ask({ workflow_id: wf, limit: 1, day: today() });
    const answer = await runInDurableObject(caps, (obj: CapsObject) => (obj as unknown as { record(r: ReserveRequest): { answer: unknown } }).record(refused).answer);
    expect(answer).toEqual({ ok: false, used: 1, limit: 1 });
    let [trip] = await caps.trips(today());
    expect(trip).toMatchObject({ done: false, paused: null, email: null, run_id: refused.run_id });
    expect((await workflowOf(wf)).status).toBe("active");
    expect(await runInDurableObject(caps, (_obj: CapsObject, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());

    const before = emailsSent();
    expect(await runDurableObjectAlarm(caps)).toBe(true);
    [trip] = await caps.trips(today());
    expect(trip).toMatchObject({ done: true, paused: "paused_now", email: { status: "sent" } });
    expect(await workflowOf(wf)).toMatchObject({ status: "paused", paused_reason: "Daily cap reached: at most 1 email a day" });
    expect(emailsSent() - before).toBe(1);
    // Done: no alarm left, and asking again sends nothing more.
    expect(await runInDurableObject(caps, (_obj: CapsObject, state) => state.storage.getAlarm())).toBeNull();
    expect(await caps.reserve(refused)).toEqual({ ok: false, used: 1, limit: 1 });
    expect(emailsSent() - before).toBe(1);
  });
});
