import { describe, expect, it } from "vitest";
import { validateDefinition } from "../../worker/contract/definition";
import { restockDefinition } from "../support/definitions";

function issuesOf(def: unknown) {
  const result = validateDefinition(def);
  return result.ok ? [] : result.issues;
}

function paths(def: unknown) {
  return issuesOf(def).map((i) => i.path);
}

const chain = (...ids: string[]) =>
  ids.map((id, i) => ({
    id,
    type: "wait",
    config: { duration: { minutes: 1 } },
    ...(ids[i + 1] ? { next: ids[i + 1] } : {}),
  }));

describe("definition schema", () => {
  it("accepts the SPEC example and fills defaults", () => {
    const result = validateDefinition(restockDefinition());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const notify = result.definition.nodes[2]!;
    expect(notify.on_error).toBe("fail");
    expect(notify.config).toMatchObject({ method: "POST", body_type: "json", timeout_ms: 30000, success_status: [[200, 299]] });
    expect(result.definition.nodes[1]!.retry).toEqual({
      max_attempts: 5,
      backoff: "exponential",
      initial_delay_ms: 1000,
      max_delay_ms: 300000,
      jitter: true,
    });
  });

  it("defaults trigger events to created and updated", () => {
    const def = restockDefinition();
    delete (def.trigger as { events?: unknown }).events;
    const result = validateDefinition(def);
    expect(result.ok && result.definition.trigger.events).toEqual(["created", "updated"]);
  });

  it("reports a bad URL at nodes.2.config.url", () => {
    const def = restockDefinition();
    (def.nodes[2]!.config as { url: string }).url = "not a url";
    expect(issuesOf(def)).toEqual([{ path: "nodes.2.config.url", message: "Not a URL: use https://host/path" }]);
  });

  it("refuses non-http URLs but allows templates", () => {
    const def = restockDefinition();
    (def.nodes[2]!.config as { url: string }).url = "ftp://example.com/x";
    expect(paths(def)).toEqual(["nodes.2.config.url"]);
    (def.nodes[2]!.config as { url: string }).url = "{{trigger.data.callback}}";
    expect(paths(def)).toEqual([]);
  });

  it("reports an unknown node type at its type", () => {
    const def = restockDefinition();
    (def.nodes[1] as { type: string }).type = "teleport";
    expect(paths(def)).toEqual(["nodes.1.type"]);
  });

  it("reports a node id of the wrong form", () => {
    expect(paths({ ...restockDefinition(), start: "Plan" })).toContain("start");
    const def = restockDefinition();
    def.nodes[0]!.id = "1plan";
    expect(paths(def)).toEqual(["nodes.0.id"]);
  });

  it("rejects unknown keys, so typos do not pass silently", () => {
    const def = restockDefinition();
    (def.nodes[0] as Record<string, unknown>).nxt = "items";
    expect(issuesOf(def)[0]).toMatchObject({ path: "nodes.0", message: expect.stringContaining("nxt") });
  });

  it("requires a credential for authenticated webhooks and a header name for header auth", () => {
    const def = restockDefinition();
    (def.nodes[2]!.config as Record<string, unknown>).auth = { type: "header" };
    expect(paths(def).sort()).toEqual(["nodes.2.config.auth.credential", "nodes.2.config.auth.name"]);
  });

  it("checks retry policies when saved", () => {
    const def = restockDefinition();
    def.nodes[1]!.retry = { max_attempts: 0, backoff: "exponential", initial_delay_ms: 5000, max_delay_ms: 1000 };
    expect(paths(def).sort()).toEqual(["nodes.1.retry.max_attempts", "nodes.1.retry.max_delay_ms"]);
  });

  it("validates every strategy's fields", () => {
    const def = restockDefinition();
    (def.nodes[1]!.config as Record<string, unknown>).quantity = { strategy: "fixed" };
    (def.nodes[1]!.config as Record<string, unknown>).discount = { strategy: "recommended", min_percent: 60, max_percent: 50 };
    (def.nodes[1]!.config as Record<string, unknown>).sizes = { mode: "below_threshold" };
    expect(paths(def).sort()).toEqual([
      "nodes.1.config.discount.max_percent",
      "nodes.1.config.quantity.quantity",
      "nodes.1.config.sizes.threshold",
    ]);
  });

  it("validates DateSpecs", () => {
    const def = restockDefinition();
    (def.nodes[0]!.config as Record<string, unknown>).deadline = { type: "absolute", date: "2026-02-30x" };
    expect(paths(def)).toEqual(["nodes.0.config.deadline.date"]);
    (def.nodes[0]!.config as Record<string, unknown>).deadline = { type: "someday" };
    expect(paths(def)).toEqual(["nodes.0.config.deadline.type"]);
  });

  it("validates condition groups and operators", () => {
    const def = restockDefinition();
    def.trigger.conditions = { all: [{ left: "{{trigger.data.on_hand}}", op: "below", right: 5 }] } as never;
    expect(paths(def)).toEqual(["trigger.conditions.all.0.op"]);
    def.trigger.conditions = {} as never;
    expect(paths(def)).toEqual(["trigger.conditions"]);
  });

  it("validates wait durations", () => {
    expect(issuesOf({ ...restockDefinition(), start: "w", nodes: [{ id: "w", type: "wait", config: { duration: { minutes: 0 } } }] })).toEqual([
      { path: "nodes.0.config.duration", message: "Give minutes, hours or days greater than 0" },
    ]);
  });
});

