import { describe, expect, it } from "vitest";
import { DefinitionSchema } from "../../worker/contract/definition";
import { createOrGetPlan } from "../../worker/nodes/create-or-get-plan";
import { credentialReferences, emptySummary, NODE_MODULES, SUMMARY_COUNTERS } from "../../worker/nodes";
import type { NewPlan } from "../../worker/planning/port";
import { actionContext, testDeps, testScope } from "../support/action-context";

describe("the node registry", () => {
  it("builds the run summary from the counters the node types declare, then errors", () => {
    expect(SUMMARY_COUNTERS).toEqual(["webhooks_called", "emails_sent", "plans_created", "items_added", "items_skipped", "discount_codes_created", "internal_emails_sent", "pushes_sent", "errors"]);
    expect(emptySummary()).toEqual({ webhooks_called: 0, emails_sent: 0, plans_created: 0, items_added: 0, items_skipped: 0, discount_codes_created: 0, internal_emails_sent: 0, pushes_sent: 0, errors: 0 });
  });

  it("finds the credentials a definition references through the node types that declare them", () => {
    const def = DefinitionSchema.parse({
      name: "Credentials",
      trigger: { entity: "product" },
      start: "plain",
      nodes: [
        { id: "plain", type: "call_webhook", config: { url: "https://a.example.com" }, next: "signed" },
        { id: "signed", type: "call_webhook", config: { url: "https://b.example.com", auth: { type: "hmac", credential: "HOOK_SECRET" } }, next: "mail" },
        { id: "mail", type: "send_email", config: { to: ["ops@example.com"], subject: "S", body: "B" } },
      ],
    });
    expect(credentialReferences(def)).toEqual([{ name: "HOOK_SECRET", path: "nodes.1.config.auth.credential" }]);
  });

  it("gives every node type a label and a preview, which says why an input it cannot run on would fail", async () => {
    for (const m of NODE_MODULES) {
      expect(m.label, m.type).not.toBe("");
      // The previews themselves are tested through the API (test/worker/preview.test.ts).
      const preview = await m.preview({}, { now: new Date(), trigger: testScope({}).trigger });
      if (m.kind === "condition") expect(preview, m.type).toEqual({ previewable: true, output: {} });
      else if (m.kind === "wait") expect(preview, m.type).toEqual({ previewable: false, reason: expect.any(String) });
      else expect(preview, m.type).toMatchObject({ previewable: true, error: expect.stringMatching(/invalid/i) });
    }
  });
});

describe("a plan node reaches D1 only through the planning port", () => {
  it("creates the plan it is given back, with its shops as the step resolved them", async () => {
    const asked: NewPlan[] = [];
    const deps = testDeps({
      planning: {
        async createOrGetPlan(plan, origin, now) {
          asked.push(plan);
          const stored = { ...plan, id: "plan_1", status: "open" as const, item_count: 0, total_quantity: 0, created_at: now.toISOString(), updated_at: now.toISOString() };
          return { plan: stored, created: origin.stepKey === "run_1:plan" };
        },
        addItems: () => Promise.reject(new Error("not used")),
      },
    });
    const scope = testScope({ shop_id: "berlin" });
    const input = createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse({ kind: "restock", name: "Week {{today}}", shops: { mode: "from_trigger" } }), scope, new Date("2026-03-01T12:00:00Z"));
    const result = await createOrGetPlan.execute(input, actionContext(scope, { nodeId: "plan" }).ctx, deps);
    expect(asked).toEqual([{ kind: "restock", name: "Week 2026-03-01", shops: { mode: "specific", ids: ["berlin"] }, deadline: null, test: false }]);
    expect(result).toMatchObject({ ok: true, output: { plan_id: "plan_1", created: true, shops: { mode: "specific", ids: ["berlin"] } } });
    expect(createOrGetPlan.summary?.summarize(result.ok === true ? result.output : null)).toEqual({ plans_created: 1 });
  });
});
