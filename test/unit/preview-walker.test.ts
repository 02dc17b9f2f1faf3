import { describe, expect, it } from "vitest";
import { DefinitionSchema } from "../../worker/contract/definition";
import { TriggerSchema } from "../../worker/definition/trigger";
import { explainTrigger, previewRun } from "../../worker/engine/preview";
import { NODE_CATALOG } from "../../worker/nodes";
import { humanDuration } from "../../worker/nodes/wait";
import { testScope } from "../support/action-context";

/* The preview walker (worker/engine/preview.ts) without a runtime: no port is given, nothing can be written. */

const NOW = new Date("2026-11-29T10:00:00Z");
const ctx = {
  now: NOW,
  config: { EMAIL_FROM: "flows@example.com", INTERNAL_EMAILS: ["team@example.com"], WEBHOOK_ALLOWED_HOSTS: [] },
  workflow: { id: "wf_1", name: "W", version: 1 },
};

const def = (nodes: unknown[], start = nodes.length ? (nodes[0] as { id: string }).id : "x") =>
  DefinitionSchema.parse({ name: "W", trigger: { entity: "inventory_item" }, start, nodes });

describe("the preview walker", () => {
  it("takes the branch a condition decides and skips the other one", async () => {
    const d = def([
      { id: "c", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "yes", else: "no" },
      { id: "yes", type: "send_email", config: { to: ["a@example.com"], subject: "low", body: "." } },
      { id: "no", type: "send_email", config: { to: ["a@example.com"], subject: "fine", body: "." } },
    ]);
    const low = await previewRun(d, testScope({ on_hand: 2 }).trigger, NODE_CATALOG, ctx);
    expect(low.steps.map((s) => `${s.node_id} ${s.status}`)).toEqual(["c would_run", "yes would_run", "no skipped"]);
    const high = await previewRun(d, testScope({ on_hand: 9 }).trigger, NODE_CATALOG, ctx);
    expect(high.steps.map((s) => `${s.node_id} ${s.status}`)).toEqual(["c would_run", "no would_run", "yes skipped"]);
    expect(high.impact.emails).toBe(1);
  });

  it("reports a wait without sleeping, and later steps see the day it ends", async () => {
    const d = def([
      { id: "w", type: "wait", config: { duration: { days: 3 } }, next: "m" },
      { id: "m", type: "send_email", config: { to: ["a@example.com"], subject: "On {{today}}", body: "." } },
    ]);
    const r = await previewRun(d, testScope({}).trigger, NODE_CATALOG, ctx);
    expect(r.steps[0]!.preview).toEqual({ until: "2026-12-02T10:00:00.000Z", wait_ms: 3 * 86_400_000, text: "would wait 3 days, until 2026-12-02" });
    expect(r.steps[1]!.preview).toMatchObject({ subject: "On 2026-12-02" });
  });

  it("stops at a step that would fail, unless its node goes on after an error", async () => {
    const nodes = (onError: string) => [
      { id: "hook", type: "call_webhook", config: { url: "http://10.0.0.1/" }, on_error: onError, next: "m" },
      { id: "m", type: "send_email", config: { to: ["a@example.com"], subject: "s", body: "." } },
    ];
    const stops = await previewRun(def(nodes("fail")), testScope({}).trigger, NODE_CATALOG, ctx);
    expect(stops.steps.map((s) => `${s.node_id} ${s.status}`)).toEqual(["hook would_fail", "m skipped"]);
    expect(stops.steps[0]!.error).toMatch(/10\.0\.0\.1/);
    const goesOn = await previewRun(def(nodes("continue")), testScope({}).trigger, NODE_CATALOG, ctx);
    expect(goesOn.steps.map((s) => `${s.node_id} ${s.status}`)).toEqual(["hook would_fail", "m would_run"]);
    expect(goesOn.impact).toMatchObject({ webhooks: 0, emails: 1 });
  });

  it("fails a step whose input cannot be prepared, with the reason", async () => {
    const d = def([{ id: "m", type: "send_email", config: { to: ["{{trigger.data.email}}"], subject: "s", body: "." } }]);
    const r = await previewRun(d, testScope({ email: "not an address" }).trigger, NODE_CATALOG, ctx);
    expect(r.steps[0]).toMatchObject({ status: "would_fail", error: expect.stringMatching(/email/i) });
    expect(r.impact.emails).toBe(0);
  });
});

describe("the trigger, explained", () => {
  const trigger = TriggerSchema.parse({
    entity: "inventory_item",
    events: ["updated"],
    tags: { include: ["sneakers", "boots"], exclude: ["discontinued"] },
    conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] },
  });
  const event = (data: Record<string, unknown>, tags: string[], kind = "updated") => ({ entity: "inventory_item", kind, tags, scope: testScope(data) });

  it("says why it matches, as a merchant reads it", () => {
    expect(explainTrigger(trigger, event({ on_hand: 2 }, ["sneakers"]))).toEqual({
      matches: true,
      reasons: ["entity inventory_item", "event updated", "no tag discontinued", "tag sneakers", "on_hand 2 < 5"],
    });
  });

  it("says what does not hold", () => {
    const r = explainTrigger(trigger, event({ on_hand: 7 }, ["discontinued"], "created"));
    expect(r.matches).toBe(false);
    expect(r.reasons).toEqual([
      "entity inventory_item",
      "not: event created (the trigger listens to updated)",
      "not: no tag discontinued",
      "not: tag sneakers or boots",
      "not: on_hand 7 < 5",
    ]);
  });
});

describe("a wait in words", () => {
  it("names minutes, hours or days", () => {
    expect(humanDuration(45 * 60_000)).toBe("45 minutes");
    expect(humanDuration(5 * 3_600_000)).toBe("5 hours");
    expect(humanDuration(24 * 3_600_000)).toBe("1 day");
    expect(humanDuration(3 * 86_400_000)).toBe("3 days");
  });
});
