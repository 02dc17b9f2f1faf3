import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { SCHEDULE_INDEX_ENTITY } from "../../worker/definition/trigger";
import { runSchedules, scheduleSweepName, tickMinute } from "../../worker/schedule/tick";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor } from "../support/events";

/*
 * Schedules (SPEC §15) through the Worker's own scheduled export, with fixed tick times, real run
 * and sweep objects (their alarms run with runDurableObjectAlarm, never slept for) and D1. Storage
 * is shared by the tests of this file: each test has its own workflows, tags and tick minutes, and
 * checks only its own runs.
 */

/** A Monday: 2026-11-23. */
const MONDAY_0600 = Date.parse("2026-11-23T06:00:00.000Z");
const MINUTE = 60_000;

/** Completes at once, with no effect. */
const DONE = { id: "done", type: "condition", config: { all: [{ left: "{{trigger.id}}", op: "exists" }] } };

/** Fires the Worker's minute Cron Trigger as the runtime does, at `scheduledTime`. */
async function tick(scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env, ctx);
}

async function createScheduled(trigger: Record<string, unknown>, activate = true): Promise<string> {
  const res = await api("/api/workflows", { method: "POST", json: { name: uid("scheduled"), trigger: { entity: "inventory_item", ...trigger }, start: DONE.id, nodes: [DONE] } });
  expect(res.status).toBe(201);
  const wf = await json(res);
  if (activate) expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

/** Rows of the run index a workflow has (a quick run writes its row when it ends: settle runs first). */
async function indexedRuns(workflowId: string): Promise<{ event_id: string; status: string }[]> {
  const res = await env.DB.prepare("SELECT event_id, status FROM runs WHERE workflow_id = ? ORDER BY event_id").bind(workflowId).all<{ event_id: string; status: string }>();
  return res.results;
}

/** Runs the alarms of a schedule tick's sweep until it has walked every entity; answers its progress. */
async function driveSweep(workflowId: string, scheduledTime: number) {
  const stub = env.BACKFILLS.get(env.BACKFILLS.idFromName(scheduleSweepName(workflowId, tickMinute(scheduledTime))));
  for (let i = 0; i < 1000; i++) {
    const p = await stub.progress();
    if (p === null || p.status !== "running") return p;
    await runDurableObjectAlarm(stub);
  }
  throw new Error("the sweep did not finish");
}

async function putItems(items: Record<string, unknown>[]) {
  const res = await api("/api/entities/inventory_item", { method: "PUT", json: items });
  expect(res.status).toBeLessThan(300);
}

const item = (id: string, tags: string[], onHand: number) => ({ id, variant_id: "var_1", shop_id: "shop_1", on_hand: onHand, on_order: 0, target: 10, tags });

describe("a schedule that runs once per tick", () => {
  it("starts one run when the tick is fired twice", async () => {
    const wf = await createScheduled({ schedule: { cron: "0 6 * * 1", each: "tick" } });
    await tick(MONDAY_0600);
    await tick(MONDAY_0600);
    const run = await runFor(wf, `sched:${wf}:2026-11-23T06:00:00.000Z`);
    expect(run).toMatchObject({
      status: "completed",
      trigger: { type: "schedule.tick", entity: "schedule", entity_id: "2026-11-23T06:00:00.000Z", data: { scheduled_at: "2026-11-23T06:00:00.000Z", cron: "0 6 * * 1" } },
    });
    expect(await indexedRuns(wf)).toEqual([{ event_id: `sched:${wf}:2026-11-23T06:00:00.000Z`, status: "completed" }]);
  });

  it("starts nothing at a minute its cron does not name, and one run at each minute it does", async () => {
    const wf = await createScheduled({ schedule: { cron: "10 7 * * MON", each: "tick" } });
    const at0710 = Date.parse("2026-11-23T07:10:00.000Z");
    await tick(at0710 - MINUTE);
    await tick(at0710 + MINUTE);
    await tick(at0710 + 24 * 60 * MINUTE); // Tuesday, 07:10
    expect(await indexedRuns(wf)).toEqual([]);
    // A tick delivered a few seconds late is still the tick of its minute.
    await tick(at0710 + 7_000);
    await tick(at0710 + 7 * 24 * 60 * MINUTE);
    for (const minute of ["2026-11-23T07:10:00.000Z", "2026-11-30T07:10:00.000Z"]) expect(await runFor(wf, `sched:${wf}:${minute}`)).toMatchObject({ status: "completed" });
    expect((await indexedRuns(wf)).map((r) => r.event_id)).toEqual([`sched:${wf}:2026-11-23T07:10:00.000Z`, `sched:${wf}:2026-11-30T07:10:00.000Z`]);
  });

  it("starts nothing for a workflow that is not active", async () => {
    const draft = await createScheduled({ schedule: { cron: "20 7 * * *", each: "tick" } }, false);
    const paused = await createScheduled({ schedule: { cron: "20 7 * * *", each: "tick" } });
    expect((await api(`/api/workflows/${paused}/status`, { method: "POST", json: { status: "paused" } })).status).toBe(200);
    const at = Date.parse("2026-11-24T07:20:00.000Z");
    const result = await runSchedules(env, at);
    expect(result.due).toBe(0);
    expect(await runFor(draft, `sched:${draft}:2026-11-24T07:20:00.000Z`)).toBeNull();
    expect(await runFor(paused, `sched:${paused}:2026-11-24T07:20:00.000Z`)).toBeNull();
  });
});

describe("a schedule that runs per entity", () => {
  it("starts one run per mirrored entity that matches at the tick (tags and conditions), once when fired twice", async () => {
    const tag = uid("tag");
    const prefix = uid("inv");
    await putItems([
      item(`${prefix}_a`, [tag], 1),
      item(`${prefix}_b`, [tag, "sale"], 4),
      item(`${prefix}_c`, [tag], 2),
      item(`${prefix}_high`, [tag], 50), // fails the condition
      item(`${prefix}_gone`, [tag, "discontinued"], 1), // excluded tag
      item(`${prefix}_other`, ["elsewhere"], 1), // lacks the tag
    ]);
    const wf = await createScheduled({
      tags: { include: [tag], exclude: ["discontinued"] },
      conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] },
      schedule: { cron: "30 8 * * *" },
    });
    const at = Date.parse("2026-11-25T08:30:00.000Z");
    await tick(at);
    await tick(at);
    const progress = await driveSweep(wf, at);
    expect(progress).toMatchObject({ status: "done", kind: "schedule", examined: 5, matched: 3, started: 3, duplicates: 0, errors: 0 });
    // The second firing found the tick's sweep begun, and began none.
    expect((await runSchedules(env, at)).sweeps).toBe(0);

    const minute = "2026-11-25T08:30:00.000Z";
    for (const id of ["a", "b", "c"]) {
      expect(await runFor(wf, `sched:${wf}:${minute}:${prefix}_${id}`)).toMatchObject({
        status: "completed",
        trigger: { type: "inventory_item.scheduled", entity: "inventory_item", entity_id: `${prefix}_${id}`, occurred_at: minute, data: { id: `${prefix}_${id}` } },
      });
    }
    for (const id of ["high", "gone", "other"]) expect(await runFor(wf, `sched:${wf}:${minute}:${prefix}_${id}`)).toBeNull();
    expect(await indexedRuns(wf)).toHaveLength(3);
  });

  it("sees the entities as they are at each tick", async () => {
    const tag = uid("tag");
    const id = uid("inv");
    await putItems([item(id, [tag], 9)]);
    const wf = await createScheduled({ tags: { include: [tag] }, conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, schedule: { cron: "45 9 * * *" } });
    const first = Date.parse("2026-11-26T09:45:00.000Z");
    await tick(first);
    expect(await driveSweep(wf, first)).toMatchObject({ matched: 0, started: 0 });
    await putItems([item(id, [tag], 3)]);
    const second = first + 24 * 60 * MINUTE;
    await tick(second);
    expect(await driveSweep(wf, second)).toMatchObject({ matched: 1, started: 1 });
    expect(await runFor(wf, `sched:${wf}:2026-11-27T09:45:00.000Z:${id}`)).toMatchObject({ status: "completed", trigger: { data: { on_hand: 3 } } });
  });

  it("is indexed apart from events: an event of its entity starts no run", async () => {
    const tag = uid("tag");
    const wf = await createScheduled({ tags: { include: [tag] }, schedule: { cron: "0 0 1 1 *" } });
    const rows = await env.DB.prepare("SELECT entity, tag FROM trigger_index WHERE workflow_id = ?").bind(wf).all();
    expect(rows.results).toEqual([{ entity: SCHEDULE_INDEX_ENTITY, tag: "*" }]);

    const e = inventoryEvent({}, { tags: [tag], on_hand: 1 });
    const batch = createMessageBatch("workflow-events", [inboxMessage(e, `m_${e.id}`, 1)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    expect(await runFor(wf, e.id)).toBeNull();
  });
});

describe("GET /api/workflows/schedule/times", () => {
  it("gives the next five times of a cron expression", async () => {
    const res = await api(`/api/workflows/schedule/times?cron=${encodeURIComponent("0 6 * * 1")}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.cron).toBe("0 6 * * 1");
    expect(body.next).toHaveLength(5);
    const times = (body.next as string[]).map((t) => new Date(t));
    for (const t of times) expect([t.getUTCDay(), t.getUTCHours(), t.getUTCMinutes()]).toEqual([1, 6, 0]);
    expect(times[0]!.getTime()).toBeGreaterThan(Date.now());
    expect(times[1]!.getTime() - times[0]!.getTime()).toBe(7 * 24 * 60 * MINUTE);
  });

  it("answers 400 with the problem for a bad expression", async () => {
    for (const [cron, message] of [
      ["61 * * * *", "minute: 61 is out of range 0-59"],
      ["0 0 6 * * 1", "no seconds field"],
    ]) {
      const res = await api(`/api/workflows/schedule/times?cron=${encodeURIComponent(cron!)}`);
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.issues[0]).toMatchObject({ path: "cron", message: expect.stringContaining(message!) });
    }
    expect((await api("/api/workflows/schedule/times")).status).toBe(400);
    expect((await api("/api/workflows/schedule/times?cron=*+*+*+*+*&count=0")).status).toBe(400);
  });

  it("refuses a workflow whose cron is bad, naming trigger.schedule.cron", async () => {
    for (const cron of ["61 * * * *", "0 0 6 * * 1"]) {
      const res = await api("/api/workflows", { method: "POST", json: { name: uid("bad"), trigger: { entity: "inventory_item", schedule: { cron } }, start: DONE.id, nodes: [DONE] } });
      expect(res.status).toBe(400);
      expect((await json(res)).error.issues).toEqual([expect.objectContaining({ path: "trigger.schedule.cron" })]);
    }
  });
});
