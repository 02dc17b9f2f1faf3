/**
 * What the builder offers: trigger entities, event kinds, plan kinds, operators, entity fields,
 * and the statuses the lists filter by. The lists are typed against the worker's contract (import
 * type only, so no zod in the bundle); `every` makes the compiler fail when the worker adds a
 * value the UI does not offer. Node types are one module each in `../nodes/` (the registry there
 * is checked the same way).
 */
import type {
  ConditionOp,
  EntityFieldName,
  EntityKind,
  EventKind,
  NodeConfigInput,
  NodeInput,
  NodeType,
  PlanKind,
  PlanStatus,
  RelatedKind,
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

export const TRIGGER_ENTITIES = every<TriggerEntity>()(["inventory_item", "product", "product_variant", "brand", "customer", "subscription", "order"]);
export const EVENT_KINDS = every<EventKind>()(["created", "updated", "deleted"]);
export const PLAN_KINDS = every<PlanKind>()(["restock", "rebalance", "markdown", "supplier_return", "supplier_exchange"]);
export const CONDITION_OPS = every<ConditionOp>()(["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains", "exists", "not_exists"]);
export const WORKFLOW_STATUSES = every<WorkflowStatus>()(["draft", "active", "paused", "archived"]);
export const RUN_STATUSES = every<RunStatus>()(["pending", "running", "completed", "failed", "cancelled"]);
export const PLAN_STATUSES = every<PlanStatus>()(["draft", "open", "approved", "closed", "cancelled"]);

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

/** Each kind's fields besides id and tags (SPEC §5, §12): exactly the worker's, checked by the compiler. */
export const ENTITY_FIELDS: { readonly [K in EntityKind]: readonly EntityFieldName<K>[] } = {
  shop: every<EntityFieldName<"shop">>()(["name", "kind", "region"]),
  brand: every<EntityFieldName<"brand">>()(["name"]),
  product: every<EntityFieldName<"product">>()(["brand_id", "name", "category", "supplier_id", "price", "cost"]),
  product_variant: every<EntityFieldName<"product_variant">>()(["product_id", "size", "sku", "price", "cost"]),
  inventory_item: every<EntityFieldName<"inventory_item">>()(["variant_id", "shop_id", "on_hand", "on_order", "target"]),
  recommendation: every<EntityFieldName<"recommendation">>()(["inventory_item_id", "score", "quantity", "discount_percent"]),
  customer: every<EntityFieldName<"customer">>()(["email", "name", "phone", "accepts_marketing", "push_subscriptions"]),
  subscription: every<EntityFieldName<"subscription">>()(["customer_id", "variant_id", "shop_id", "status", "channel", "created_at", "notified_at"]),
  order: every<EntityFieldName<"order">>()(["customer_id", "lines", "total", "created_at"]),
};

/** What `trigger.related` holds for a trigger on each entity (SPEC §11), in the worker's order. */
export const RELATED_KINDS: { readonly [K in TriggerEntity]: readonly RelatedKind<K>[] } = {
  inventory_item: every<RelatedKind<"inventory_item">>()(["product_variant", "product", "brand", "shop"]),
  product_variant: every<RelatedKind<"product_variant">>()(["product", "brand"]),
  product: every<RelatedKind<"product">>()(["brand"]),
  brand: [],
  customer: [],
  subscription: every<RelatedKind<"subscription">>()(["customer", "product_variant", "product", "brand", "shop"]),
  order: every<RelatedKind<"order">>()(["customer"]),
};

export const humanize = (s: string) => s.replaceAll("_", " ");
/** "an inventory item", "a product". */
export const withArticle = (s: string) => `${/^[aeiou]/i.test(s) ? "an" : "a"} ${humanize(s)}`;
