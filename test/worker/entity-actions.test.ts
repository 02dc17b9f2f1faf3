import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { mirrorPort } from "../../worker/entities/mirror-port";
import type { EntitySnapshot } from "../../worker/entities/registry";
import { changeStatements, getEntity, preparedRow, upsertStatements } from "../../worker/entities/store";
import type { NodeDeps, OutgoingEmail } from "../../worker/engine/step";
import { stepDeps } from "../../worker/run/deps";
import { sendInternalEmail } from "../../worker/nodes/send-internal-email";
import { api, json, uid } from "../support/api";
import { actionContext, testScope } from "../support/action-context";
import { inboxMessage, runFor, type SentEvent } from "../support/events";
import { settled } from "../support/runs";

/*
 * update_subscription_status, add/remove_customer_tags and send_internal_email on the real
 * bindings (SPEC §12): changes go to the D1 mirror with the run as their source, start no
 * workflow, and order against platform events by occurred_at.
 */

const iso = (ms: number) => new Date(ms).toISOString();

async function put(kind: string, rows: Record<string, unknown>[]) {
  const res = await api(`/api/entities/${kind}`, { method: "PUT", json: rows });
  expect(res.status, await res.clone().text()).toBe(200);
}

const subscription = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  customer_id: uid("cus"),
  variant_id: "var_1",
  status: "pending",
  channel: "email",
  created_at: "2026-11-01T09:00:00Z",
  tags: [],
  ...over,
});

