import { describe, expect, it } from "vitest";
import type { Scope } from "../../worker/definition/interpolate";
import type { ChangeSource, MirrorPort } from "../../worker/entities/port";
import type { EntityKind, EntitySnapshot } from "../../worker/entities/registry";
import type { ActionContext, ActionResult, NodeDeps } from "../../worker/engine/step";
import { addCustomerTags } from "../../worker/nodes/add-customer-tags";
import { removeCustomerTags } from "../../worker/nodes/remove-customer-tags";
import { sendInternalEmail } from "../../worker/nodes/send-internal-email";
import { updateSubscriptionStatus } from "../../worker/nodes/update-subscription-status";
import { actionContext, testDeps, testScope } from "../support/action-context";

/*
 * The entity nodes (update_subscription_status, add/remove_customer_tags) and send_internal_email
 * without a runtime: configs, defaults from the trigger, and what each makes of the mirror's
 * answers. test/worker/entity-actions.test.ts runs them on D1 through real runs.
 */

const NOW = new Date("2026-11-22T10:00:00.000Z");

function scopeOf(entity: string, entityId: string, data: Record<string, unknown> = {}, steps: Scope["steps"] = {}): Scope {
  const base = testScope(data, steps);
  return { ...base, trigger: { ...base.trigger, type: `${entity}.updated`, entity, entity_id: entityId, data: { id: entityId, ...data } } };
}

/** The mirror as a map: applies a change like the D1 port does, and records the writes with their source. */
function memoryMirror(initial: EntitySnapshot[] = [], kind: EntityKind = "customer") {
  const held = new Map(initial.map((s) => [s.id, s]));
  const writes: { id: string; source: ChangeSource }[] = [];
  const mirror: MirrorPort = {
    read: (_kind, id) => Promise.resolve(held.get(id)),
    change(k, id, change, source) {
      expect(k).toBe(kind);
      const current = held.get(id);
      if (!current) return Promise.resolve({ status: "missing" });
      const decided = change(current);
      if ("refused" in decided) return Promise.resolve({ status: "refused", reason: decided.refused, current });
      if (decided.next === null) return Promise.resolve({ status: "unchanged", current });
      held.set(id, decided.next);
      writes.push({ id, source });
      return Promise.resolve({ status: "written", before: current, after: decided.next });
    },
  };
  return { mirror, held, writes };
}

const ctxFor = (scope: Scope, over: Partial<ActionContext> = {}) => actionContext(scope, { runId: "run_9", nodeId: "step", now: NOW, ...over });

function ok(r: ActionResult) {
  if (r.ok !== true) throw new Error(`expected a success, got ${JSON.stringify(r)}`);
  return r.output;
}

describe("update_subscription_status", () => {
  const sub = (status: string, extra: Record<string, unknown> = {}): EntitySnapshot => ({ id: "sub_1", tags: [], customer_id: "cus_1", variant_id: "var_1", status, channel: "email", ...extra });
  const cfg = (over: Record<string, unknown>) => updateSubscriptionStatus.configSchema.parse({ status: "delivered", ...over });

  it("refuses a status outside the lifecycle when the workflow is saved", () => {
    expect(updateSubscriptionStatus.configSchema.safeParse({ status: "shipped" }).success).toBe(false);
    expect(updateSubscriptionStatus.configSchema.safeParse({ status: "delivered", extra: 1 }).success).toBe(false);
  });

  it("changes the trigger's subscription by default, and another one when the config names it", () => {
    const scope = scopeOf("subscription", "sub_1", {}, { find: { output: { id: "sub_2" } } });
    expect(updateSubscriptionStatus.resolve!(cfg({}), scope, NOW)).toEqual({ status: "delivered", subscription: "sub_1" });
    expect(updateSubscriptionStatus.resolve!(cfg({ subscription: "{{steps.find.output.id}}" }), scope, NOW)).toEqual({ status: "delivered", subscription: "sub_2" });
  });

  it("fails to prepare when the trigger gives no subscription and the config names none", () => {
    expect(() => updateSubscriptionStatus.resolve!(cfg({}), scopeOf("customer", "cus_1"), NOW)).toThrow("Name the subscription: this run's trigger is customer cus_1, which gives no subscription");
    expect(() => updateSubscriptionStatus.resolve!(cfg({ subscription: "{{trigger.data.nothing}}" }), scopeOf("customer", "cus_1", { nothing: "" }), NOW)).toThrow(/gives nothing/);
  });

  it("moves pending to delivered, stamping notified_at, with the run's step as the source", async () => {
    const { mirror, held, writes } = memoryMirror([sub("pending")], "subscription");
    const scope = scopeOf("subscription", "sub_1");
    const { ctx } = ctxFor(scope, { test: true });
    const out = ok(await updateSubscriptionStatus.execute({ status: "delivered", subscription: "sub_1" }, ctx, testDeps({ mirror })));
    expect(out).toEqual({ subscription_id: "sub_1", from: "pending", to: "delivered" });
    expect(held.get("sub_1")).toMatchObject({ status: "delivered", notified_at: NOW.toISOString() });
    expect(writes).toEqual([{ id: "sub_1", source: { runId: "run_9", workflowId: "wf_1", nodeId: "step", test: true, at: NOW } }]);
  });

  it("succeeds without a write when the subscription already has the status", async () => {
    const { mirror, writes } = memoryMirror([sub("engaged")], "subscription");
    const { ctx } = ctxFor(scopeOf("subscription", "sub_1"));
    expect(ok(await updateSubscriptionStatus.execute({ status: "engaged", subscription: "sub_1" }, ctx, testDeps({ mirror })))).toEqual({ subscription_id: "sub_1", from: "engaged", to: "engaged" });
    expect(writes).toEqual([]);
  });

  it("fails an illegal change without a retry, judged on the mirror's status", async () => {
    const { mirror, writes } = memoryMirror([sub("completed")], "subscription");
    const { ctx } = ctxFor(scopeOf("subscription", "sub_1", { status: "pending" }));
    expect(await updateSubscriptionStatus.execute({ status: "cancelled", subscription: "sub_1" }, ctx, testDeps({ mirror }))).toEqual({
      ok: false,
      error: "Subscription sub_1 cannot become cancelled: completed is final: a completed subscription never changes status",
      retryable: false,
    });
    expect(writes).toEqual([]);
  });

  it("fails without a retry for a subscription the mirror does not hold, and retries when the mirror fails", async () => {
    const { mirror } = memoryMirror([], "subscription");
    const { ctx } = ctxFor(scopeOf("subscription", "sub_x"));
    expect(await updateSubscriptionStatus.execute({ status: "delivered", subscription: "sub_x" }, ctx, testDeps({ mirror }))).toEqual({
      ok: false,
      error: "The mirror holds no subscription sub_x (never sent, or deleted)",
      retryable: false,
    });
    const broken: MirrorPort = { read: () => Promise.reject(new Error("D1_ERROR: overloaded")), change: () => Promise.reject(new Error("D1_ERROR: overloaded")) };
    expect(await updateSubscriptionStatus.execute({ status: "delivered", subscription: "sub_x" }, ctx, testDeps({ mirror: broken }))).toEqual({
      ok: false,
      error: "The entity mirror failed: D1_ERROR: overloaded",
      retryable: true,
    });
  });
});

