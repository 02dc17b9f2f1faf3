import { describe, expect, it } from "vitest";
import type { Scope } from "../../worker/definition/interpolate";
import { CODE_ALPHABET, CODE_LENGTH, codeCandidates, codeKey, codeStatus, endOfDay, MAX_EXTENSIONS, normalizeCode } from "../../worker/discounts/code";
import type { DiscountCode } from "../../worker/discounts/discount";
import type { CodeOwner, NewDiscountCode } from "../../worker/discounts/port";
import { createDiscountCode, CreateDiscountCodeConfigSchema, triggerCustomer } from "../../worker/nodes/create-discount-code";
import { actionContext, testDeps, testScope } from "../support/action-context";

const NOW = new Date("2026-03-01T12:00:00Z");
const config = (c: Record<string, unknown>) => CreateDiscountCodeConfigSchema.safeParse({ type: "percent", value: 10, expires: { type: "relative", days: 7 }, ...c });
const issuesOf = (c: Record<string, unknown>) => {
  const parsed = config(c);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};
const resolve = (c: Record<string, unknown>, scope: Scope = testScope({})) => createDiscountCode.resolve!(config(c).data!, scope, NOW);

describe("the code alphabet", () => {
  it("has 31 distinct symbols and none of the look-alikes 0, O, 1, I, L", () => {
    expect(new Set(CODE_ALPHABET).size).toBe(31);
    for (const c of "0O1IL") expect(CODE_ALPHABET).not.toContain(c);
    expect(CODE_ALPHABET).toMatch(/^[A-Z2-9]+$/);
  });

  it("makes codes of at least 10 symbols, all from the alphabet", async () => {
    const key = await codeKey("secret");
    for (let i = 0; i < 50; i++) {
      const [code] = await codeCandidates(key, `run_${i}:code`);
      expect(code!.length).toBeGreaterThanOrEqual(10);
      expect(code!.length).toBe(CODE_LENGTH);
      expect([...code!].every((c) => CODE_ALPHABET.includes(c))).toBe(true);
    }
  });

  it("uses every symbol (no symbol is left out by the mapping)", async () => {
    const key = await codeKey("secret");
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) for (const c of (await codeCandidates(key, `run_${i}:code`))[0]!) seen.add(c);
    expect(seen.size).toBe(CODE_ALPHABET.length);
  });
});

describe("deriving a code", () => {
  it("gives the same code for the same step, every time", async () => {
    const a = await codeCandidates(await codeKey("secret"), "run_1:code");
    const b = await codeCandidates(await codeKey("secret"), "run_1:code");
    expect(a).toEqual(b);
  });

  it("gives other steps, other runs and other secrets other codes", async () => {
    const key = await codeKey("secret");
    const [mine] = await codeCandidates(key, "run_1:code");
    expect((await codeCandidates(key, "run_1:code2"))[0]).not.toBe(mine);
    expect((await codeCandidates(key, "run_2:code"))[0]).not.toBe(mine);
    expect((await codeCandidates(await codeKey("another secret"), "run_1:code"))[0]).not.toBe(mine);
  });

  it("extends a taken code one symbol at a time, the same way on every retry", async () => {
    const list = await codeCandidates(await codeKey("secret"), "run_1:code");
    expect(list).toHaveLength(MAX_EXTENSIONS + 1);
    list.forEach((code, n) => {
      expect(code).toHaveLength(CODE_LENGTH + n);
      expect(code.startsWith(list[0]!)).toBe(true);
    });
  });

  it("puts the prefix before the code with a hyphen, and refuses a prefix that is not capitals and digits", async () => {
    const key = await codeKey("secret");
    const [plain] = await codeCandidates(key, "run_1:code");
    const [prefixed] = await codeCandidates(key, "run_1:code", "BACK10");
    expect(prefixed).toBe(`BACK10-${plain}`);
    await expect(codeCandidates(key, "run_1:code", "back")).rejects.toThrow(/not a code prefix/);
    await expect(codeCandidates(key, "run_1:code", "ÄPFEL")).rejects.toThrow(/not a code prefix/);
  });

  it("derives a key without a secret too", async () => {
    const [code] = await codeCandidates(await codeKey(""), "run_1:code");
    expect(code).toHaveLength(CODE_LENGTH);
  });

  it("looks codes up in any case", () => {
    expect(normalizeCode(" back-7k3m9qxrt2wc ")).toBe("BACK-7K3M9QXRT2WC");
  });
});