async function entity(kind: string, id: string) {
  const res = await api(`/api/entities/${kind}/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return json(res);
}

/** A workflow on `entity` whose run goes through `nodes` in order; active when asked. */
async function workflow(entity: string, nodes: { id: string; type: string; config: unknown }[], trigger: Record<string, unknown> = {}, active = false): Promise<string> {
  const chained = nodes.map((n, i) => ({ ...n, ...(nodes[i + 1] ? { next: nodes[i + 1]!.id } : {}) }));
  const res = await api("/api/workflows", { method: "POST", json: { name: uid("wf"), trigger: { entity, ...trigger }, start: nodes[0]!.id, nodes: chained } });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = await json(res);
  if (active) expect((await api(`/api/workflows/${id}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
  return id as string;
}

/** A test run on the mirror's snapshot of `entityId` (or on `data`), once it finished. */
async function testRun(workflowId: string, entityId: string, data?: Record<string, unknown>) {
  const res = await api(`/api/workflows/${workflowId}/test`, { method: "POST", json: { entity_id: entityId, ...(data ? { data } : {}) } });
  expect(res.status, await res.clone().text()).toBe(202);
  return settled((await json(res)).id);
}

let seq = 3_000_000;
/** Delivers platform events through the real consumer. */
async function consume(events: SentEvent[]) {
  const batch = createMessageBatch("workflow-events", events.map((e) => inboxMessage(e, `m_${e.id}_${seq}`, seq++)));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}

const subscriptionEvent = (type: string, data: Record<string, unknown>, occurredAt: string): SentEvent => ({
  id: `evt_${crypto.randomUUID()}`,
  type: `subscription.${type}`,
  entity_id: String(data.id),
  occurred_at: occurredAt,
  data,
});

const runsOf = async (workflowId: string) => (await json(await api(`/api/runs?workflow_id=${workflowId}`))).items as unknown[];

/** An active workflow that would run for any event of a subscription tagged `tag`. */
const watcher = (tag: string) =>
  workflow("subscription", [{ id: "seen", type: "condition", config: { all: [{ left: "{{trigger.entity_id}}", op: "exists" }] } }], { tags: { include: [tag] } }, true);

describe("update_subscription_status", () => {
  it("moves a subscription to delivered through a test run: the mirror shows it, marked as test data, and no workflow starts", async () => {
    const tag = uid("watched");
    const sub = uid("sub");
    await put("subscription", [subscription(sub, { tags: [tag] })]);
    const watching = await watcher(tag);
    const wf = await workflow("subscription", [{ id: "notified", type: "update_subscription_status", config: { status: "delivered" } }]);

    const run = await testRun(wf, sub);
    expect(run.status).toBe("completed");
    expect(run.steps[0]).toMatchObject({ status: "succeeded", input: { status: "delivered", subscription: sub }, output: { subscription_id: sub, from: "pending", to: "delivered" } });

    const held = await entity("subscription", sub);
    expect(held).toMatchObject({ status: "delivered", tags: [tag], _source: { run_id: run.id, workflow_id: wf, node_id: "notified", test: true }, previous: { status: "pending" } });
    expect(Date.parse(held.notified_at)).toBeGreaterThanOrEqual(Date.parse(run.started_at));
    expect((await getEntity(env.DB, "subscription", sub))?.event_id).toBe(`test:${run.id}:notified`);
    // Written to D1 directly, never as an event: the workflow watching the subscription did not run.
    expect(await runsOf(watching)).toEqual([]);
  });

  it("records a platform-started run as the source; an older platform event is then stale and a newer one overwrites the change", async () => {
    const sub = uid("sub");
    const t0 = Date.now() - 60_000;
    const wf = await workflow("subscription", [{ id: "notified", type: "update_subscription_status", config: { status: "delivered" } }], { events: ["created"] }, true);
    const created = subscriptionEvent("created", subscription(sub), iso(t0));
    await consume([created]);
    const run = await runFor(wf, created.id);
    expect(run?.status).toBe("completed");
    expect(await entity("subscription", sub)).toMatchObject({ status: "delivered", _source: { run_id: run!.id, test: false } });
    expect((await getEntity(env.DB, "subscription", sub))?.event_id).toBe(`run:${run!.id}:notified`);

    // Sent by the platform before the run changed the status, delivered after it: stale.
    const older = subscriptionEvent("updated", subscription(sub, { status: "pending", note: "older" }), iso(t0 + 1000));
    await consume([older]);
    expect(await entity("subscription", sub)).toMatchObject({ status: "delivered", _source: { run_id: run!.id } });
    const stale = (await json(await api("/api/events/stale?limit=500"))).items.find((s: { event_id: string }) => s.event_id === older.id);
    expect(stale).toMatchObject({ held_event_id: `run:${run!.id}:notified` });

    const newer = subscriptionEvent("updated", subscription(sub, { status: "engaged", note: "newer" }), iso(Date.now() + 60_000));
    await consume([newer]);
    const after = await entity("subscription", sub);
    expect(after).toMatchObject({ status: "engaged", note: "newer" });
    expect(after._source).toBeUndefined();
    expect(await runsOf(wf)).toHaveLength(1);
  });

  it("fails an illegal change at once, without a retry, and writes nothing", async () => {
    const sub = uid("sub");
    await put("subscription", [subscription(sub, { status: "completed" })]);
    const before = await getEntity(env.DB, "subscription", sub);
    const wf = await workflow("subscription", [{ id: "reopen", type: "update_subscription_status", config: { status: "pending" } }]);
    const run = await testRun(wf, sub);
    expect(run.status).toBe("failed");
    expect(run.steps[0]).toMatchObject({ status: "failed", error: `Subscription ${sub} cannot become pending: completed is final: a completed subscription never changes status` });
    expect(run.steps[0]?.attempts).toHaveLength(1);
    expect(await getEntity(env.DB, "subscription", sub)).toEqual(before);
  });
});

describe("add_customer_tags and remove_customer_tags", () => {
  it("adds and removes tags idempotently, non-ASCII ones too, keeping the tag index in step", async () => {
    const cus = uid("cus");
    const [vip, local, old] = [uid("vip"), `顧客-größe-${uid("t")}`, uid("newsletter")];
    await put("customer", [{ id: cus, email: "ana@example.com", name: "Ana", tags: [old] }]);
    const wf = await workflow("customer", [
      { id: "tag", type: "add_customer_tags", config: { tags: [vip, local, vip] } },
      { id: "untag", type: "remove_customer_tags", config: { tags: [old, "never-had"] } },
    ]);
    const tagged = async (tag: string) => (await json(await api(`/api/entities/customer?tag=${encodeURIComponent(tag)}`))).items.map((c: { id: string }) => c.id);

    const first = await testRun(wf, cus);
    expect(first.status).toBe("completed");
    expect(first.steps.map((s: { output: unknown }) => s.output)).toEqual([
      { customer_id: cus, tags: [old, vip, local] },
      { customer_id: cus, tags: [vip, local] },
    ]);
    expect(await entity("customer", cus)).toMatchObject({ tags: [vip, local], email: "ana@example.com", name: "Ana", _source: { run_id: first.id, node_id: "untag", test: true } });
    expect(await tagged(local)).toEqual([cus]);
    expect(await tagged(vip)).toEqual([cus]);
    expect(await tagged(old)).toEqual([]);

    // The same tags again: both steps succeed and nothing is written.
    const row = await getEntity(env.DB, "customer", cus);
    const second = await testRun(wf, cus);
    expect(second.steps.map((s: { status: string; output: unknown }) => [s.status, s.output])).toEqual([
      ["succeeded", { customer_id: cus, tags: [vip, local] }],
      ["succeeded", { customer_id: cus, tags: [vip, local] }],
    ]);
    expect(await getEntity(env.DB, "customer", cus)).toEqual(row);
  });

  it("tags the customer of a subscription trigger by default", async () => {
    const cus = uid("cus");
    const sub = uid("sub");
    const tag = uid("waiting");
    await put("customer", [{ id: cus, email: "bo@example.com", tags: [] }]);
    await put("subscription", [subscription(sub, { customer_id: cus })]);
    const wf = await workflow("subscription", [{ id: "tag", type: "add_customer_tags", config: { tags: [tag] } }]);
    const run = await testRun(wf, sub);
    expect(run.steps[0]).toMatchObject({ status: "succeeded", input: { customer: cus, tags: [tag] }, output: { customer_id: cus, tags: [tag] } });
  });

  it("fails clearly, without a retry, for a customer the mirror does not hold", async () => {
    const cus = uid("cus");
    const wf = await workflow("customer", [{ id: "tag", type: "add_customer_tags", config: { tags: ["vip"] } }]);
    const run = await testRun(wf, cus, { id: cus, email: "ghost@example.com", tags: [] });
    expect(run.status).toBe("failed");
    expect(run.steps[0]).toMatchObject({ status: "failed", error: `The mirror holds no customer ${cus} (never sent, or deleted)` });
    expect(run.steps[0]?.attempts).toHaveLength(1);
  });
});

describe("the mirror port's change", () => {
  const source = { runId: "run_cas", workflowId: "wf_cas", nodeId: "tag", test: false, at: new Date() };

  it("writes nothing over a snapshot other than the one the change was computed from", async () => {
    const cus = uid("cus");
    const t = Date.now();
    await env.DB.batch(upsertStatements(env.DB, "customer", [{ data: { id: cus, email: "a@example.com", tags: ["a"] }, occurredAt: iso(t - 120_000), eventId: "evt_1" }]));
    const held = (await getEntity(env.DB, "customer", cus))!;
    await env.DB.batch(upsertStatements(env.DB, "customer", [{ data: { id: cus, email: "a@example.com", tags: ["b"], note: "landed" }, occurredAt: iso(t - 60_000), eventId: "evt_2" }]));
    const ours = preparedRow({ id: cus, email: "a@example.com", tags: ["a", "vip"] }, new Date(t), "run:run_cas:tag");
    await env.DB.batch(changeStatements(env.DB, "customer", held, ours));
    expect(await getEntity(env.DB, "customer", cus)).toMatchObject({ event_id: "evt_2", data: { tags: ["b"], note: "landed" } });
    const tags = await env.DB.prepare("SELECT tag FROM entity_tags WHERE entity = 'customer' AND entity_id = ?").bind(cus).all();
    expect(tags.results).toEqual([{ tag: "b" }]);
  });

  it("computes a change again when an event lands between reading the snapshot and writing it", async () => {
    const cus = uid("cus");
    await put("customer", [{ id: cus, email: "a@example.com", tags: ["a"] }]);
    // After the snapshot the PUT took (dated now), the landing event, then the change.
    const t = Date.now() + 10_000;
    // D1 as it is, except that a platform event lands right before the first write.
    let landed = false;
    const racing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop !== "batch") return Reflect.get(target, prop, target);
        return async (statements: D1PreparedStatement[]) => {
          if (!landed) {
            landed = true;
            await target.batch(upsertStatements(target, "customer", [{ data: { id: cus, email: "a@example.com", tags: ["b"], note: "landed" }, occurredAt: iso(t + 1), eventId: "evt_landed" }]));
          }
          return target.batch(statements);
        };
      },
    });
    const seen: string[][] = [];
    const result = await mirrorPort(racing).change(
      "customer",
      cus,
      (current: EntitySnapshot) => {
        seen.push(current.tags);
        return { next: { ...current, tags: [...current.tags, "vip"] } };
      },
      { ...source, at: new Date(t + 2) },
    );
    expect(seen).toEqual([["a"], ["b"]]);
    expect(result).toMatchObject({ status: "written", after: { tags: ["b", "vip"], note: "landed" } });
    expect(await entity("customer", cus)).toMatchObject({ tags: ["b", "vip"], note: "landed", previous: { note: "landed" } });
  });

  it("answers a step that runs again after its write with the change it made, writing nothing", async () => {
    const sub = uid("sub");
    await put("subscription", [subscription(sub)]);
    const deliver = (c: EntitySnapshot) => (c.status === "delivered" ? { next: null } : { next: { ...c, status: "delivered" } });
    const step = { ...source, nodeId: uid("status") };
    expect(await mirrorPort(env.DB).change("subscription", sub, deliver, step)).toMatchObject({ status: "written", before: { status: "pending" }, after: { status: "delivered" } });
    const row = await getEntity(env.DB, "subscription", sub);
    expect(await mirrorPort(env.DB).change("subscription", sub, deliver, step)).toMatchObject({ status: "written", before: { status: "pending" }, after: { status: "delivered" } });
    expect(await mirrorPort(env.DB).change("subscription", sub, deliver, { ...step, runId: "another_run" })).toMatchObject({ status: "unchanged", current: { status: "delivered" } });
    expect(await getEntity(env.DB, "subscription", sub)).toEqual(row);
  });

  it("orders a change after the snapshot it replaces even when that one is dated ahead of the run's clock", async () => {
    const cus = uid("cus");
    const ahead = Date.now() + 3_600_000;
    await env.DB.batch(upsertStatements(env.DB, "customer", [{ data: { id: cus, email: "a@example.com", tags: [] }, occurredAt: iso(ahead), eventId: "evt_ahead" }]));
    const result = await mirrorPort(env.DB).change("customer", cus, (c) => ({ next: { ...c, tags: ["vip"] } }), source);
    expect(result.status).toBe("written");
    expect(await getEntity(env.DB, "customer", cus)).toMatchObject({ occurred_at: iso(ahead + 1), event_id: "run:run_cas:tag" });
  });
});