describe("add_customer_tags and remove_customer_tags", () => {
  const customer = (tags: string[]): EntitySnapshot => ({ id: "cus_1", tags, email: "ana@example.com" });
  const cfg = (over: Record<string, unknown>) => addCustomerTags.configSchema.parse({ tags: ["vip"], ...over });

  it("checks literal tags like an entity's when the workflow is saved; a template may be longer", () => {
    expect(addCustomerTags.configSchema.safeParse({ tags: [] }).error?.issues[0]?.message).toBe("Give at least one tag");
    expect(addCustomerTags.configSchema.safeParse({ tags: ["x".repeat(101)] }).error?.issues[0]?.message).toBe("A tag is at most 100 characters");
    expect(addCustomerTags.configSchema.safeParse({ tags: [`{{trigger.data.${"x".repeat(100)}}}`] }).success).toBe(true);
  });

  it.each([
    ["customer", "cus_1", {}],
    ["subscription", "sub_1", { customer_id: "cus_1" }],
    ["order", "ord_1", { customer_id: "cus_1" }],
  ])("changes the customer of a %s trigger by default", (entity, id, data) => {
    expect(addCustomerTags.resolve!(cfg({}), scopeOf(entity, id, data), NOW)).toEqual({ customer: "cus_1", tags: ["vip"] });
  });

  it("fails to prepare for a trigger without a customer, naming the trigger", () => {
    expect(() => removeCustomerTags.resolve!(cfg({}), scopeOf("product", "p_1"), NOW)).toThrow("Name the customer: this run's trigger is product p_1, which gives no customer");
  });

  it("interpolates tags: a list reference gives every item, empty ones are dropped, each tag once, non-ASCII kept", () => {
    const scope = scopeOf("customer", "cus_1", { segments: ["größe-42", "顧客", "vip"], empty: "" });
    expect(addCustomerTags.resolve!(cfg({ tags: ["{{trigger.data.segments}}", "vip", "{{trigger.data.empty}}", "size-{{trigger.data.segments.0}}"] }), scope, NOW)).toEqual({
      customer: "cus_1",
      tags: ["größe-42", "顧客", "vip", "size-größe-42"],
    });
    expect(() => addCustomerTags.resolve!(cfg({ tags: ["{{trigger.data.long}}"] }), scopeOf("customer", "cus_1", { long: "y".repeat(101) }), NOW)).toThrow("tags.0: A tag is at most 100 characters");
    expect(() => addCustomerTags.resolve!(cfg({ tags: ["{{trigger.data.empty}}"] }), scope, NOW)).toThrow("No tag is left after interpolation");
  });

  it("adds only the tags the customer lacks, keeping the order it has; a second run writes nothing", async () => {
    const { mirror, held, writes } = memoryMirror([customer(["newsletter", "vip"])]);
    const { ctx } = ctxFor(scopeOf("customer", "cus_1"));
    const input = { customer: "cus_1", tags: ["vip", "high-value", "顧客"] };
    expect(ok(await addCustomerTags.execute(input, ctx, testDeps({ mirror })))).toEqual({ customer_id: "cus_1", tags: ["newsletter", "vip", "high-value", "顧客"] });
    expect(ok(await addCustomerTags.execute(input, ctx, testDeps({ mirror })))).toEqual({ customer_id: "cus_1", tags: ["newsletter", "vip", "high-value", "顧客"] });
    expect(writes).toHaveLength(1);
    expect(held.get("cus_1")).toMatchObject({ email: "ana@example.com" });
  });

  it("removes the tags the customer has and ignores the others; a second run writes nothing", async () => {
    const { mirror, writes } = memoryMirror([customer(["newsletter", "vip", "顧客"])]);
    const { ctx } = ctxFor(scopeOf("customer", "cus_1"));
    const input = { customer: "cus_1", tags: ["vip", "顧客", "never-had"] };
    expect(ok(await removeCustomerTags.execute(input, ctx, testDeps({ mirror })))).toEqual({ customer_id: "cus_1", tags: ["newsletter"] });
    expect(ok(await removeCustomerTags.execute(input, ctx, testDeps({ mirror })))).toEqual({ customer_id: "cus_1", tags: ["newsletter"] });
    expect(writes).toHaveLength(1);
  });

  it("fails without a retry when the customer would carry more than 100 tags", async () => {
    const { mirror, writes } = memoryMirror([customer(Array.from({ length: 99 }, (_, i) => `t${i}`))]);
    const { ctx } = ctxFor(scopeOf("customer", "cus_1"));
    expect(await addCustomerTags.execute({ customer: "cus_1", tags: ["a", "b"] }, ctx, testDeps({ mirror }))).toEqual({
      ok: false,
      error: "Customer cus_1 would carry 101 tags; at most 100",
      retryable: false,
    });
    expect(writes).toEqual([]);
  });
});

