import type { ActionContext, NodeDeps } from "../../worker/engine/step";
import type { Scope } from "../../worker/definition/interpolate";

/** A run scope as the engine builds it, with the trigger data a test needs. */
export function testScope(data: Record<string, unknown>, steps: Scope["steps"] = { plan: { output: { plan_id: "plan_7" } } }): Scope {
  return {
    trigger: {
      id: "evt_1",
      type: "inventory_item.updated",
      entity: "inventory_item",
      entity_id: "ii_1",
      occurred_at: "2026-03-01T12:00:00.000Z",
      data,
      previous: null,
    },
    steps,
    workflow: { id: "wf_1", name: "Restock", version: 3 },
    run: { id: "run_1" },
    now: "2026-03-01T12:00:00.000Z",
    today: "2026-03-01",
  };
}

/** The context an action gets from the engine, and the log lines it wrote. */
export function actionContext(scope: Scope, over: Partial<ActionContext> & { runId?: string; nodeId?: string } = {}) {
  const logs: string[] = [];
  const runId = over.runId ?? "run_1";
  const nodeId = over.nodeId ?? "notify";
  const ctx: ActionContext = {
    runId,
    workflowId: "wf_1",
    nodeId,
    attempt: 1,
    idempotencyKey: `${runId}:${nodeId}`,
    test: false,
    now: new Date(),
    signal: new AbortController().signal,
    trigger: scope.trigger,
    checkpoint: undefined,
    log: (m) => logs.push(m),
    ...over,
  };
  return { ctx, logs };
}

/** Deps for an action under test, without a runtime: give the ports it uses; the others refuse. */
export function testDeps(over: Partial<NodeDeps> = {}): NodeDeps {
  const unused = (port: string) => () => Promise.reject(new Error(`This test gives the action no ${port}`));
  return {
    config: { credentials: new Map(), WEBHOOK_ALLOWED_HOSTS: [], EMAIL_FROM: "workflows@example.com", INTERNAL_EMAILS: ["team@example.com"], VAPID: { ok: false, reason: "This test sets no VAPID keys" } },
    fetch: unused("fetch"),
    sendEmail: unused("email"),
    planning: { createOrGetPlan: unused("planning"), addItems: unused("planning") },
    discounts: { createCode: unused("discounts") },
    mirror: { read: unused("mirror"), change: unused("mirror") },
    links: { track: unused("links") },
    // No daily cap: every effect passes.
    caps: { reserve: () => Promise.resolve({ ok: true }) },
    events: { subscribe: unused("event waits"), unsubscribe: unused("event waits") },
    ...over,
  };
}
