/**
 * What the builder offers: trigger entities, event kinds, plan kinds, operators, entity fields,
 * and the statuses the lists filter by. The lists are typed against the worker's contract (import
 * type only, so no zod in the bundle); `every` makes the compiler fail when the worker adds a
 * value the UI does not offer. Node types are one module each in `../nodes/` (the registry there
 * is checked the same way).
 */
import type {
  ConditionOp,
  EntityKind,
  EventKind,
  NodeConfigInput,
  NodeInput,
  NodeType,
  PlanKind,
  PlanStatus,
  RunStatus,
  TriggerEntity,
  TriggerInput,
  WorkflowStatus,
} from "../../../worker/contract";

/** Accepts a list only when it names every member of the union T. */
const every =
  <T>() =>
  <const A extends readonly T[]>(list: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> })): A =>
    list;

/** A node type's config as a client writes it (defaults not applied), from the worker module's schema. */
export type ConfigOf<T extends NodeType> = NodeConfigInput<T>;
export type { NodeInput, NodeType, TriggerInput };

export const TRIGGER_ENTITIES = every<TriggerEntity>()(["inventory_item", "product", "product_variant", "brand", "customer", "subscription"]);
export const EVENT_KINDS = every<EventKind>()(["created", "updated", "deleted"]);
export const PLAN_KINDS = every<PlanKind>()(["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"]);
export const CONDITION_OPS = every<ConditionOp>()(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains", "exists", "not_exists"]);
export const WORKFLOW_STATUSES = every<WorkflowStatus>()(["draft", "active", "paused", "archived"]);
export const RUN_STATUSES = every<RunStatus>()(["pending", "running", "completed", "failed", "cancelled"]);
export const PLAN_STATUSES = every<PlanStatus>()(["draft", "open", "closed"]);

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
