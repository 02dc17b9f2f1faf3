import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { RunObject, RunRecord } from "../../worker/run/run-object";
import { api, json, uid } from "./api";

/*
 * Helpers for tests of the run object end to end: real Durable Object, real alarms (fired with
 * runDurableObjectAlarm, the run's clock moved instead of sleeping), real HTTP to the local sink.
 */

export const stubOf = (id: string) => env.RUNS.get(env.RUNS.idFromString(id));

/** The run once its current action finished. */
export const settled = async (id: string): Promise<RunRecord> => JSON.parse((await stubOf(id).settled())!);

/** Queues the responses the sink gives the next requests to `bucket`. */
export async function program(bucket: string, responses: unknown[]) {
  const res = await fetch(`${env.SINK_ORIGIN}/_sink/${bucket}/program`, { method: "POST", body: JSON.stringify(responses) });
  expect(res.status).toBe(204);
}

/** What the sink received in `bucket`: each request is one effect a run performed. */
export async function received(bucket: string): Promise<{ method: string; headers: Record<string, string>; body: string }[]> {
  return (await fetch(`${env.SINK_ORIGIN}/_sink/${bucket}/requests`)).json();
}

/** Until the sink has seen `n` requests in `bucket` (an action is then surely in flight). */
export async function reached(bucket: string, n = 1) {
  for (let i = 0; i < 200; i++) {
    if ((await received(bucket)).length >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`The sink never saw ${n} request(s) in ${bucket}`);
}

export async function createWorkflow(nodes: unknown[], name = uid("engine")): Promise<string> {
  const wf = await json(
    await api("/api/workflows", {
      method: "POST",
      json: { name, trigger: { entity: "inventory_item" }, start: (nodes[0] as { id: string }).id, nodes },
    }),
  );
  expect(wf.id).toBeDefined();
  return wf.id as string;
}

/** Starts a test run of the workflow's current version; answers once start() returned. */
export async function startRun(workflowId: string, data: Record<string, unknown> = { sku: "SKU-1", on_hand: 1 }): Promise<string> {
  const res = await api(`/api/workflows/${workflowId}/test`, { method: "POST", json: { entity_id: uid("inv"), data } });
  expect(res.status).toBe(202);
  return (await json(res)).id as string;
}

/** A new workflow with these nodes, a test run of it, and the run once its first action finished. */
export async function startTest(nodes: unknown[], data?: Record<string, unknown>) {
  const workflowId = await createWorkflow(nodes);
  const id = await startRun(workflowId, data);
  return { id, workflowId, run: await settled(id) };
}

/** Moves the run's clock to `at` (epoch ms), fires its alarm and waits for what it started. */
export async function fireAt(id: string, at: number) {
  await runInDurableObject(stubOf(id), (obj: RunObject) => {
    const offset = at - Date.now();
    obj.clock.now = () => Date.now() + offset;
  });
  const ran = await runDurableObjectAlarm(stubOf(id));
  return { ran, run: await settled(id) };
}

/** The time the run's alarm is armed for, or null. */
export const alarmOf = (id: string) => runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.getAlarm());

export const webhook = (bucket: string, extra: Record<string, unknown> = {}) => ({
  id: "notify",
  type: "call_webhook",
  config: { url: `${env.SINK_ORIGIN}/${bucket}/hook`, body: { sku: "{{trigger.data.sku}}" } },
  ...extra,
});

export const noJitter = { max_attempts: 3, backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 60_000, jitter: false };

/**
 * Nothing is left to move the run: an alarm still armed (an alarm is never deleted, see
 * RunObject.arm) fires without writing anything, and none is left after it.
 */
export async function expectAtRest(id: string) {
  const rev = () => runInDurableObject(stubOf(id), (_obj: RunObject, state) => state.storage.kv.get<{ rev: number }>("run")!.rev);
  const before = await rev();
  await runDurableObjectAlarm(stubOf(id));
  expect(await rev()).toBe(before);
  expect(await runDurableObjectAlarm(stubOf(id))).toBe(false);
}
