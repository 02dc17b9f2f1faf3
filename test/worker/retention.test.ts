import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { upsertRunStatement } from "../../worker/db/run-index";
import worker from "../../worker/index";
import { ConfigSchema, config } from "../../worker/config";
import { EpisodeStateSchema } from "../../worker/restock/episode";
import type { RestockObject } from "../../worker/restock/restock-object";
import { writeEpisode } from "../../worker/restock/store";
import { RETENTION_LIMITS, runRetention } from "../../worker/retention/retention";
import type { RunObject } from "../../worker/run/run-object";
import { RETENTION_MINUTE, retentionDue } from "../../worker/scheduled";
import { api, json, uid } from "../support/api";
import { createWorkflow, program, settled, stubOf, webhook } from "../support/runs";

/*
 * Retention (SPEC §16) with real run and restock objects and D1. Nothing sleeps: runs start with
 * their clock moved into the past, so their own state and their D1 row say they started then, and
 * rows are written with past times. RETENTION_DAYS is 30 (wrangler.toml). Storage is shared by the
 * tests of this file, and a pass deletes whatever is old in it: each test checks its own ids.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;
/** Past the 30 days of retention, and well within them. */
const OLD = 40 * DAY;
const RECENT = 10 * DAY;

/** Completes at once, with no effect. */
const instant = [{ id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.sku}}", op: "ne", right: "" }] } }];
/** Sleeps 60 days: started OLD ago, it wakes 20 days from now, so its alarm never fires here. */
const sleeper = [{ id: "pause", type: "wait", config: { duration: { days: 60 } } }];

/** A run of the workflow whose clock stood `ago` ms in the past when it started (and stays so). */
async function runStartedAgo(workflowId: string, ago: number): Promise<string> {
  const stub = env.RUNS.get(env.RUNS.idFromName(uid("retention")));
  await runInDurableObject(stub, (obj: RunObject) => {
    obj.clock.now = () => Date.now() - ago;
  });
  const at = new Date(Date.now() - ago).toISOString();
  const entityId = uid("inv");
  const trigger = { id: uid("evt"), type: "inventory_item.updated", entity: "inventory_item", entity_id: entityId, occurred_at: at, data: { id: entityId, sku: "SKU-1" }, previous: null };
  const { id } = await stub.start({ workflow_id: workflowId, workflow_version: 1, trigger, test: false });
  await settled(id);
  return id;
}

const rowOf = (id: string) => env.DB.prepare("SELECT status, started_at FROM runs WHERE id = ?").bind(id).first<{ status: string; started_at: number }>();

/** What the run's object stores: its keys and its alarm. */
const storageOf = (id: string) =>
  runInDurableObject(stubOf(id), async (_obj: RunObject, state) => ({ keys: [...state.storage.kv.list()].length, alarm: await state.storage.getAlarm() }));

async function expectGone(id: string) {
  expect(await rowOf(id)).toBeNull();
  expect(await stubOf(id).snapshot()).toBeNull();
  expect(await storageOf(id)).toEqual({ keys: 0, alarm: null });
  const res = await api(`/api/runs/${id}`);
  expect(res.status).toBe(404);
  expect((await json(res)).error.code).toBe("not_found");
}

/** Passes until one reaches no bound: whatever earlier tests left old is gone. */
async function drain() {
  for (let i = 0; i < 50; i++) if (!(await runRetention(env, Date.now())).more) return;
  throw new Error("retention never caught up");
}

const restockStub = (id: string) => env.RESTOCKS.get(env.RESTOCKS.idFromName(id));

/**
 * A restock episode started a year ahead (so its alarm never fires by itself), then run with its
 * clock moved `endedAgo` into the past: nobody's workflow is active, so it ends then.
 */
