/** add_items_to_plan: how it fails, and what it records as its input. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { ctxOf, depsOf, itemsStep, newPlan, NOW, restockPlan, scopeOf, triggerOf, world } from "../support/plan-fixtures";
import { uid } from "../support/api";

describe("add_items_to_plan failures", () => {
  it("fails without retry for a missing or closed plan", async () => {
    const w = await world();
    const missing = await itemsStep({ plan: "plan_nope", filter: { entity: "brand", ids: [w.id("B1")] } });
    expect(missing.result).toMatchObject({ ok: false, retryable: false });
    expect((missing.result as { error: string }).error).toContain("No plan has the id plan_nope");
    const plan = await restockPlan();
    await env.DB.prepare("UPDATE plans SET status = 'closed' WHERE id = ?").bind(plan).run();
    const closed = await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] } });
    expect(closed.result).toMatchObject({ ok: false, retryable: false });
    expect((closed.result as { error: string }).error).toContain("is closed");
  });

  it("fails without retry when the strategies do not fit the plan's kind", async () => {
    const w = await world();
    const filter = { entity: "brand", ids: [w.id("B1")] };
    const cases: [string, Record<string, unknown>, string][] = [
      ["rebalance", {}, "needs matching"],
      ["markdown", {}, "needs discount"],
      ["restock", { discount: { strategy: "fixed", percent: 10 } }, "discount applies to markdown plans"],
      ["markdown", { discount: { strategy: "fixed", percent: 10 }, matching: { strategy: "score" } }, "matching applies to rebalance plans"],
      ["restock", { markdown_date: { type: "relative", days: 1 } }, "markdown_date applies to markdown plans"],
    ];
    for (const [kind, extra, message] of cases) {
      const plan = await newPlan(kind);
      const res = (await itemsStep({ plan, filter, ...extra })).result;
      expect(res, message).toMatchObject({ ok: false, retryable: false });
      expect((res as { error: string }).error).toContain(message);
    }
  });

  it("refuses in resolve a fixed matching whose shops interpolate to the same shop", async () => {
    const plan = await newPlan("rebalance");
    const cfg = { plan, filter: { entity: "brand", ids: ["b"] }, matching: { strategy: "fixed", from_shop: "{{trigger.entity_id}}", to_shop: "{{trigger.entity_id}}" } };
    expect(addItemsToPlan.configSchema.safeParse(cfg).success).toBe(true);
    await expect(itemsStep(cfg)).rejects.toThrow("matching.to_shop: from_shop and to_shop must be different shops");
  });

  it("fails without retry when the trigger cannot anchor the selection", async () => {
    const w = await world();
    const plan = await restockPlan();
    const customer = await itemsStep({ plan, filter: { entity: "product", from_trigger: true } }, { trigger: triggerOf("customer", { id: "c1", email: "a@b.c" }) });
    expect((customer.result as { error: string }).error).toContain("needs a brand, product, product_variant or inventory_item trigger");
    const shop = await itemsStep({ plan, filter: { entity: "product", ids: [w.id("P1")] }, shops: { mode: "from_trigger" } }, { trigger: triggerOf("product", { id: w.id("P1") }) });
    expect((shop.result as { error: string }).error).toContain("shops.mode from_trigger needs an inventory_item trigger");
    const orphan = await itemsStep({ plan, filter: { entity: "product", from_trigger: true } }, { trigger: triggerOf("inventory_item", { id: "i", variant_id: uid("ghost"), shop_id: "s" }) });
    expect(orphan.result).toMatchObject({ ok: false, retryable: false });
    expect((orphan.result as { error: string }).error).toContain("is not in the entity mirror");
  });

  it("refuses input that does not parse, and config the schema forbids", async () => {
    const res = await addItemsToPlan.execute({ plan: 42, filter: {} } as never, ctxOf(), depsOf());
    expect(res).toMatchObject({ ok: false, retryable: false });
    // Every problem, each at its path.
    expect((res as { error: string }).error).toMatch(/^Invalid input: plan: .+; filter\.entity: /);
    const cfg = addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "brand" }, matching: { strategy: "fixed", from_shop: "a", to_shop: "a" } });
    expect(cfg.success).toBe(false);
    expect(addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "shop" } }).success).toBe(false);
    expect(addItemsToPlan.configSchema.safeParse({ plan: "p", filter: { entity: "brand" }, discount: { strategy: "recommended", min_percent: 60, max_percent: 50 } }).success).toBe(false);
  });

  it("fails with a retryable error when D1 fails", async () => {
    const w = await world();
    const plan = await restockPlan();
    const broken = {
      prepare: (q: string) => env.DB.prepare(q),
      batch: async () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
    } as unknown as D1Database;
    const run = await itemsStep({ plan, filter: { entity: "brand", ids: [w.id("B1")] } }, { db: broken });
    expect(run.result).toMatchObject({ ok: false, retryable: true });
    expect((run.result as { error: string }).error).toContain("Network connection lost");
  });

  it("records concrete dates and ids as the step's input", () => {
    const trigger = triggerOf("inventory_item", { id: "inv_9", shop_id: "shop_3", variant_id: "var_2", related: ["a", "b"], season: "aw26" });
    const input = addItemsToPlan.resolve!(
      addItemsToPlan.configSchema.parse({
        plan: "{{steps.plan.output.plan_id}}",
        filter: { entity: "inventory_item", ids: ["{{trigger.data.related}}", "c"], tags: { include: ["{{trigger.data.season}}"] } },
        shops: { mode: "from_trigger" },
        discount: { strategy: "fixed", percent: 10 },
        markdown_date: { type: "interpolated", value: "{{steps.plan.output.deadline}}", offset_days: -3 },
      }),
      scopeOf(trigger, { plan: { plan_id: "plan_1", deadline: "2026-12-01" } }),
      NOW,
    );
    expect(input).toMatchObject({
      plan: "plan_1",
      filter: { ids: ["a", "b", "c"], tags: { include: ["aw26"] } },
      shops: { mode: "from_trigger", ids: ["shop_3"] },
      markdown_date: "2026-11-28",
    });
  });
});