describe("a code's status", () => {
  const code = { used: 0, usage_limit: 1, expires_at: endOfDay("2026-03-01") };
  it("is active through the last instant of its expiry day", () => {
    expect(codeStatus(code, new Date("2026-03-01T23:59:59.999Z"))).toBe("active");
    expect(codeStatus(code, new Date("2026-03-02T00:00:00.000Z"))).toBe("expired");
  });
  it("is used up once every use was redeemed, expired or not", () => {
    expect(codeStatus({ ...code, used: 1 }, new Date("2026-02-01T00:00:00Z"))).toBe("used_up");
    expect(codeStatus({ ...code, used: 1 }, new Date("2027-01-01T00:00:00Z"))).toBe("used_up");
  });
});

describe("the create_discount_code config", () => {
  it("takes a percent from 1 to 100 without a currency", () => {
    expect(issuesOf({ value: 1 })).toEqual([]);
    expect(issuesOf({ value: 100 })).toEqual([]);
    expect(issuesOf({ value: 0 })).toEqual(["value: A percent discount is between 1 and 100"]);
    expect(issuesOf({ value: 101 })).toEqual(["value: A percent discount is between 1 and 100"]);
    expect(issuesOf({ currency: "EUR" })).toEqual(["currency: A percent discount takes no currency; remove it or use type amount"]);
  });

  it("takes an amount above 0 with an ISO 4217 currency", () => {
    expect(config({ type: "amount", value: 5, currency: "EUR" }).success).toBe(true);
    expect(config({ type: "amount", value: 5, currency: "usd" }).data?.currency).toBe("USD");
    expect(issuesOf({ type: "amount", value: 0, currency: "EUR" })).toEqual(["value: An amount off is more than 0"]);
    expect(issuesOf({ type: "amount", value: 5 })).toEqual(["currency: Give the currency of the amount, e.g. EUR"]);
    for (const currency of ["EURO", "E1R", "QQQ", "€"]) {
      expect(issuesOf({ type: "amount", value: 5, currency })).toEqual(["currency: Use an ISO 4217 currency code such as EUR or USD"]);
    }
  });

  it("is single use unless told otherwise, and at least once", () => {
    expect(config({}).data?.usage_limit).toBe(1);
    expect(issuesOf({ usage_limit: 0 })).toEqual(["usage_limit: A code can be used at least once"]);
    expect(issuesOf({ usage_limit: 1.5 })).toHaveLength(1);
  });

  it("takes a prefix of up to 10 capitals and digits, and refuses non-ASCII", () => {
    expect(issuesOf({ prefix: "BACK2SCHOOL" })).toHaveLength(1);
    expect(issuesOf({ prefix: "WINBACK10" })).toEqual([]);
    expect(issuesOf({ prefix: "" })).toEqual([]);
    for (const prefix of ["back", "ÄPFEL", "ＢＡＣＫ", "BACK-1", "SALE🎉", "{{trigger.data.prefix}}"]) {
      expect(issuesOf({ prefix }), prefix).toEqual(["prefix: A prefix is up to 10 capital letters A-Z and digits, e.g. BACK"]);
    }
  });

  it("needs an expiry DateSpec and knows no other fields", () => {
    expect(issuesOf({ expires: undefined })).toHaveLength(1);
    expect(issuesOf({ code: "FIXED" })).toHaveLength(1);
  });
});

