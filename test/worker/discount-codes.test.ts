import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { codeCandidates, codeKey } from "../../worker/discounts/code";
import { discountsPort } from "../../worker/discounts";
import type { NewDiscountCode } from "../../worker/discounts/port";
import { redeemCode } from "../../worker/discounts/store";
import { createDiscountCode } from "../../worker/nodes/create-discount-code";
import { stepDeps } from "../../worker/run/deps";
import { actionContext, testScope } from "../support/action-context";
import { api, json, uid } from "../support/api";
import { inboxMessage, inventoryEvent, runFor } from "../support/events";
import { createWorkflow, settled, startRun } from "../support/runs";

/*
 * create_discount_code and /api/discount-codes with real D1 and real runs. Codes are made by the
 * node in a run, or straight through the discounts port when a test needs a code with a given
 * state (expired, from a past day).
 */

const CODE = /^[2-9A-HJKMNP-Z]{12}$/;
const port = () => discountsPort(env.DB, env.EVENTS_SECRET);

/** A code made through the port by a step of its own, at `now`. */
async function makeCode(over: Partial<NewDiscountCode> = {}, opts: { now?: Date; test?: boolean } = {}) {
  const runId = uid("run");
  const spec: NewDiscountCode = {
    type: "percent",
    value: 10,
    currency: null,
    expires_at: "2099-12-31T23:59:59.999Z",
    usage_limit: 1,
    customer_id: null,
    variant_ids: null,
    prefix: "",
    ...over,
  };
  return port().createCode(spec, { runId, nodeId: "code", stepKey: `${runId}:code`, test: opts.test ?? false }, opts.now ?? new Date());
}

const redeem = (code: string, body: unknown) => api(`/api/discount-codes/${encodeURIComponent(code)}/redeem`, { method: "POST", json: body });
const getCode = async (code: string) => json(await api(`/api/discount-codes/${encodeURIComponent(code)}`));
const count = async (query: string, ...args: unknown[]) => (await env.DB.prepare(query).bind(...args).first<{ n: number }>())?.n;

const codeNode = (config: Record<string, unknown> = {}) => ({
  id: "code",
  type: "create_discount_code",
  config: { type: "percent", value: 15, expires: { type: "relative", days: 14 }, ...config },
});