describe("graph rules", () => {
  const base = (nodes: unknown[], start = "a") => ({ name: "g", trigger: { entity: "product" }, start, nodes });

  it("accepts a chain", () => {
    expect(issuesOf(base(chain("a", "b", "c")))).toEqual([]);
  });

  it("reports duplicate ids at the second one", () => {
    const nodes = chain("a", "b");
    nodes[1]!.id = "a";
    expect(issuesOf(base(nodes))).toContainEqual({ path: "nodes.1.id", message: 'Node id "a" is already used by nodes.0' });
  });

  it("reports a start that names no node", () => {
    expect(issuesOf(base(chain("a"), "zzz"))).toEqual([{ path: "start", message: 'No node has the id "zzz"' }]);
  });

  it("reports next, then and else that name no node", () => {
    const nodes = [
      { id: "a", type: "condition", config: { all: [{ left: 1, op: "eq", right: 1 }] }, then: "nope", else: "nada" },
    ];
    expect(paths(base(nodes))).toEqual(["nodes.0.then", "nodes.0.else"]);
    expect(paths(base([{ ...chain("a")[0], next: "gone" }]))).toEqual(["nodes.0.next"]);
  });

  it("reports a cycle with its loop", () => {
    const nodes = chain("a", "b", "c");
    nodes[2]!.next = "a";
    expect(issuesOf(base(nodes))).toEqual([
      { path: "nodes.2.next", message: "This makes a loop: a → b → c → a; a workflow must not come back to a node" },
    ]);
  });

  it("reports a node that leads to itself", () => {
    const nodes = chain("a");
    nodes[0]!.next = "a";
    expect(paths(base(nodes))).toEqual(["nodes.0.next"]);
  });

  it("reports unreachable nodes", () => {
    const nodes = [...chain("a", "b"), ...chain("x")];
    expect(issuesOf(base(nodes))).toEqual([{ path: "nodes.2", message: 'Node "x" cannot be reached from the start node' }]);
  });

  it("accepts branches that join again", () => {
    const nodes = [
      { id: "a", type: "condition", config: { any: [{ left: "{{trigger.data.price}}", op: "gt", right: 10 }] }, then: "b", else: "c" },
      ...chain("b", "d"),
      { ...chain("c")[0], next: "d" },
    ];
    expect(issuesOf(base(nodes))).toEqual([]);
  });

  it("checks {{paths}}: roots, unknown steps, steps that run later, own output", () => {
    const nodes = [
      { id: "a", type: "wait", config: { until: { type: "interpolated", value: "{{steps.b.output.deadline}}" } }, next: "b" },
      { id: "b", type: "wait", config: { until: { type: "interpolated", value: "{{steps.b.output.x}}" } }, next: "c" },
      { id: "c", type: "wait", config: { until: { type: "interpolated", value: "{{steps.zz.output.x}}" } }, next: "d" },
      { id: "d", type: "wait", config: { until: { type: "interpolated", value: "{{secrets.DEMO}}" } }, next: "e" },
      { id: "e", type: "wait", config: { until: { type: "interpolated", value: "{{steps.a.output.ok}}" } } },
    ];
    expect(issuesOf(base(nodes))).toEqual([
      { path: "nodes.0.config.until.value", message: '"{{steps.b.output.deadline}}": "b" does not run before "a"' },
      { path: "nodes.1.config.until.value", message: '"{{steps.b.output.x}}": a node cannot use its own output' },
      { path: "nodes.2.config.until.value", message: '"{{steps.zz.output.x}}": no node has the id "zz"' },
      { path: "nodes.3.config.until.value", message: '"{{secrets.DEMO}}" must start with one of trigger, steps, workflow, run, now, today' },
    ]);
  });

  it("keeps trigger conditions to the trigger", () => {
    const def = base(chain("a"));
    (def as Record<string, unknown>).trigger = {
      entity: "product",
      conditions: { all: [{ left: "{{steps.a.output.x}}", op: "exists" }] },
    };
    expect(paths(def)).toEqual(["trigger.conditions.all.0.left"]);
  });
});