describe("resolving a create_discount_code step", () => {
  const subscription: Scope["trigger"] = {
    id: "evt_1",
    type: "subscription.back_in_stock",
    entity: "subscription",
    entity_id: "sub_1",
    occurred_at: NOW.toISOString(),
    data: { customer_id: "cust_7", variant_id: "var_3" },
    previous: null,
  };
  const scopeOf = (trigger: Scope["trigger"]): Scope => ({ ...testScope({}), trigger });

  it("resolves the expiry to a date and fills in templates", () => {
    const input = resolve({ customer: "cust_{{trigger.data.shop_id}}", variant_ids: ["{{trigger.data.variant_id}}", "var_9"] }, testScope({ shop_id: "s1", variant_id: "var_1" }));
    expect(input).toEqual({
      type: "percent",
      value: 10,
      currency: null,
      expires_on: "2026-03-08",
      usage_limit: 1,
      prefix: "",
      customer_id: "cust_s1",
      variant_ids: ["var_1", "var_9"],
    });
  });

  it("makes the code for the trigger's customer unless a customer is given", () => {
    expect(triggerCustomer(subscription)).toBe("cust_7");
    expect(triggerCustomer({ ...subscription, entity: "customer", entity_id: "cust_9", data: {} })).toBe("cust_9");
    expect(triggerCustomer(testScope({ on_hand: 1 }).trigger)).toBeNull();
    expect(resolve({}, scopeOf(subscription))).toMatchObject({ customer_id: "cust_7" });
    expect(resolve({ customer: "cust_1" }, scopeOf(subscription))).toMatchObject({ customer_id: "cust_1" });
  });

  it("fails the step when a template gives no customer or no variants", () => {
    const scope = testScope({ blank: " ", none: [] });
    expect(() => resolve({ customer: "{{trigger.data.blank}}" }, scope)).toThrow(/customer is empty after interpolation/);
    expect(() => resolve({ variant_ids: ["{{trigger.data.none}}"] }, scope)).toThrow(/variant_ids is empty after interpolation/);
    expect(() => resolve({ customer: "{{trigger.data.missing}}" }, scope)).toThrow(/missing in this run/);
  });

  it("treats an empty variant list as any variant", () => {
    expect(resolve({ variant_ids: [] })).toMatchObject({ variant_ids: null });
  });
});

describe("executing a create_discount_code step", () => {
  const made: { code: NewDiscountCode; owner: CodeOwner }[] = [];
  const stored = (code: NewDiscountCode, owner: CodeOwner, now: Date): DiscountCode => ({
    ...code,
    code: "ABCDEFGHJKMN",
    used: 0,
    status: "active",
    run_id: owner.runId,
    node_id: owner.nodeId,
    test: owner.test,
    created_at: now.toISOString(),
  });
  const deps = testDeps({
    discounts: {
      async createCode(code, owner, now) {
        made.push({ code, owner });
        return stored(code, owner, now);
      },
    },
  });

  it("asks the port for the step's code, owned by the run and node, marked when the run is a test", async () => {
    const input = resolve({ prefix: "" });
    const { ctx } = actionContext(testScope({}), { runId: "run_9", nodeId: "code", now: NOW, test: true });
    const result = await createDiscountCode.execute(input, ctx, deps);
    expect(made.at(-1)).toEqual({
      code: { type: "percent", value: 10, currency: null, expires_at: "2026-03-08T23:59:59.999Z", usage_limit: 1, customer_id: null, variant_ids: null, prefix: "" },
      owner: { runId: "run_9", nodeId: "code", stepKey: "run_9:code", test: true },
    });
    expect(result).toEqual({
      ok: true,
      output: { code: "ABCDEFGHJKMN", type: "percent", value: 10, currency: null, expires_at: "2026-03-08T23:59:59.999Z", expires_on: "2026-03-08", usage_limit: 1 },
    });
    expect(createDiscountCode.summary?.summarize(result.ok === true ? result.output : null)).toEqual({ discount_codes_created: 1 });
  });

  it("fails without a retry when the code would expire before it is made", async () => {
    const input = resolve({ expires: { type: "relative", days: -1 } });
    const { ctx } = actionContext(testScope({}), { now: NOW });
    expect(await createDiscountCode.execute(input, ctx, deps)).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/expire on 2026-02-28, before it is made/) });
  });

  it("retries when D1 fails", async () => {
    const failing = testDeps({ discounts: { createCode: () => Promise.reject(new Error("D1_ERROR: overloaded")) } });
    const { ctx } = actionContext(testScope({}), { now: NOW });
    expect(await createDiscountCode.execute(resolve({}), ctx, failing)).toMatchObject({ ok: false, retryable: true, error: "D1: D1_ERROR: overloaded" });
  });

  it("refuses an input that is not one (a hand-edited record)", async () => {
    const { ctx } = actionContext(testScope({}), { now: NOW });
    expect(await createDiscountCode.execute({ ...resolve({}), value: 500 }, ctx, deps)).toMatchObject({ ok: false, retryable: false });
  });
});
