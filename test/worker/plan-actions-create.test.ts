/** create_or_get_plan: creating, reusing and scoping plans. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createOrGetPlan } from "../../worker/nodes/create-or-get-plan";
import { DateSpecError } from "../../worker/definition/date-spec";
import { ctxOf, depsOf, NOW, planStep, scopeOf, triggerOf } from "../support/plan-fixtures";
import { api, json, uid } from "../support/api";

describe("create_or_get_plan", () => {
  it("creates an open plan, then reuses it for the same kind and interpolated name", async () => {
    const name = uid("Restock");
    const trigger = triggerOf("inventory_item", { id: "inv_1", shop_id: "shop_9", variant_id: "v", region: name });
    const first = await planStep({ kind: "restock", name: "{{trigger.data.region}} week", deadline: { type: "relative", days: 7 } }, { trigger });
    expect(first).toMatchObject({ ok: true, output: { created: true, kind: "restock", name: `${name} week`, deadline: "2026-11-29", status: "open", shops: { mode: "all", ids: [] } } });
    const again = await planStep({ kind: "restock", name: `${name} week`, deadline: { type: "absolute", date: "2027-01-01" } });
    // Reused as it is: the first plan's deadline stays.
    expect(again).toMatchObject({ ok: true, output: { created: false, deadline: "2026-11-29" } });
    expect((again as { output: { plan_id: string } }).output.plan_id).toBe((first as { output: { plan_id: string } }).output.plan_id);
    const other = await planStep({ kind: "markdown", name: `${name} week` });
    expect(other).toMatchObject({ ok: true, output: { created: true, kind: "markdown" } });
  });

  it("gives two runs asking at once one plan", async () => {
    const name = uid("race");
    const results = await Promise.all(Array.from({ length: 8 }, () => planStep({ kind: "rebalance", name })));
    const outputs = results.map((r) => (r as { ok: true; output: { plan_id: string; created: boolean } }).output);
    expect(new Set(outputs.map((o) => o.plan_id)).size).toBe(1);
    expect(outputs.filter((o) => o.created)).toHaveLength(1);
    const open = await env.DB.prepare("SELECT count(*) AS n FROM plans WHERE kind = 'rebalance' AND name = ? AND status = 'open'").bind(name).first<{ n: number }>();
    expect(open?.n).toBe(1);
  });

  it("reports created again when the step that created the plan is retried", async () => {
    const name = uid("retry");
    const first = await planStep({ kind: "restock", name }, { key: "run_x:plan" });
    const retry = await planStep({ kind: "restock", name }, { key: "run_x:plan" });
    expect(first).toMatchObject({ output: { created: true } });
    expect(retry).toMatchObject({ output: { created: true, plan_id: (first as { output: { plan_id: string } }).output.plan_id } });
  });

  it("creates a new plan once the open one is closed", async () => {
    const name = uid("closed");
    const first = (await planStep({ kind: "restock", name })) as { output: { plan_id: string } };
    await env.DB.prepare("UPDATE plans SET status = 'closed' WHERE id = ?").bind(first.output.plan_id).run();
    const next = (await planStep({ kind: "restock", name })) as { output: { plan_id: string; created: boolean } };
    expect(next.output.created).toBe(true);
    expect(next.output.plan_id).not.toBe(first.output.plan_id);
  });

  it("stores the trigger's shop for shops from_trigger, and fails without one", async () => {
    const ok = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "from_trigger" } }, { trigger: triggerOf("inventory_item", { id: "i", shop_id: "shop_7" }) });
    expect(ok).toMatchObject({ ok: true, output: { shops: { mode: "specific", ids: ["shop_7"] } } });
    const bad = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "from_trigger" } }, { trigger: triggerOf("product", { id: "p" }) });
    expect(bad).toMatchObject({ ok: false, retryable: false });
    expect((bad as { error: string }).error).toContain("needs an inventory_item trigger");
    const specific = await planStep({ kind: "restock", name: uid("shop"), shops: { mode: "specific", ids: ["b", "a", "b"] } });
    expect(specific).toMatchObject({ output: { shops: { mode: "specific", ids: ["a", "b"] } } });
  });

  it("refuses in resolve a name or deadline that interpolates to nothing usable", () => {
    const resolve = (cfg: Record<string, unknown>, trigger = triggerOf("product", { id: "p", when: "soon", blank: "" })) =>
      createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse(cfg), scopeOf(trigger), NOW);
    expect(() => resolve({ kind: "restock", name: "{{trigger.data.blank}}" })).toThrow("empty after interpolation");
    expect(() => resolve({ kind: "restock", name: "x", deadline: { type: "interpolated", value: "{{trigger.data.when}}" } })).toThrow(DateSpecError);
    expect(() => resolve({ kind: "restock", name: "{{trigger.data.missing}}" })).toThrow("missing");
    expect(resolve({ kind: "restock", name: "Plan {{trigger.entity_id}}", deadline: { type: "interpolated", value: "{{trigger.occurred_at}}", offset_days: 3 } })).toEqual({
      kind: "restock",
      name: "Plan p",
      shops: { mode: "all", ids: [] },
      deadline: "2026-11-25",
    });
  });

  it("refuses a recorded input that does not parse, naming each problem at its path", async () => {
    const res = await createOrGetPlan.execute({ kind: "restock", name: " ", shops: { mode: "all", ids: [] }, deadline: "soon" }, ctxOf(), depsOf());
    expect(res).toEqual({
      ok: false,
      retryable: false,
      error: expect.stringMatching(/^Invalid input: name: The plan name is empty after interpolation; deadline: .+$/),
    });
  });

  it("fails with a retryable error when D1 fails", async () => {
    const broken = { ...env.DB, batch: async () => Promise.reject(new Error("D1_ERROR: network connection lost")) } as unknown as D1Database;
    const c = ctxOf({ nodeId: "plan" });
    const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse({ kind: "restock", name: uid("d1") }), scopeOf(), NOW);
    const res = await createOrGetPlan.execute(input, c, depsOf(broken));
    expect(res).toMatchObject({ ok: false, retryable: true });
  });
});

describe("create_or_get_plan in a test run", () => {
  const asTest = async (cfg: Record<string, unknown>, key = uid("run_test:plan")) => {
    const c = { ...ctxOf({ nodeId: "plan", key }), test: true };
    return createOrGetPlan.execute(createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse(cfg), scopeOf(c.trigger), NOW), c, depsOf());
  };
  type Out = { ok: true; output: { plan_id: string; created: boolean; test: boolean } };

  it("creates a test plan apart from the real open plan of that name, reuses it in the next test run, and no real run reuses it", async () => {
    const name = uid("Sneakers");
    const real = (await planStep({ kind: "restock", name })) as Out;
    expect(real.output).toMatchObject({ created: true, test: false });

    const first = (await asTest({ kind: "restock", name })) as Out;
    expect(first).toMatchObject({ ok: true, output: { created: true, test: true, name, status: "open" } });
    expect(first.output.plan_id).not.toBe(real.output.plan_id);
    const again = (await asTest({ kind: "restock", name })) as Out;
    expect(again.output).toMatchObject({ plan_id: first.output.plan_id, created: false, test: true });
    const realAgain = (await planStep({ kind: "restock", name })) as Out;
    expect(realAgain.output).toMatchObject({ plan_id: real.output.plan_id, created: false, test: false });

    // Marked in D1 and in the API, one plan and the list.
    const rows = await env.DB.prepare("SELECT id, test FROM plans WHERE name = ? ORDER BY test").bind(name).all<{ id: string; test: number }>();
    expect(rows.results).toEqual([
      { id: real.output.plan_id, test: 0 },
      { id: first.output.plan_id, test: 1 },
    ]);
    expect(await json(await api(`/api/plans/${first.output.plan_id}`))).toMatchObject({ id: first.output.plan_id, test: true });
    expect(await json(await api(`/api/plans/${real.output.plan_id}`))).toMatchObject({ id: real.output.plan_id, test: false });
    const ids = async (query: string) => (await json<{ items: { id: string }[] }>(await api(`/api/plans?kind=restock&limit=500${query}`))).items.map((p) => p.id);
    expect(await ids("&test=true")).toContain(first.output.plan_id);
    expect(await ids("&test=true")).not.toContain(real.output.plan_id);
    expect(await ids("&test=false")).toContain(real.output.plan_id);
    expect(await ids("&test=false")).not.toContain(first.output.plan_id);
    expect(await ids("")).toEqual(expect.arrayContaining([real.output.plan_id, first.output.plan_id]));
    expect((await api("/api/plans?test=maybe")).status).toBe(400);
  });

  it("gives test runs asking at once one test plan", async () => {
    const name = uid("race_test");
    const outputs = ((await Promise.all(Array.from({ length: 6 }, () => asTest({ kind: "rebalance", name })))) as Out[]).map((r) => r.output);
    expect(new Set(outputs.map((o) => o.plan_id)).size).toBe(1);
    expect(outputs.filter((o) => o.created)).toHaveLength(1);
    expect(outputs.every((o) => o.test)).toBe(true);
  });
});
