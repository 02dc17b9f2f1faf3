/**
 * What the builder offers: trigger entities, event kinds, plan kinds, operators, entity fields.
 * The lists are typed against the worker's schemas (import type only, so no zod in the bundle);
 * `every` makes the compiler fail when the worker adds a value the builder does not offer.
 * Node types are one module each in `../nodes/` (the registry there is checked the same way).
 */
import type { z } from "zod";
import type { NODE_MODULES, NodeType } from "../../../worker/nodes";
import type { PlanKind } from "../../../worker/planning/plan";
import type { EventKind, TriggerEntity } from "../../../worker/definition/common";
import type { ConditionOp } from "../../../worker/definition/conditions";
import type { DefinitionInput } from "../../../worker/contract/definition";
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
export type TriggerInput = DefinitionInput["trigger"];
export type { NodeType };

export const TRIGGER_ENTITIES = every<TriggerEntity>()(["inventory_item", "product", "product_variant", "brand", "customer", "subscription"]);
export const EVENT_KINDS = every<EventKind>()(["created", "updated", "deleted"]);
export const PLAN_KINDS = every<PlanKind>()(["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"]);
export const CONDITION_OPS = every<ConditionOp>()(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains", "exists", "not_exists"]);

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

export const humanize = (s: string) => s.replaceAll("_", " ");
/** "an inventory item", "a product". */
export const withArticle = (s: string) => `${/^[aeiou]/i.test(s) ? "an" : "a"} ${humanize(s)}`;
