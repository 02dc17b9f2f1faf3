/**
 * What the builder offers: node types, strategies, operators, entity fields, step outputs.
 * The lists are typed against the worker's schemas (import type only, so no zod in the bundle);
 * `every` makes the compiler fail when the worker adds a value the builder does not offer.
 */
import type { z } from "zod";
import type { NODE_MODULES, NodeType } from "../../../worker/actions";
import type { PlanKind } from "../../../worker/actions/plan-common";
import type { EventKind, TriggerEntity } from "../../../worker/definition/common";
import type { ConditionOp } from "../../../worker/definition/conditions";
import type { DefinitionInput } from "../../../worker/definition/schema";
import type { EntityKind } from "../api";

/** Accepts a list only when it names every member of the union T. */
const every =
  <T>() =>
  <const A extends readonly T[]>(list: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> })): A =>
    list;

type NodeModuleOf<T extends NodeType> = Extract<(typeof NODE_MODULES)[number], { type: T }>;
/** A node type's config as a client writes it (defaults not applied), from the action's own schema. */
export type ConfigOf<T extends NodeType> = z.input<NodeModuleOf<T>["configSchema"]>;
type NodeCommon = Omit<DefinitionInput["nodes"][number], "type" | "config">;
/** A node, discriminated by type (the schema's union is not, as it is built from the registry). */
export type NodeInput = { [T in NodeType]: NodeCommon & { type: T; config: ConfigOf<T> } }[NodeType];
export type NodeOf<T extends NodeType> = Extract<NodeInput, { type: T }>;
export type TriggerInput = DefinitionInput["trigger"];
export type { NodeType };

export const TRIGGER_ENTITIES = every<TriggerEntity>()(["inventory_item", "product", "product_variant", "brand", "customer", "subscription"]);
export const EVENT_KINDS = every<EventKind>()(["created", "updated", "deleted"]);
export const PLAN_KINDS = every<PlanKind>()(["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"]);
export const CONDITION_OPS = every<ConditionOp>()(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains", "exists", "not_exists"]);
export const NODE_TYPES = every<NodeType>()(["create_or_get_plan", "add_items_to_plan", "call_webhook", "send_email", "condition", "wait"]);

export const OP_LABELS: Record<ConditionOp, string> = {
  eq: "equals",
  ne: "does not equal",
  lt: "is less than",
  lte: "is at most",
  gt: "is greater than",
  gte: "is at least",
  in: "is one of",
  not_in: "is none of",
  contains: "contains",
  not_contains: "does not contain",
  exists: "exists",
  not_exists: "does not exist",
};
export const UNARY_OPS: readonly ConditionOp[] = ["exists", "not_exists"];
export const LIST_OPS: readonly ConditionOp[] = ["in", "not_in"];

export const NODE_LABELS: Record<NodeType, string> = {
  create_or_get_plan: "Create or get plan",
  add_items_to_plan: "Add items to plan",
  call_webhook: "Call webhook",
  send_email: "Send email",
  condition: "Condition",
  wait: "Wait",
};

export const NODE_HINTS: Record<NodeType, string> = {
  create_or_get_plan: "Reuse the open plan with this kind and name, or start one",
  add_items_to_plan: "Pick inventory items and add them with a quantity strategy",
  call_webhook: "Send an HTTP request to another system",
  send_email: "Email people, with values from the run",
  condition: "Split the flow: one branch when true, one when false",
  wait: "Pause the run for a while or until a date",
};

/** The id a new node of each type gets (a number is added when taken). */
export const NODE_ID_BASE: Record<NodeType, string> = {
  create_or_get_plan: "plan",
  add_items_to_plan: "items",
  call_webhook: "webhook",
  send_email: "email",
  condition: "check",
  wait: "wait",
};

/** What `steps.<id>.output` holds after a node of each type (SPEC §9). */
export const NODE_OUTPUTS: Record<NodeType, readonly string[]> = {
  create_or_get_plan: ["plan_id", "created", "kind", "name", "deadline"],
  add_items_to_plan: ["plan_id", "added", "updated", "skipped", "total_quantity"],
  call_webhook: ["status", "headers", "body"],
  send_email: ["message_id", "to", "subject"],
  condition: [],
  wait: [],
};

export const ENTITY_FIELDS: Record<EntityKind, readonly string[]> = {
  shop: ["name", "kind", "region"],
  brand: ["name"],
  product: ["brand_id", "name", "category", "supplier_id", "price", "cost"],
  product_variant: ["product_id", "size", "sku", "price", "cost"],
  inventory_item: ["variant_id", "shop_id", "on_hand", "on_order", "target"],
  recommendation: ["inventory_item_id", "score", "quantity", "discount_percent"],
  customer: ["email", "name"],
  subscription: ["customer_id", "variant_id", "status", "channel"],
};

export const ENTITY_LABELS: Record<EntityKind, string> = {
  shop: "Shop",
  brand: "Brand",
  product: "Product",
  product_variant: "Product variant",
  inventory_item: "Inventory item",
  recommendation: "Recommendation",
  customer: "Customer",
  subscription: "Subscription",
};

export const humanize = (s: string) => s.replaceAll("_", " ");
/** "an inventory item", "a product". */
export const withArticle = (s: string) => `${/^[aeiou]/i.test(s) ? "an" : "a"} ${humanize(s)}`;

/** A fresh config for a node type: required fields present (maybe empty), so forms have something to bind. */
export function defaultNode(type: NodeType, id: string, ctx: { planStepId?: string | undefined }): NodeInput {
  switch (type) {
    case "create_or_get_plan":
      return { id, type, config: { kind: "restock", name: "Restock {{today}}", shops: { mode: "all", ids: [] }, deadline: { type: "relative", days: 7 } } };
    case "add_items_to_plan":
      return {
        id,
        type,
        config: {
          plan: ctx.planStepId ? `{{steps.${ctx.planStepId}.output.plan_id}}` : "",
          filter: { entity: "inventory_item", from_trigger: true, ids: [], tags: { include: [], exclude: [], match: "any" } },
          shops: { mode: "all", ids: [] },
          sizes: { mode: "all" },
          quantity: { strategy: "fill_to_target" },
        },
      };
    case "call_webhook":
      return { id, type, config: { method: "POST", url: "", headers: {}, query: {}, body_type: "json", body: {}, auth: { type: "none" } } };
    case "send_email":
      return { id, type, config: { to: [], subject: "", format: "text", body: "" } };
    case "condition":
      return { id, type, config: { all: [{ left: "", op: "eq", right: "" }] } };
    case "wait":
      return { id, type, config: { duration: { hours: 1 } } };
  }
}