describe("create_discount_code in a run", () => {
  it("makes a code in a test run, marked as test data and readable in any case", async () => {
    const wf = await createWorkflow([codeNode({ type: "amount", value: 5, currency: "EUR", usage_limit: 2, prefix: "BACK", customer: "cust_{{trigger.data.sku}}" })]);
    const runId = await startRun(wf, { sku: uid("SKU"), on_hand: 0 });
    const run = await settled(runId);
    expect(run.status).toBe("completed");
    const output = run.steps[0]!.output as { code: string; expires_on: string };
    expect(output.code).toMatch(/^BACK-[2-9A-HJKMNP-Z]{12}$/);
    expect(run.summary).toMatchObject({ discount_codes_created: 1 });
    const code = await getCode(output.code.toLowerCase());
    expect(code).toMatchObject({
      code: output.code,
      type: "amount",
      value: 5,
      currency: "EUR",
      usage_limit: 2,
      used: 0,
      status: "active",
      customer_id: `cust_${(run.trigger.data as { sku: string }).sku}`,
      variant_ids: null,
      run_id: runId,
      node_id: "code",
      test: true,
      expires_at: `${output.expires_on}T23:59:59.999Z`,
    });
  });

  it("makes a code that is not test data in a run an event started", async () => {
    const tag = uid("tag");
    const def = { name: uid("live"), trigger: { entity: "inventory_item", tags: { include: [tag] } }, start: "code", nodes: [codeNode()] };
    const wf = (await json(await api("/api/workflows", { method: "POST", json: def }))).id as string;
    expect((await api(`/api/workflows/${wf}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
    const e = inventoryEvent({}, { tags: [tag] });
    await worker.queue(createMessageBatch("workflow-events", [inboxMessage(e, uid("m"), 2_000_000)]), env, createExecutionContext());
    const run = await runFor(wf, e.id);
    expect(run).toMatchObject({ status: "completed", test: false });
    const { code } = run!.steps[0]!.output as { code: string };
    expect(code).toMatch(CODE);
    expect(await getCode(code)).toMatchObject({ test: false, run_id: run!.id });
  });

  it("makes the code for the customer of a subscription trigger unless told otherwise", async () => {
    const customer = uid("cust");
    const def = { name: uid("sub"), trigger: { entity: "subscription" }, start: "code", nodes: [codeNode()] };
    const wf = (await json(await api("/api/workflows", { method: "POST", json: def }))).id as string;
    const res = await api(`/api/workflows/${wf}/test`, { method: "POST", json: { entity_id: uid("sub"), data: { customer_id: customer, variant_id: "var_1", channel: "email", status: "pending" } } });
    expect(res.status).toBe(202);
    const run = await settled((await json(res)).id);
    const page = await json(await api(`/api/discount-codes?customer_id=${customer}`));
    expect(page.items.map((c: { code: string }) => c.code)).toEqual([(run.steps[0]!.output as { code: string }).code]);
  });

  it("gives every retry of the step the same code, stored once", async () => {
    const runId = uid("run");
    const scope = testScope({});
    const input = createDiscountCode.resolve!(createDiscountCode.configSchema.parse(codeNode().config), scope, new Date());
    const deps = stepDeps(env).deps;
    const first = await createDiscountCode.execute(input, actionContext(scope, { runId, nodeId: "code", attempt: 1 }).ctx, deps);
    const retry = await createDiscountCode.execute(input, actionContext(scope, { runId, nodeId: "code", attempt: 2 }).ctx, deps);
    expect(first.ok).toBe(true);
    expect(retry).toEqual(first);
    expect(await count("SELECT count(*) AS n FROM discount_codes WHERE run_id = ?", runId)).toBe(1);
    // Another step of the same run gets a code of its own.
    const other = await createDiscountCode.execute(input, actionContext(scope, { runId, nodeId: "code2" }).ctx, deps);
    expect(other.ok === true && other.output).not.toEqual(first.ok === true && first.output);
  });

  it("extends a code that another step already owns, the same way on every retry", async () => {
    const runId = uid("run");
    const stepKey = `${runId}:code`;
    const [taken, extended] = await codeCandidates(await codeKey(env.EVENTS_SECRET), stepKey);
    await env.DB.prepare(
      `INSERT INTO discount_codes (code, type, value, expires_at, usage_limit, run_id, node_id, test, created_at)
       VALUES (?, 'percent', 50, '2099-01-01T00:00:00.000Z', 9, 'someone_else', 'code', 0, '2026-01-01T00:00:00.000Z')`,
    )
      .bind(taken)
      .run();
    const spec = { type: "percent", value: 10, currency: null, expires_at: "2099-12-31T23:59:59.999Z", usage_limit: 1, customer_id: null, variant_ids: null, prefix: "" } as const;
    const owner = { runId, nodeId: "code", stepKey, test: false };
    const mine = await port().createCode(spec, owner, new Date());
    expect(mine.code).toBe(extended);
    expect(mine.code.startsWith(taken!)).toBe(true);
    expect((await port().createCode(spec, owner, new Date())).code).toBe(extended);
    expect(await getCode(taken!)).toMatchObject({ run_id: "someone_else", value: 50, usage_limit: 9 });
  });
});

describe("listing and reading discount codes", () => {
  it("lists a customer's codes newest first, page by page", async () => {
    const customer = uid("cust");
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await makeCode({ customer_id: customer }, { now: new Date(Date.UTC(2026, 0, 1 + i)) })).code);
    const first = await json(await api(`/api/discount-codes?customer_id=${customer}&limit=2`));
    expect(first.items.map((c: { code: string }) => c.code)).toEqual([made[2], made[1]]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json(await api(`/api/discount-codes?customer_id=${customer}&limit=2&cursor=${first.next_cursor}`));
    expect(second.items.map((c: { code: string }) => c.code)).toEqual([made[0]]);
    expect(second.next_cursor).toBeNull();
  });

  it("filters by status now: active, expired, used up", async () => {
    const customer = uid("cust");
    const active = await makeCode({ customer_id: customer });
    const expired = await makeCode({ customer_id: customer, expires_at: "2020-01-10T23:59:59.999Z" }, { now: new Date("2020-01-01T00:00:00Z") });
    const usedUp = await makeCode({ customer_id: customer });
    expect((await redeem(usedUp.code, { order_id: uid("order") })).status).toBe(200);
    const codes = async (status: string) =>
      (await json(await api(`/api/discount-codes?customer_id=${customer}&status=${status}`))).items.map((c: { code: string; status: string }) => `${c.code} ${c.status}`);
    expect(await codes("active")).toEqual([`${active.code} active`]);
    expect(await codes("expired")).toEqual([`${expired.code} expired`]);
    expect(await codes("used_up")).toEqual([`${usedUp.code} used_up`]);
  });

  it("filters test codes in or out", async () => {
    const customer = uid("cust");
    const test = await makeCode({ customer_id: customer }, { test: true });
    const live = await makeCode({ customer_id: customer }, { test: false });
    const codes = async (q: string) => (await json(await api(`/api/discount-codes?customer_id=${customer}${q}`))).items.map((c: { code: string }) => c.code);
    expect(await codes("&test=true")).toEqual([test.code]);
    expect(await codes("&test=false")).toEqual([live.code]);
  });

  it("answers 404 for a code that does not exist, and 400 for a bad filter or cursor", async () => {
    const res = await api("/api/discount-codes/NOSUCHCODE22");
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: "not_found", message: "No discount code NOSUCHCODE22" });
    expect((await api("/api/discount-codes?status=fresh")).status).toBe(400);
    expect((await api("/api/discount-codes?limit=0")).status).toBe(400);
    const bad = await api("/api/discount-codes?cursor=nope");
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.issues[0].path).toBe("cursor");
  });
});

describe("redeeming a discount code", () => {
  it("uses the code once per order: the same order again is answered the same and counted once", async () => {
    const { code } = await makeCode({ usage_limit: 2 });
    const order = uid("order");
    const first = await redeem(code.toLowerCase(), { order_id: order });
    expect(first.status).toBe(200);
    const body = await json(first);
    expect(body).toMatchObject({ code, used: 1, status: "active", redemption: { order_id: order } });
    const again = await json(await redeem(code, { order_id: order }));
    expect(again).toMatchObject({ used: 1, redemption: body.redemption });
    expect(await count("SELECT count(*) AS n FROM discount_redemptions WHERE code = ?", code)).toBe(1);
  });

  it("answers 409 to another order once every use is redeemed, and still 200 to the orders that have it", async () => {
    const { code } = await makeCode({ usage_limit: 1 });
    const order = uid("order");
    expect((await redeem(code, { order_id: order })).status).toBe(200);
    const refused = await redeem(code, { order_id: uid("order") });
    expect(refused.status).toBe(409);
    expect((await json(refused)).error).toMatchObject({ code: "conflict", message: `Discount code ${code} has been used 1 of 1 time(s)` });
    expect((await json(await redeem(code, { order_id: order }))).status).toBe("used_up");
    expect(await getCode(code)).toMatchObject({ used: 1, status: "used_up" });
  });

  it("answers 409 once the code expired, and still 200 to an order that redeemed it before", async () => {
    const { code } = await makeCode({ usage_limit: 5, expires_at: "2020-01-10T23:59:59.999Z" }, { now: new Date("2020-01-01T00:00:00Z") });
    const early = uid("order");
    expect(await redeemCode(env.DB, code, early, new Date("2020-01-05T00:00:00Z"))).toMatchObject({ ok: true });
    const late = await redeem(code, { order_id: uid("order") });
    expect(late.status).toBe(409);
    expect((await json(late)).error.message).toBe(`Discount code ${code} expired at 2020-01-10T23:59:59.999Z`);
    expect(await json(await redeem(code, { order_id: early }))).toMatchObject({ used: 1, status: "expired", redemption: { order_id: early, redeemed_at: "2020-01-05T00:00:00.000Z" } });
  });

  it("gives the last use to exactly one of two orders racing for it", async () => {
    const { code } = await makeCode({ usage_limit: 1 });
    const answers = await Promise.all([redeem(code, { order_id: uid("a") }), redeem(code, { order_id: uid("b") })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await getCode(code)).toMatchObject({ used: 1 });
    expect(await count("SELECT count(*) AS n FROM discount_redemptions WHERE code = ?", code)).toBe(1);
  });

  it("gives three uses to exactly three of twelve orders racing, repeats included", async () => {
    const { code } = await makeCode({ usage_limit: 3 });
    const orders = Array.from({ length: 6 }, () => uid("order"));
    const answers = await Promise.all([...orders, ...orders].map((order_id) => redeem(code, { order_id })));
    const won = new Set<string>();
    for (const r of answers) if (r.status === 200) won.add((await json(r)).redemption.order_id);
    expect(answers.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(won.size).toBe(3);
    expect(await getCode(code)).toMatchObject({ used: 3, status: "used_up" });
    expect(await count("SELECT count(*) AS n FROM discount_redemptions WHERE code = ?", code)).toBe(3);
  });

  it("answers 400 to a bad body and 404 to an unknown code, using nothing", async () => {
    const { code } = await makeCode();
    for (const body of [{}, { order_id: "" }, { order_id: "   " }, { order_id: 42 }, { order_id: "o1", extra: true }, { order_id: "x".repeat(201) }, [], null]) {
      const res = await redeem(code, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).error.code).toMatch(/^(validation_failed|bad_request)$/);
    }
    const post = (init: RequestInit) => api(`/api/discount-codes/${code}/redeem`, { method: "POST", ...init });
    expect((await post({ body: "{not json", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await post({})).status).toBe(400);
    expect((await post({ body: JSON.stringify({ order_id: "o1" }), headers: { "content-type": "text/plain" } })).status).toBe(415);
    expect(await getCode(code)).toMatchObject({ used: 0 });
    const unknown = await redeem("NOSUCHCODE22", { order_id: "o1" });
    expect(unknown.status).toBe(404);
  });
});

describe("saving a workflow with create_discount_code", () => {
  it("refuses a non-ASCII prefix, a percent over 100 and an amount without a currency, at their fields", async () => {
    const def = (config: Record<string, unknown>) => ({ name: uid("bad"), trigger: { entity: "customer" }, start: "code", nodes: [codeNode(config)] });
    const issues = async (config: Record<string, unknown>) => {
      const res = await api("/api/workflows", { method: "POST", json: def(config) });
      expect(res.status).toBe(400);
      return (await json(res)).error.issues;
    };
    expect(await issues({ prefix: "ÄPFEL" })).toEqual([{ path: "nodes.0.config.prefix", message: "A prefix is up to 10 capital letters A-Z and digits, e.g. BACK" }]);
    expect(await issues({ value: 150 })).toEqual([{ path: "nodes.0.config.value", message: "A percent discount is between 1 and 100" }]);
    expect(await issues({ type: "amount", value: 5 })).toEqual([{ path: "nodes.0.config.currency", message: "Give the currency of the amount, e.g. EUR" }]);
  });
});