describe("send_internal_email", () => {
  it("emails INTERNAL_EMAILS through a run and counts it apart from emails_sent", async () => {
    const sub = uid("sub");
    await put("subscription", [subscription(sub)]);
    const wf = await workflow("subscription", [
      { id: "team", type: "send_internal_email", config: { subject: "New subscriber {{trigger.entity_id}}", format: "markdown", body: "**{{trigger.data.customer_id}}** waits for {{trigger.data.variant_id}}" } },
    ]);
    const run = await testRun(wf, sub);
    expect(run.status).toBe("completed");
    expect(run.steps[0]?.output).toMatchObject({ to: ["team@example.com"], subject: `New subscriber ${sub}` });
    expect(run.summary).toMatchObject({ internal_emails_sent: 1, emails_sent: 0 });
    const res = await api(`/api/runs/${run.id}/steps/team/message`);
    expect(res.headers.get("content-type")).toContain("message/rfc822");
    const mail = await PostalMime.parse(await res.text());
    expect(mail.to?.map((a) => a.address)).toEqual(["team@example.com"]);
    expect(mail.from?.address).toBe("workflows@example.com");
    expect(mail.html).toContain("<strong>cus_");
  });

  it("hands one message per team address to the email binding", async () => {
    const real = stepDeps(env).deps;
    const handed: OutgoingEmail[] = [];
    const deps: NodeDeps = {
      ...real,
      config: { ...real.config, INTERNAL_EMAILS: ["team@example.com", "lead@example.com"] },
      sendEmail: async (m) => {
        await real.sendEmail(m);
        handed.push(m);
      },
    };
    const scope = testScope({ customer_id: "cus_1" });
    const input = sendInternalEmail.resolve!(sendInternalEmail.configSchema.parse({ subject: "Hi team", body: "Hello" }), scope, new Date());
    const result = await sendInternalEmail.execute(input, actionContext(scope, { runId: uid("run"), nodeId: "team" }).ctx, deps);
    expect(result).toMatchObject({ ok: true, output: { to: ["team@example.com", "lead@example.com"] } });
    expect(handed.map((m) => m.to)).toEqual(["team@example.com", "lead@example.com"]);
    expect(new Set(handed.map((m) => m.raw)).size).toBe(1);
  });
});
