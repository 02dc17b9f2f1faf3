import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import type { RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor, type SentEvent } from "../support/events";
import { alarmOf, fireAt, received, webhook } from "../support/runs";

/*
 * `recheck_trigger` on a wait (SPEC §15), through the real queue, D1 mirror and run objects: a run
 * started by a low-stock event sleeps an hour; meanwhile the item changes in the mirror; on waking
 * the run reads the item again and goes on only if the trigger still holds.
 */


async function consume(events: SentEvent[]) {
  const batch = createMessageBatch("workflow-events", events.map((e, i) => inboxMessage(e, `m${i}_${e.id}`, 3_000_000 + i)));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}

/** An active workflow: items tagged `tag` with on_hand below 5; wait an hour (re-checking), then call the sink. */
async function lowStockFlow(tag: string, bucket: string, recheck = true): Promise<string> {
  const res = await api("/api/workflows", {
    method: "POST",
    json: {
      name: uid("recheck"),
      trigger: { entity: "inventory_item", tags: { include: [tag] }, conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } },
      start: "pause",
      nodes: [{ id: "pause", type: "wait", config: { duration: { hours: 1 }, ...(recheck ? { recheck_trigger: true } : {}) }, next: "notify" }, webhook(bucket, { config: { url: `${env.SINK_ORIGIN}/${bucket}/hook`, body: { item: "{{trigger.entity_id}}" } } })],
    },
  });
  expect(res.status).toBe(201);
  const wf = (await json(res)).id as string;
  expect((await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf;
}

/** A low-stock event starts a run, which sleeps in `pause`. */
async function startRun(tag: string, bucket: string, recheck = true) {
  const wf = await lowStockFlow(tag, bucket, recheck);
  const first = inventoryEvent({ occurred_at: new Date(Date.now() - 60_000).toISOString() }, { tags: [tag], on_hand: 2 });
  await consume([first]);
  const run = (await runFor(wf, first.id))!;
  expect(run.status).toBe("running");
  return { wf, run, item: first.entity_id, wake: (await alarmOf(run.id))! };
}

/** A later event for the same item: the mirror holds what it says. */
const change = (item: string, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
  inventoryEvent({ entity_id: item, occurred_at: new Date().toISOString(), ...overrides }, data);

const statuses = (run: RunRecord) => Object.fromEntries(run.steps.map((s) => [s.node_id, s.status]));

describe("recheck_trigger on a wait", () => {
  it("ends the run early when the item is back in stock by the time the wait ends", async () => {
    const tag = uid("tag");
    const bucket = uid("recheck");
    const { run: started, item, wake } = await startRun(tag, bucket);
    await consume([change(item, { tags: [tag], on_hand: 12 })]);

    const { run } = await fireAt(started.id, wake);
    expect(run.status).toBe("completed");
    expect(run.ended_early).toBe("trigger no longer matches");
    expect(statuses(run)).toEqual({ pause: "succeeded", notify: "skipped" });
    expect(run.steps[0]!.output).toMatchObject({ trigger_matches: false });
    expect(await received(bucket)).toEqual([]);
    // The API shows it.
    expect(await json(await api(`/api/runs/${started.id}`))).toMatchObject({ status: "completed", ended_early: "trigger no longer matches" });
  });

  it("lets the run go on when the trigger still holds", async () => {
    const tag = uid("tag");
    const bucket = uid("recheck");
    const { run: started, item, wake } = await startRun(tag, bucket);
    await consume([change(item, { tags: [tag, "other"], on_hand: 3 })]);

    const { run } = await fireAt(started.id, wake);
    expect(run.error).toBeNull();
    expect(run.status).toBe("completed");
    expect(run.ended_early).toBeNull();
    expect(statuses(run)).toEqual({ pause: "succeeded", notify: "succeeded" });
    expect(run.steps[0]!.output).toMatchObject({ trigger_matches: true });
    expect(await received(bucket)).toHaveLength(1);
  });

  it("re-checks the tags too, and an item deleted meanwhile no longer matches", async () => {
    const tag = uid("tag");
    const untagged = await startRun(tag, uid("recheck"));
    await consume([change(untagged.item, { tags: [], on_hand: 1 })]);
    expect((await fireAt(untagged.run.id, untagged.wake)).run).toMatchObject({ status: "completed", ended_early: "trigger no longer matches" });

    const deleted = await startRun(tag, uid("recheck"));
    await consume([change(deleted.item, {}, { type: "inventory_item.deleted" })]);
    const { run } = await fireAt(deleted.run.id, deleted.wake);
    expect(run).toMatchObject({ status: "completed", ended_early: "trigger no longer matches" });
    expect(run.steps[0]!.logs.map((l) => l.message)).toContain("The trigger's entity is gone: the run ends here");
  });

  it("does not read the item again without recheck_trigger", async () => {
    const tag = uid("tag");
    const bucket = uid("recheck");
    const { run: started, item, wake } = await startRun(tag, bucket, false);
    await consume([change(item, { tags: [tag], on_hand: 50 })]);
    const { run } = await fireAt(started.id, wake);
    expect(run).toMatchObject({ status: "completed", ended_early: null });
    expect(run.steps[0]!.attempts).toEqual([]);
    expect(await received(bucket)).toHaveLength(1);
  });

  it("retries a read of the mirror that failed, then re-checks", async () => {
    const tag = uid("tag");
    const bucket = uid("recheck");
    const { run: started, item, wake } = await startRun(tag, bucket);
    await consume([change(item, { tags: [tag], on_hand: 30 })]);
    await env.DB.exec("ALTER TABLE inventory_items RENAME TO inventory_items_away");
    let failed: RunRecord;
    try {
      failed = (await fireAt(started.id, wake)).run;
    } finally {
      await env.DB.exec("ALTER TABLE inventory_items_away RENAME TO inventory_items");
    }
    expect(failed.status).toBe("running");
    expect(failed.steps[0]!.attempts[0]!.error).toMatch(/Reading the inventory_item .* again failed/);
    const { run } = await fireAt(started.id, Date.parse(failed.steps[0]!.next_attempt_at!));
    expect(run).toMatchObject({ status: "completed", ended_early: "trigger no longer matches" });
    expect(run.steps[0]!.attempts).toHaveLength(2);
    expect(await received(bucket)).toEqual([]);
  });
});
