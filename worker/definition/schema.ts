import { z } from "zod";
import { NODE_MODULES } from "../actions";
import { condition } from "../actions/condition";
import { NodeIdSchema, RetryPolicySchema, TagFilterSchema, TriggerEntitySchema, EventKindSchema } from "./common";
import { ConditionGroupSchema } from "./conditions";

export const TriggerSchema = z.strictObject({
  entity: TriggerEntitySchema,
  events: z.array(EventKindSchema).min(1, "Pick at least one event kind").default(["created", "updated"]),
  tags: TagFilterSchema.default({ include: [], exclude: [], match: "any" }),
  conditions: ConditionGroupSchema.optional(),
  /**
   * An event older than the entity snapshot the mirror already holds (it arrived out of order):
   * "skip" starts no run and lists it under GET /api/events/stale; "run" starts one that sees the
   * event's own data and no `previous`.
   */
  stale_events: z.enum(["skip", "run"]).default("skip").describe("What an event older than the snapshot already held does"),
});
export type Trigger = z.infer<typeof TriggerSchema>;

const Meta = z.record(z.string(), z.unknown()).optional().describe("Free-form data the builder keeps");

/** What every node carries besides its type and config. */
const nodeCommon = {
  id: NodeIdSchema,
  name: z.string().max(200).optional(),
  retry: RetryPolicySchema.optional(),
  timeout_ms: z.int().min(100).max(900_000).optional(),
  on_error: z.enum(["fail", "continue"]).default("fail"),
  meta: Meta,
};

const ConditionNodeSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal(condition.type),
  config: condition.configSchema,
  then: NodeIdSchema.optional(),
  else: NodeIdSchema.optional(),
});

const otherNodeSchemas = NODE_MODULES.filter((m) => m.type !== condition.type).map((m) =>
  z.strictObject({
    ...nodeCommon,
    type: z.literal(m.type),
    config: m.configSchema,
    next: NodeIdSchema.optional(),
  }),
);

export const NodeSchema = z.discriminatedUnion("type", [ConditionNodeSchema, ...otherNodeSchemas]);
export type WorkflowNode = z.infer<typeof NodeSchema>;

export const DefinitionSchema = z.strictObject({
  name: z.string().trim().min(1, "Give the workflow a name").max(200),
  description: z.string().max(5000).optional(),
  trigger: TriggerSchema,
  start: NodeIdSchema,
  nodes: z.array(NodeSchema).min(1, "Add at least one action").max(200),
  meta: Meta,
});
export type Definition = z.infer<typeof DefinitionSchema>;
/** A definition as a client may send it, before defaults are applied. */
export type DefinitionInput = z.input<typeof DefinitionSchema>;

/** The nodes a node may go to next, with the key that names each. */
export function successors(node: WorkflowNode): { key: "next" | "then" | "else"; id: string }[] {
  const out: { key: "next" | "then" | "else"; id: string }[] = [];
  if (node.type === "condition") {
    if (node.then) out.push({ key: "then", id: node.then });
    if (node.else) out.push({ key: "else", id: node.else });
  } else if (node.next) {
    out.push({ key: "next", id: node.next });
  }
  return out;
}
