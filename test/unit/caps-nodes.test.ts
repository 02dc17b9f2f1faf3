import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../worker/config";
import type { CapKind } from "../../worker/definition/controls";
import type { ActionModule, CapsPort, NodeDeps } from "../../worker/engine/step";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { callWebhook } from "../../worker/nodes/call-webhook";
import { createDiscountCode } from "../../worker/nodes/create-discount-code";
import { sendEmail } from "../../worker/nodes/send-email";
import { sendInternalEmail } from "../../worker/nodes/send-internal-email";
import { sendPush } from "../../worker/nodes/send-push";
import { actionContext, testDeps, testScope } from "../support/action-context";
import { subscriber } from "../support/push";

/*
 * Each capped node asks the daily cap (SPEC §14) right before its effect, with the units it is
 * about to spend, and on a refusal fails with cap_exceeded, not retried, having done nothing.
 */

const scope = testScope({ on_hand: 2, customer_id: "cus_1" });

/** A caps port that records what it is asked and answers with `answer`. */
function capsPort(answer: "ok" | "refuse") {
  const asked: { kind: CapKind; units: number; part?: string }[] = [];
  const port: CapsPort = {
    reserve: (kind, units, part) => {
      asked.push({ kind, units, ...(part === undefined ? {} : { part }) });
      return Promise.resolve(answer === "ok" ? { ok: true } : { ok: false, error: `cap_exceeded: no more ${kind} today` });
    },
  };
  return { asked, port };
}

/** Runs a node as the engine does (parse, resolve, execute) with deps that count every effect. */
async function run(module: ActionModule, cfg: Record<string, unknown>, answer: "ok" | "refuse", over: Partial<NodeDeps> = {}) {
  const effects: string[] = [];
  const caps = capsPort(answer);
  const deps = testDeps({
    sendEmail: async () => void effects.push("email"),
    fetch: async () => {
      effects.push("fetch");
      return new Response("{}", { status: 201 });
    },
    discounts: {
      createCode: async () => {
        effects.push("code");
        throw new Error("not in this test");
      },
    },
    ...over,
    caps: caps.port,
  });
  const input = module.resolve ? module.resolve(module.configSchema.parse(cfg), scope, new Date()) : cfg;
  const { ctx } = actionContext(scope);
  const result = await module.execute(input, ctx, deps);
  return { result, effects, asked: caps.asked };
}

const refusedWith = (kind: string) => ({ ok: false, retryable: false, code: "cap_exceeded", error: `cap_exceeded: no more ${kind} today` });

describe("a node under a daily cap", () => {
  it("send_email asks for 1 email per message, whatever its recipients, and sends nothing when refused", async () => {
    const cfg = { to: ["a@example.com", "b@example.com"], cc: ["c@example.com"], subject: "Hi", body: "Hello" };
    const refused = await run(sendEmail, cfg, "refuse");
    expect(refused.result).toEqual(refusedWith("emails"));
    expect(refused.effects).toEqual([]);
    expect(refused.asked).toEqual([{ kind: "emails", units: 1 }]);
    const passed = await run(sendEmail, cfg, "ok");
    expect(passed.result.ok).toBe(true);
    expect(passed.effects).toEqual(["email", "email", "email"]);
    expect(passed.asked).toEqual([{ kind: "emails", units: 1 }]);
  });

  it("send_internal_email asks for 1 email", async () => {
    const refused = await run(sendInternalEmail, { subject: "Hi", body: "Hello" }, "refuse");
    expect(refused.result).toEqual(refusedWith("emails"));
    expect(refused.effects).toEqual([]);
    expect(refused.asked).toEqual([{ kind: "emails", units: 1 }]);
  });

  it("call_webhook asks for 1 webhook call before calling", async () => {
    const cfg = { url: "https://hooks.example.com/stock", body: { sku: "x" } };
    const refused = await run(callWebhook, cfg, "refuse");
    expect(refused.result).toEqual(refusedWith("webhook_calls"));
    expect(refused.effects).toEqual([]);
    const passed = await run(callWebhook, cfg, "ok");
    expect(passed.result.ok).toBe(true);
    expect(passed.effects).toEqual(["fetch"]);
    expect(passed.asked).toEqual([{ kind: "webhook_calls", units: 1 }]);
  });

  it("create_discount_code asks for 1 code before making it", async () => {
    const refused = await run(createDiscountCode, { type: "percent", value: 10, expires: { type: "relative", days: 7 } }, "refuse");
    expect(refused.result).toEqual(refusedWith("discount_codes"));
    expect(refused.effects).toEqual([]);
    expect(refused.asked).toEqual([{ kind: "discount_codes", units: 1 }]);
  });

  it("send_push asks for one push per subscription of the customer, and pushes to none when refused", async () => {
    const subs = await Promise.all([1, 2, 3].map(async (i) => ({ endpoint: `https://push.example.com/send/${i}`, keys: (await subscriber()).keys })));
    const vapid = config(env).VAPID;
    expect(vapid.ok).toBe(true);
    const over: Partial<NodeDeps> = {
      mirror: { read: async () => ({ id: "cus_1", tags: [], push_subscriptions: subs }), change: () => Promise.reject(new Error("no change expected")) },
      config: { ...testDeps().config, VAPID: vapid, WEBHOOK_ALLOWED_HOSTS: ["push.example.com"] },
    };
    const cfg = { title: "Back", body: "In stock", customer: "cus_1" };
    const refused = await run(sendPush, cfg, "refuse", over);
    expect(refused.result).toEqual(refusedWith("pushes"));
    expect(refused.effects).toEqual([]);
    expect(refused.asked).toEqual([{ kind: "pushes", units: 3 }]);
    const passed = await run(sendPush, cfg, "ok", over);
    expect(passed.result).toMatchObject({ ok: true, output: { sent: 3 } });
    expect(passed.effects).toEqual(["fetch", "fetch", "fetch"]);
  });

  it("add_items_to_plan fails with cap_exceeded when the planning port's page is refused", async () => {
    const cfg = { plan: "plan_7", filter: { entity: "brand", ids: ["b1"] } };
    const planning = {
      createOrGetPlan: () => Promise.reject(new Error("unused")),
      // As planning/add-items.ts does: ask before writing a page, fail the step with the refusal.
      addItems: async (_input: unknown, job: { admit?(units: number, page: string): Promise<string | undefined> }) => {
        const refusal = await job.admit?.(12, "{}");
        return refusal === undefined ? { ok: true as const, output: { plan_id: "plan_7", candidates: 1, added: 1, updated: 0, unchanged: 0, removed: 0, skipped: 0, skipped_margin_floor: 0, total_quantity: 12, invocations: 1 } } : { ok: false as const, error: refusal, retryable: false };
      },
    };
    const refused = await run(addItemsToPlan, cfg, "refuse", { planning });
    expect(refused.result).toEqual(refusedWith("units"));
    expect(refused.asked).toEqual([{ kind: "units", units: 12, part: "{}" }]);
    const passed = await run(addItemsToPlan, cfg, "ok", { planning });
    expect(passed.result.ok).toBe(true);
  });
});
