import { createMessageBatch, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gateName, type GateObject } from "../../worker/flow/gate-object";
import { consumeBatch } from "../../worker/intake/consumer";
import { runName } from "../../worker/lib/ids";
import type { RunObject } from "../../worker/run/run-object";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor } from "../support/events";

/*
 * Flow control (SPEC §14) end to end: events through the real consumer, the real gate object and
 * real run objects, alarms fired with runDurableObjectAlarm after moving the objects' clocks.
 */

const HOUR = 3_600_000;
type Event = ReturnType<typeof inventoryEvent>;

/** A workflow whose runs sleep an hour then end: a run holds its slot until its alarm is fired. */
async function gatedWorkflow(controls: Record<string, unknown>, nodes?: unknown[]): Promise<string> {
  const def = {
    name: uid("gated"),
    trigger: { entity: "inventory_item" },
    start: "nap",
    nodes: nodes ?? [
      { id: "nap", type: "wait", config: { duration: { hours: 1 } }, next: "done" },
      { id: "done", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "gte", right: 0 }] } },
    ],
    controls,
  };
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status).toBe(201);
  const wf = await json(res);
  expect((await api(`/api/workflows/${wf.id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return wf.id as string;
}

function events(n: number, data: Record<string, unknown>): Event[] {
  return Array.from({ length: n }, (_, i) => inventoryEvent({}, { on_hand: i, ...data }));
}

let seq = 5_000_000;
async function consume(list: Event[]) {
  const batch = createMessageBatch(
    "workflow-events",
    list.map((e) => inboxMessage(e, uid("m"), seq++)),
  );
  return consumeBatch(batch, env);
}

const gateOf = (wf: string, key: string) => env.FLOW.get(env.FLOW.idFromName(gateName(wf, key)));
const runOf = (wf: string, eventId: string) => env.RUNS.get(env.RUNS.idFromName(runName(wf, eventId)));

async function statuses(wf: string, list: Event[]) {
  const runs = await Promise.all(list.map((e) => runFor(wf, e.id)));
  const by: Record<string, number> = {};
  for (const r of runs) {
    const k = r === null ? "none" : r.status === "pending" ? `pending:${r.waiting_for}` : r.status;
    by[k] = (by[k] ?? 0) + 1;
  }
  return by;
}

/** Wakes a sleeping run an hour and a bit later: its wait ends and it completes. */
async function wake(wf: string, eventId: string) {
  const stub = runOf(wf, eventId);
  await runInDurableObject(stub, (o: RunObject) => {
    o.clock = { now: () => Date.now() + 2 * HOUR, random: () => 0.5 };
  });
  await runDurableObjectAlarm(stub);
  await stub.settled();
}

/** The workflow's stats once the gate has written its counts (its alarm flushes them). */
async function stats(wf: string, key: string) {
  await runDurableObjectAlarm(gateOf(wf, key));
  const res = await api(`/api/workflows/${wf}/stats`);
  expect(res.status).toBe(200);
  return json(res);
}

/** Moves the gate's clock by `ms` and fires its alarm. */
async function tickGate(wf: string, key: string, ms: number) {
  const gate = gateOf(wf, key);
  await runInDurableObject(gate, (o: GateObject) => {
    o.clock = { now: () => Date.now() + ms };
  });
  await runDurableObjectAlarm(gate);
}

describe("concurrency per key", () => {
  it("runs 50 events of one key at most 2 at a time, first in first out, and completes all 50", async () => {
    const wf = await gatedWorkflow({ key: "{{trigger.data.shop_id}}", concurrency: 2 });
    const list = events(50, { shop_id: "s1" });
    await consume(list);
    expect(await statuses(wf, list)).toEqual({ running: 2, "pending:concurrency": 48 });
    expect(await gateOf(wf, "s1").snapshot()).toMatchObject({ key: "s1", running: 2, waiting: 48 });

    const order: string[] = [];
    for (let round = 0; round < 25; round++) {
      const running = (await Promise.all(list.map(async (e) => ((await runFor(wf, e.id))?.status === "running" ? e : null)))).filter((e) => e !== null);
      expect(running.length).toBe(2);
      for (const e of running) {
        order.push(e.id);
        await wake(wf, e.id);
      }
      const snap = await gateOf(wf, "s1").snapshot();
      expect(snap.running).toBeLessThanOrEqual(2);
    }
    expect(await statuses(wf, list)).toEqual({ completed: 50 });
    expect(order).toEqual(list.map((e) => e.id)); // first in, first out
    expect(await gateOf(wf, "s1").snapshot()).toMatchObject({ running: 0, waiting: 0 });
  });

  it("keeps keys apart: one key's queue does not hold another's", async () => {
    const wf = await gatedWorkflow({ key: "{{trigger.data.shop_id}}", concurrency: 1 });
    const a = events(3, { shop_id: "north" });
    const b = events(2, { shop_id: "south" });
    await consume([...a, ...b]);
    expect(await statuses(wf, a)).toEqual({ running: 1, "pending:concurrency": 2 });
    expect(await statuses(wf, b)).toEqual({ running: 1, "pending:concurrency": 1 });
  });

  it("frees the slot of a run that is cancelled, and drops a cancelled waiting run from the queue", async () => {
    const wf = await gatedWorkflow({ concurrency: 1 });
    const [first, second, third] = events(3, {});
    await consume([first!, second!, third!]);
    const waiting = await runFor(wf, second!.id);
    expect(waiting).toMatchObject({ status: "pending", waiting_for: "concurrency", flow_key: "" });
    // The list says why too.
    const list = await json(await api(`/api/runs?workflow_id=${wf}&status=pending`));
    expect(list.items.map((r: { waiting_for: string }) => r.waiting_for)).toEqual(["concurrency", "concurrency"]);

    expect((await api(`/api/runs/${waiting!.id}/cancel`, { method: "POST" })).status).toBe(200);
    const running = await runFor(wf, first!.id);
    expect((await api(`/api/runs/${running!.id}/cancel`, { method: "POST" })).status).toBe(200);
    // The third starts: the cancelled waiting run gave up its place, the cancelled running one its slot.
    expect((await runFor(wf, third!.id))?.status).toBe("running");
    expect(await statuses(wf, [first!, second!, third!])).toEqual({ cancelled: 2, running: 1 });
  });

  it("frees a slot whose run ended without telling the gate, at the lease check", async () => {
    const wf = await gatedWorkflow({ concurrency: 1 });
    const [first, second] = events(2, {});
    await consume([first!, second!]);
    // The run believes it told the gate already: the gate never hears of its end.
    await runInDurableObject(runOf(wf, first!.id), (_o: RunObject, state) => state.storage.kv.put("gate_released", true));
    await wake(wf, first!.id);
    expect((await runFor(wf, first!.id))?.status).toBe("completed");
    expect((await runFor(wf, second!.id))?.status).toBe("pending");
    await tickGate(wf, "", 6 * 60_000);
    expect((await runFor(wf, second!.id))?.status).toBe("running");
  });

  it("starts no second run for an event delivered twice", async () => {
    const wf = await gatedWorkflow({ concurrency: 1 });
    const [first, second] = events(2, {});
    await consume([first!, second!]);
    const again = await consume([first!, second!]);
    expect(again.created).toBe(0);
    expect(await gateOf(wf, "").snapshot()).toMatchObject({ running: 1, waiting: 1 });
  });
});

describe("throttle", () => {
  it("starts 10 an hour and delays the 11th to the next period, dropping none", async () => {
    const wf = await gatedWorkflow({ throttle: { limit: 10, period_minutes: 60 } });
    const list = events(11, {});
    await consume(list);
    expect(await statuses(wf, list)).toEqual({ running: 10, "pending:throttle": 1 });
    const before = await stats(wf, "");
    expect(before.days[0]).toMatchObject({ started: 10, delayed: 1, suppressed: 0, waiting: 1 });
    await tickGate(wf, "", HOUR);
    expect(await statuses(wf, list)).toEqual({ running: 11 });
  });
});

describe("debounce", () => {
  it("collapses a burst into one run with the last event, once the window is quiet", async () => {
    const wf = await gatedWorkflow({ key: "{{trigger.data.sku}}", debounce_minutes: 10 });
    const list = events(5, { sku: "SKU-D" });
    for (const e of list) await consume([e]); // one by one, in order
    const run = await runFor(wf, list[0]!.id);
    expect(run).toMatchObject({ status: "pending", waiting_for: "debounce", trigger: { id: list[4]!.id, data: { on_hand: 4 } } });
    for (const e of list.slice(1)) expect(await runFor(wf, e.id)).toBeNull();
    await tickGate(wf, "SKU-D", 11 * 60_000);
    const started = await runFor(wf, list[0]!.id);
    expect(started).toMatchObject({ status: "running", waiting_for: null, trigger: { id: list[4]!.id } });
    expect(await gateOf(wf, "SKU-D").snapshot()).toMatchObject({ running: 1, waiting: 0 });
    expect((await stats(wf, "SKU-D")).days[0]).toMatchObject({ started: 1, suppressed: 4 });
  });
});

describe("cooldown", () => {
  it("starts one run and counts the events inside the cooldown as suppressed", async () => {
    const wf = await gatedWorkflow({ key: "{{trigger.data.sku}}", cooldown_minutes: 60 });
    const list = events(3, { sku: "SKU-C" });
    for (const e of list) await consume([e]);
    expect(await statuses(wf, list)).toEqual({ running: 1, none: 2 });
    const s = await stats(wf, "SKU-C");
    expect(s.days).toHaveLength(1);
    expect(s.days[0]).toMatchObject({ started: 1, suppressed: 2, delayed: 0, waiting: 0 });
  });
});

describe("stats", () => {
  it("counts the runs a workflow without controls started, and answers 404 for an unknown workflow", async () => {
    const wf = await gatedWorkflow({ caps: { per_day: { emails: 5 } } });
    const list = events(3, {});
    await consume(list);
    const res = await api(`/api/workflows/${wf}/stats?days=3`);
    const body = await json(res);
    expect(body.days[0]).toMatchObject({ started: 3, suppressed: 0 });
    expect(body.caps).toMatchObject({ used: { emails: 0 }, limits: { emails: 5, pushes: null } });
    expect((await api(`/api/workflows/wf_nope/stats`)).status).toBe(404);
    expect((await api(`/api/workflows/${wf}/stats?days=0`)).status).toBe(400);
    expect((await api(`/api/workflows/${wf}/stats?days=abc`)).status).toBe(400);
  });
});

describe("controls in the definition", () => {
  it("refuses a key that is not an interpolation of the trigger's data", async () => {
    for (const key of ["shop", "{{steps.a.output.id}}", "{{trigger.id}}"]) {
      const res = await api("/api/workflows", {
        method: "POST",
        json: { name: uid("bad"), trigger: { entity: "inventory_item" }, start: "a", nodes: [{ id: "a", type: "wait", config: { duration: { minutes: 1 } } }], controls: { key, concurrency: 1 } },
      });
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.error.issues.map((i: { path: string }) => i.path)).toContain("controls.key");
    }
  });

  it("refuses limits out of range and unknown controls", async () => {
    for (const controls of [{ concurrency: 0 }, { throttle: { limit: 5 } }, { debounce_minutes: 5000 }, { caps: { per_day: { sms: 3 } } }, { burst: 1 }]) {
      const res = await api("/api/workflows", {
        method: "POST",
        json: { name: uid("bad"), trigger: { entity: "inventory_item" }, start: "a", nodes: [{ id: "a", type: "wait", config: { duration: { minutes: 1 } } }], controls },
      });
      expect(res.status).toBe(400);
    }
  });

  it("keeps controls per version", async () => {
    const wf = await gatedWorkflow({ key: "{{trigger.data.shop_id}}", concurrency: 5 });
    const v1 = await json(await api(`/api/workflows/${wf}`));
    expect(v1.definition.controls).toEqual({ key: "{{trigger.data.shop_id}}", concurrency: 5 });
    const res = await api(`/api/workflows/${wf}`, { method: "PUT", json: { ...v1.definition, controls: { concurrency: 1 } } });
    expect(res.status).toBe(200);
    const versions = await json(await api(`/api/workflows/${wf}/versions`));
    const byVersion = Object.fromEntries(versions.items.map((v: { version: number; definition: { controls: unknown } }) => [v.version, v.definition.controls]));
    expect(byVersion).toEqual({ 1: { key: "{{trigger.data.shop_id}}", concurrency: 5 }, 2: { concurrency: 1 } });
  });
});