async function restockObject(endedAgo: number | null) {
  const id = uid("episode");
  const stub = restockStub(id);
  await runInDurableObject(stub, (o: RestockObject) => {
    o.clock.now = () => Date.now() + YEAR;
  });
  await stub.start({ id, workflow_id: uid("wf"), version: 1, variant_id: uid("var"), shop_id: null, event_id: uid("evt"), min_stock: 1, per_unit: null, wave_minutes: 60 });
  if (endedAgo !== null) {
    await runInDurableObject(stub, (o: RestockObject) => {
      o.clock.now = () => Date.now() - endedAgo;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
  }
  const state = EpisodeStateSchema.parse(await stub.snapshot());
  return { id, stub, state };
}

/** An episode that ended `ago` in the past, object and row (the object lists those that notified someone: listed here as if it had). */
async function endedEpisode(ago: number) {
  const episode = await restockObject(ago);
  expect(episode.state).toMatchObject({ status: "ended", end_reason: "workflow_inactive" });
  expect(Math.abs(Date.parse(episode.state.ended_at!) - (Date.now() - ago))).toBeLessThan(MINUTE);
  await writeEpisode(env.DB, episode.state);
  return episode.id;
}

const episodeRow = (id: string) => env.DB.prepare("SELECT status FROM restock_episodes WHERE id = ?").bind(id).first<{ status: string }>();
const iso = (ago: number) => new Date(Date.now() - ago).toISOString();

describe("retention of runs", () => {
  it("deletes old completed, failed and cancelled runs with their object storage", async () => {
    const bucket = uid("gone");
    await program(bucket, [{ status: 404 }]);
    const completed = await runStartedAgo(await createWorkflow(instant), OLD);
    const failed = await runStartedAgo(await createWorkflow([webhook(bucket)]), OLD);
    const cancelled = await runStartedAgo(await createWorkflow(sleeper), OLD);
    expect((await api(`/api/runs/${cancelled}/cancel`, { method: "POST" })).status).toBe(200);

    for (const [id, status] of [[completed, "completed"], [failed, "failed"], [cancelled, "cancelled"]] as const) {
      expect(await rowOf(id)).toEqual({ status, started_at: expect.any(Number) });
      expect(Date.now() - (await rowOf(id))!.started_at).toBeGreaterThanOrEqual(OLD);
      expect((await storageOf(id)).keys).toBeGreaterThan(0);
    }

    const result = await runRetention(env, Date.now());
    expect(result.runs).toBeGreaterThanOrEqual(3);
    expect(result).toMatchObject({ runs_refused: 0, runs_failed: 0, more: false });
    for (const id of [completed, failed, cancelled]) await expectGone(id);
  });

  it("keeps an old run sleeping in a wait, a recent ended run, and an old run its gate holds", async () => {
    const waiting = await runStartedAgo(await createWorkflow(sleeper), OLD);
    const recent = await runStartedAgo(await createWorkflow(instant), RECENT);
    const before = await storageOf(waiting);
    expect((await settled(waiting)).status).toBe("running");
    expect(before.alarm).toBeGreaterThan(Date.now() + 19 * DAY);
    // A pending run held by its flow-control gate, as the index shows it.
    const held = uid("held");
    const startedAt = Date.now() - YEAR;
    await upsertRunStatement(env.DB, {
      id: held,
      rev: 1,
      workflow_id: uid("wf"),
      workflow_version: 1,
      status: "pending",
      waiting_for: "concurrency",
      flow_key: null,
      test: false,
      event_id: uid("evt"),
      entity: "inventory_item",
      entity_id: uid("inv"),
      started_at: startedAt,
      finished_at: null,
      error: null,
      summary: null,
      steps: {},
    }).run();

    await runRetention(env, Date.now());
    expect(await rowOf(waiting)).toMatchObject({ status: "running" });
    expect((await settled(waiting)).steps[0]).toMatchObject({ node_id: "pause", status: "running" });
    expect(await storageOf(waiting)).toEqual(before);
    expect(await rowOf(recent)).toMatchObject({ status: "completed" });
    expect((await settled(recent)).status).toBe("completed");
    expect(await rowOf(held)).toEqual({ status: "pending", started_at: startedAt });
    // Asked directly, the object of a run that has not ended refuses too.
    expect(await stubOf(waiting).purge()).toEqual({ purged: false });
    expect(await storageOf(waiting)).toEqual(before);
  });

  it("keeps a run whose row says it ended while its object has not", async () => {
    const waiting = await runStartedAgo(await createWorkflow(sleeper), OLD);
    const row = (await rowOf(waiting))!;
    const before = await storageOf(waiting);
    await upsertRunStatement(env.DB, {
      id: waiting,
      rev: 1_000,
      workflow_id: uid("wf"),
      workflow_version: 1,
      status: "completed",
      waiting_for: null,
      flow_key: null,
      test: false,
      event_id: null,
      entity: "inventory_item",
      entity_id: "inv",
      started_at: row.started_at,
      finished_at: Date.now() - OLD,
      error: null,
      summary: null,
      steps: {},
    }).run();

    const result = await runRetention(env, Date.now());
    expect(result.runs_refused).toBeGreaterThanOrEqual(1);
    expect(await rowOf(waiting)).toMatchObject({ status: "completed" });
    expect((await settled(waiting)).status).toBe("running");
    expect(await storageOf(waiting)).toEqual(before);
    // Ended for real, it goes with the next pass.
    expect((await api(`/api/runs/${waiting}/cancel`, { method: "POST" })).status).toBe(200);
    await runRetention(env, Date.now());
    await expectGone(waiting);
  });

  it("finishes the next pass when one died between purging an object and deleting its row", async () => {
    const id = await runStartedAgo(await createWorkflow(instant), OLD);
    expect(await stubOf(id).purge()).toEqual({ purged: true });
    expect(await rowOf(id)).toMatchObject({ status: "completed" });
    // The object is empty: purging it again answers purged, and the row goes.
    expect(await stubOf(id).purge()).toEqual({ purged: true });
    const result = await runRetention(env, Date.now());
    expect(result.runs).toBeGreaterThanOrEqual(1);
    await expectGone(id);
  });

  it("takes several passes over more ended runs than one pass may purge, oldest first, and loses nothing waiting", async () => {
    await drain();
    const limits = { ...RETENTION_LIMITS, runs: 3 };
    const waiting = await runStartedAgo(await createWorkflow(sleeper), 50 * DAY);
    const wf = await createWorkflow(instant);
    // Oldest first: ended[0] started 50 days ago, each next one a minute later.
    const ended: string[] = [];
    for (let i = 0; i < 7; i++) ended.push(await runStartedAgo(wf, 50 * DAY - i * MINUTE));

    const passes = [];
    for (const expected of [3, 3, 1]) {
      const result = await runRetention(env, Date.now(), limits);
      passes.push(result);
      expect(result.runs).toBe(expected);
      // The oldest ones went, the rest are still there.
      for (const [i, id] of ended.entries()) expect(await rowOf(id), `run ${i} after pass ${passes.length}`).toEqual(i < passes.length * 3 ? null : expect.objectContaining({ status: "completed" }));
      expect((await settled(waiting)).status).toBe("running");
    }
    expect(passes.map((p) => p.more)).toEqual([true, true, false]);
    for (const id of ended) await expectGone(id);
    expect(await rowOf(waiting)).toMatchObject({ status: "running" });
    expect((await storageOf(waiting)).keys).toBeGreaterThan(0);
  });

  it("deletes a run once RETENTION_DAYS have passed since it started, not a day before", async () => {
    expect(config(env).RETENTION_DAYS).toBe(30);
    const tenDaysOld = await runStartedAgo(await createWorkflow(instant), RECENT);
    await runRetention(env, Date.now() + 19 * DAY);
    expect(await rowOf(tenDaysOld)).toMatchObject({ status: "completed" });
    await runRetention(env, Date.now() + 20 * DAY + MINUTE);
    await expectGone(tenDaysOld);
  });

  it("reads RETENTION_DAYS as a whole number of days from 1, else 30", () => {
    const days = (v: string | undefined) => ConfigSchema.parse({ RETENTION_DAYS: v }).RETENTION_DAYS;
    expect([days("7"), days(" 90 "), days("1")]).toEqual([7, 90, 1]);
    expect([days(undefined), days(""), days("0"), days("-3"), days("1.5"), days("ten"), days("99999")]).toEqual([30, 30, 30, 30, 30, 30, 30]);
  });
});

describe("retention of events, episodes and statistics", () => {
  it("deletes dead and stale events, ended restock episodes and flow statistics older than the cutoff, and keeps newer ones and business data", async () => {
    const [oldDead, newDead, oldStale, newStale, workflow] = [uid("dead"), uid("dead"), uid("stale"), uid("stale"), uid("wf")];
    const dead = env.DB.prepare("INSERT INTO dead_events (id, event_id, body, attempts, dead_at) VALUES (?, ?, '{}', 5, ?)");
    const stale = env.DB.prepare(
      `INSERT INTO stale_events (event_id, type, entity, entity_id, occurred_at, held_event_id, held_occurred_at, skipped_workflows, skipped_count, recorded_at)
       VALUES (?1, 'inventory_item.updated', 'inventory_item', 'inv_1', ?2, 'evt_held', '2026-01-01T00:00:00.000Z', '[]', 0, ?2)`,
    );
    const stats = env.DB.prepare("INSERT INTO flow_stats (workflow_id, day, flow_key, started, updated_at) VALUES (?, ?, 'shop_1', 3, 0)");
    const day = (ago: number) => iso(ago).slice(0, 10);
    const longAgo = iso(YEAR);
    await env.DB.batch([
      dead.bind(oldDead, uid("evt"), iso(OLD)),
      dead.bind(newDead, uid("evt"), iso(RECENT)),
      stale.bind(oldStale, iso(OLD)),
      stale.bind(newStale, iso(RECENT)),
      stats.bind(workflow, day(OLD)),
      stats.bind(workflow, day(31 * DAY)),
      stats.bind(workflow, day(RECENT)),
      // Business data as old: kept.
      env.DB.prepare("INSERT INTO conversions (order_id, subscription_id, customer_id, variant_id, revenue, converted_at) VALUES (?, 'sub_1', 'cust_1', 'var_1', 99, ?)").bind(uid("order"), longAgo),
      env.DB.prepare("INSERT INTO tracked_links (token, run_id, workflow_id, node_id, url, created_at) VALUES (?, 'run_1', ?, 'notify', 'https://example.com', ?)").bind(uid("tok"), workflow, longAgo),
    ]);
    const oldEpisode = await endedEpisode(OLD);
    const newEpisode = await endedEpisode(RECENT);
    // An episode still waiting for its next wave, started long ago: kept whatever its age.
    const waitingEpisode = await restockObject(null);
    await writeEpisode(env.DB, { ...waitingEpisode.state, status: "waiting", started_at: iso(YEAR), updated_at: iso(OLD) });
    expect(Object.keys(await runInDurableObject(restockStub(oldEpisode), (_o: RestockObject, state) => [...state.storage.kv.list()])).length).toBeGreaterThan(0);

    const result = await runRetention(env, Date.now());
    expect(result.dead_events).toBeGreaterThanOrEqual(1);
    expect(result.stale_events).toBeGreaterThanOrEqual(1);
    expect(result.flow_stats).toBeGreaterThanOrEqual(2);
    expect(result.restock_episodes).toBeGreaterThanOrEqual(1);
    expect(result).toMatchObject({ episodes_refused: 0, episodes_failed: 0 });

    const ids = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).all<{ id: string }>()).results.map((r) => r.id);
    expect(await ids("SELECT id FROM dead_events WHERE id IN (?, ?)", oldDead, newDead)).toEqual([newDead]);
    expect(await ids("SELECT event_id AS id FROM stale_events WHERE event_id IN (?, ?)", oldStale, newStale)).toEqual([newStale]);
    expect(await ids("SELECT day AS id FROM flow_stats WHERE workflow_id = ?", workflow)).toEqual([day(RECENT)]);
    expect(await ids("SELECT order_id AS id FROM conversions WHERE converted_at = ?", longAgo)).toHaveLength(1);
    expect(await ids("SELECT token AS id FROM tracked_links WHERE workflow_id = ?", workflow)).toHaveLength(1);

    expect(await episodeRow(oldEpisode)).toBeNull();
    expect(await restockStub(oldEpisode).snapshot()).toBeNull();
    expect(await runInDurableObject(restockStub(oldEpisode), async (_o: RestockObject, state) => ({ keys: [...state.storage.kv.list()].length, alarm: await state.storage.getAlarm() }))).toEqual({
      keys: 0,
      alarm: null,
    });
    expect(await episodeRow(newEpisode)).toEqual({ status: "ended" });
    expect(await restockStub(newEpisode).snapshot()).toMatchObject({ status: "ended" });
    expect(await episodeRow(waitingEpisode.id)).toEqual({ status: "waiting" });
    expect(await restockStub(waitingEpisode.id).snapshot()).toMatchObject({ status: "sending" });
  });

  it("keeps an episode whose row says it ended while its object still sends", async () => {
    const episode = await restockObject(null);
    await writeEpisode(env.DB, { ...episode.state, status: "ended", end_reason: "stock_below", ended_at: iso(OLD) });
    const result = await runRetention(env, Date.now());
    expect(result.episodes_refused).toBeGreaterThanOrEqual(1);
    expect(await episodeRow(episode.id)).toEqual({ status: "ended" });
    expect(await episode.stub.snapshot()).toMatchObject({ status: "sending" });
    await env.DB.prepare("DELETE FROM restock_episodes WHERE id = ?").bind(episode.id).run();
  });

  it("deletes nothing more on a second pass", async () => {
    await runStartedAgo(await createWorkflow(instant), OLD);
    await endedEpisode(OLD);
    await env.DB.prepare("INSERT INTO dead_events (id, event_id, body, attempts, dead_at) VALUES (?, NULL, '{}', 5, ?)").bind(uid("dead"), iso(OLD)).run();
    const first = await runRetention(env, Date.now());
    expect(first).toMatchObject({ more: false });
    expect(first.runs + first.restock_episodes + first.dead_events).toBeGreaterThanOrEqual(3);
    const second = await runRetention(env, Date.now());
    expect(second).toMatchObject({ runs: 0, restock_episodes: 0, dead_events: 0, stale_events: 0, flow_stats: 0, more: false });
  });
});

