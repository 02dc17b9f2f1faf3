/**
 * Fixtures of the run state machine's tests (test/unit/run-machine*.test.ts): a fixed clock, a
 * webhook node, a parsed definition, and `advance` with the real node catalog.
 */
import { DefinitionSchema, type Definition } from "../../worker/contract/definition";
import { advance, type Clock, type Effect, type RunEvent } from "../../worker/engine/run-machine";
import { initialState, type RunState } from "../../worker/engine/run-state";
import type { NodeCatalog } from "../../worker/engine/step";
import { NODE_CATALOG } from "../../worker/nodes";

export const T0 = Date.parse("2026-11-22T10:00:00.000Z");
export const clock = (ms = T0, random = 0.5): Clock => ({ now: new Date(ms), random: () => random });

export const hook = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "call_webhook",
  config: { url: "https://erp.example.com/hook", body: { sku: "{{trigger.data.sku}}" } },
  ...extra,
});

export function definition(nodes: unknown[], start = (nodes[0] as { id: string }).id): Definition {
  return DefinitionSchema.parse({ name: "Test flow", trigger: { entity: "inventory_item" }, start, nodes });
}

export function begin(def: Definition, data: Record<string, unknown> = { id: "inv_1", sku: "SKU-1", on_hand: 2, tags: ["a"] }, catalog: NodeCatalog = NODE_CATALOG) {
  const state = initialState({
    id: "run_1",
    workflow_id: "wf_1",
    workflow_version: 3,
    definition: def,
    test: false,
    now: new Date(T0),
    catalog,
    trigger: {
      id: "evt_1",
      type: "inventory_item.updated",
      entity: "inventory_item",
      entity_id: "inv_1",
      occurred_at: "2026-11-22T09:59:00.000Z",
      data,
      previous: { id: "inv_1", on_hand: 0 },
    },
  });
  return step(state, def, { type: "start" }, clock(), catalog);
}

export function step(state: RunState, def: Definition, event: RunEvent, c: Clock = clock(), catalog: NodeCatalog = NODE_CATALOG) {
  return advance(state, def, event, c, catalog);
}

export const executes = (effects: Effect[]) => effects.filter((e) => e.type === "execute") as Extract<Effect, { type: "execute" }>[];
export const status = (s: RunState) => Object.fromEntries(s.steps.map((st) => [st.node_id, st.status]));
export const ok = (output: unknown = { status: 200 }) => ({ ok: true as const, output });