describe("send_internal_email", () => {
  const scope = scopeOf("subscription", "sub_1", { customer_id: "cus_1", name: "<b>Ana</b>" });
  const cfg = (over: Record<string, unknown> = {}) => sendInternalEmail.configSchema.parse({ subject: "New VIP waiting: {{trigger.data.customer_id}}", body: "Hello team", ...over });

  function deps(team: string[], from = "workflows@example.com") {
    const envelopes: { from: string; to: string }[] = [];
    const sendEmail: NodeDeps["sendEmail"] = (m) => {
      envelopes.push({ from: m.from, to: m.to });
      return Promise.resolve();
    };
    return { envelopes, deps: testDeps({ sendEmail, config: { ...testDeps().config, EMAIL_FROM: from, INTERNAL_EMAILS: team } }) };
  }

  it("takes no recipients in its config: the team is the setting's", () => {
    expect(sendInternalEmail.configSchema.safeParse({ subject: "S", body: "B", to: ["someone@example.com"] }).success).toBe(false);
  });

  it("sends one copy to each address of INTERNAL_EMAILS from EMAIL_FROM, with an html body escaped", async () => {
    const { envelopes, deps: d } = deps(["team@example.com", "lead@example.com"]);
    const input = sendInternalEmail.resolve!(cfg({ format: "html", body: "<p>{{trigger.data.name}} subscribed</p>" }), scope, NOW);
    expect(input).toEqual({ subject: "New VIP waiting: cus_1", format: "html", body: "<p>&lt;b&gt;Ana&lt;/b&gt; subscribed</p>" });
    const result = await sendInternalEmail.execute(input, ctxFor(scope).ctx, d);
    expect(ok(result)).toEqual({ message_id: expect.stringMatching(/^<[0-9a-f]{32}@example\.com>$/), to: ["team@example.com", "lead@example.com"], subject: "New VIP waiting: cus_1" });
    expect(envelopes).toEqual([
      { from: "workflows@example.com", to: "team@example.com" },
      { from: "workflows@example.com", to: "lead@example.com" },
    ]);
    expect(sendInternalEmail.summary?.summarize(ok(result))).toEqual({ internal_emails_sent: 1 });
  });

  it("fails without a retry when INTERNAL_EMAILS is empty or holds something that is not an address", async () => {
    const input = sendInternalEmail.resolve!(cfg(), scope, NOW);
    const empty = deps([]);
    expect(await sendInternalEmail.execute(input, ctxFor(scope).ctx, empty.deps)).toEqual({
      ok: false,
      error: "INTERNAL_EMAILS is empty: set it to the team's addresses, separated by commas",
      retryable: false,
    });
    const bad = deps(["team@example.com", "not-an-address"]);
    expect(await sendInternalEmail.execute(input, ctxFor(scope).ctx, bad.deps)).toEqual({
      ok: false,
      error: "INTERNAL_EMAILS holds not-an-address, which is not an email address",
      retryable: false,
    });
    expect([...empty.envelopes, ...bad.envelopes]).toEqual([]);
  });
});