describe("the scheduled handler", () => {
  /** The minute tick at `minute` of the current hour, through the Worker's own scheduled export. */
  async function tick(minute: number) {
    const scheduledTime = Math.floor(Date.now() / HOUR) * HOUR + minute * MINUTE;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
  }

  it("runs retention at minute 17 of every hour, and goes on at the next ticks only while a pass left work", () => {
    const hour = Date.parse("2026-11-20T08:00:00.000Z");
    expect(RETENTION_MINUTE).toBe(17);
    expect([0, 16, 17, 18, 59].map((m) => retentionDue(hour + m * MINUTE, false))).toEqual([false, false, true, false, false]);
    expect([0, 16, 18, 59].map((m) => retentionDue(hour + m * MINUTE, true))).toEqual([true, true, true, true]);
  });

  it("runs retention through the Worker's scheduled export at its minute, and logs what it deleted", async () => {
    const id = await runStartedAgo(await createWorkflow(instant), OLD);
    await tick(RETENTION_MINUTE + 1);
    expect(await rowOf(id)).toMatchObject({ status: "completed" });

    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(...String(args[0]).split("\n")));
    try {
      await tick(RETENTION_MINUTE);
    } finally {
      spy.mockRestore();
    }
    await expectGone(id);
    const logged = lines.filter((l) => l.startsWith('{"kind":"retention"')).map((l) => JSON.parse(l));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ kind: "retention", days: 30, runs: expect.any(Number), dead_events: expect.any(Number), more: false });
    expect(logged[0].runs).toBeGreaterThanOrEqual(1);
  });
});
