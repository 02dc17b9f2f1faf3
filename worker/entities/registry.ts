import { z } from "zod";
import { PushSubscriptionSchema } from "../lib/web-push";

/**
 * The entity kinds the engine mirrors (SPEC §5): for each, the zod schema of one snapshot and the
 * typed columns its table keeps beside the snapshot. A field and its column share one name, so
 * SQL can read a field from JSON (`$.on_hand`) and write it to the column of the same name.
 */

export const ENTITY_KINDS = [
  "shop",
  "brand",
  "product",
  "product_variant",
  "inventory_item",
  "recommendation",
  "customer",
  "subscription",
  "order",
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];
export const EntityKindSchema = z.enum(ENTITY_KINDS);

export function isEntityKind(value: string): value is EntityKind {
  return (ENTITY_KINDS as readonly string[]).includes(value);
}

/**
 * Ids are opaque strings, but never hold control characters: plan line keys join ids with
 * U+0001 and rely on it sorting below every character an id may hold.
 */
export const EntityIdSchema = z
  .string()
  .min(1, "An id is at least 1 character")
  .max(200, "An id is at most 200 characters")
  .regex(/^[^\u0000-\u001f\u007f]+$/, "An id may not contain control characters");

/** One tag of an entity. */
export const TagSchema = z.string().min(1, "A tag is at least 1 character").max(100, "A tag is at most 100 characters");
export const MAX_TAGS = 100;
const TagListSchema = z
  .array(TagSchema)
  .max(MAX_TAGS, `At most ${MAX_TAGS} tags`)
  .transform((tags) => [...new Set(tags)]);
const TagsSchema = TagListSchema.default([]);

const Text = (max: number) => z.string().min(1).max(max);
const Money = z.number().min(0).max(1e12);
const Count = z.int().min(0).max(1e9);

/** Fields every entity has; further attributes pass through into `data`. */
const base = { id: EntityIdSchema, tags: TagsSchema };

export const SUBSCRIPTION_STATUSES = ["pending", "delivered", "engaged", "converted", "completed", "cancelled"] as const;

/**
 * A moment, as ISO 8601 with an offset; kept as UTC with milliseconds (toISOString) so that
 * times of any offset order as text in the mirror's columns and indexes (oldest subscription first).
 */
const Instant = z.iso
  .datetime({ offset: true, message: "Use an ISO 8601 timestamp, e.g. 2026-11-22T10:00:00Z" })
  .transform((t) => new Date(t).toISOString());

export const MAX_PUSH_SUBSCRIPTIONS = 20;
export const MAX_ORDER_LINES = 500;

const OrderLineSchema = z.looseObject({
  variant_id: EntityIdSchema,
  quantity: z.int().min(1, "A line orders at least 1 unit").max(1e6),
  /** The price of one unit. */
  price: Money,
});

const SCHEMAS = {
  shop: z.looseObject({
    ...base,
    name: Text(500),
    kind: z.enum(["store", "warehouse", "online"]),
    region: Text(200).nullish(),
  }),
  brand: z.looseObject({ ...base, name: Text(500) }),
  product: z.looseObject({
    ...base,
    brand_id: EntityIdSchema,
    name: Text(500),
    category: Text(200).nullish(),
    supplier_id: EntityIdSchema.nullish(),
    price: Money,
    cost: Money,
  }),
  product_variant: z.looseObject({
    ...base,
    product_id: EntityIdSchema,
    size: Text(50),
    sku: Text(200).nullish(),
    /** Absent: the product's price and cost apply. */
    price: Money.nullish(),
    cost: Money.nullish(),
  }),
  inventory_item: z.looseObject({
    ...base,
    variant_id: EntityIdSchema,
    shop_id: EntityIdSchema,
    /** May be negative: an oversold item. */
    on_hand: z.int().min(-1e9).max(1e9),
    on_order: Count,
    target: Count,
  }),
  recommendation: z.looseObject({
    ...base,
    inventory_item_id: EntityIdSchema,
    score: z.number().min(0).max(1),
    quantity: Count.nullish(),
    discount_percent: z.number().min(0).max(100).nullish(),
  }),
  customer: z.looseObject({
    ...base,
    email: z.email("Not an email address").max(320),
    name: Text(500).nullish(),
    phone: z
      .string()
      .regex(/^\+?[0-9][0-9 ().-]{2,31}$/, "A phone number is digits, optionally with +, spaces, dots, dashes and brackets (at most 32 characters)")
      .nullish(),
    accepts_marketing: z.boolean().default(true),
    /** The customer's browsers (Web Push); a push service's 404 or 410 removes one. */
    push_subscriptions: z.array(PushSubscriptionSchema).max(MAX_PUSH_SUBSCRIPTIONS, `At most ${MAX_PUSH_SUBSCRIPTIONS} push subscriptions per customer`).default([]),
  }),
  subscription: z.looseObject({
    ...base,
    customer_id: EntityIdSchema,
    variant_id: EntityIdSchema,
    /** Absent: the customer waits for the variant in any shop. */
    shop_id: EntityIdSchema.nullish(),
    status: z.enum(SUBSCRIPTION_STATUSES),
    channel: z.enum(["email", "push"]),
    created_at: Instant,
    notified_at: Instant.nullish(),
  }),
  order: z.looseObject({
    ...base,
    customer_id: EntityIdSchema,
    lines: z
      .array(OrderLineSchema)
      .min(1, "An order has at least one line")
      .max(MAX_ORDER_LINES, `An order has at most ${MAX_ORDER_LINES} lines`),
    total: Money,
    created_at: Instant,
  }),
} satisfies Record<EntityKind, z.ZodType>;

/**
 * The fields of each kind (SPEC §5, §12) besides `id` and `tags`: what the builder offers and
 * what a `{{trigger.data.<field>}}` is checked against. Further attributes may still be there.
 */
export type EntityFieldName<K extends EntityKind> = Exclude<keyof (typeof SCHEMAS)[K]["shape"], "id" | "tags"> & string;
export type EntityFieldLists = { readonly [K in EntityKind]: readonly EntityFieldName<K>[] };
// Read from the schemas' shapes, so the list cannot drift from them (Object.fromEntries loses the
// key types the declared type restores; test/unit/checked-variables.test.ts pins the lists).
export const ENTITY_FIELDS = Object.fromEntries(
  ENTITY_KINDS.map((kind) => [kind, Object.keys(SCHEMAS[kind].shape).filter((f) => f !== "id" && f !== "tags")]),
) as unknown as EntityFieldLists;

export type EntitySnapshot = { id: string; tags: string[] } & Record<string, unknown>;

export interface Column {
  /** The column and the snapshot field it copies. */
  name: string;
  type: "text" | "real" | "integer";
  /** Part of a secondary index: changing it costs an index write. */
  indexed: boolean;
  /** Required on a live snapshot (the column is NOT NULL). */
  required: boolean;
}

export interface EntityKindSpec {
  kind: EntityKind;
  table: string;
  columns: readonly Column[];
  /** Columns besides `id` that `?q=` searches. */
  search: readonly string[];
}

const col = (name: string, type: Column["type"], opts: { indexed?: boolean; required?: boolean } = {}): Column => ({
  name,
  type,
  indexed: opts.indexed ?? false,
  required: opts.required ?? true,
});

/** Must match the tables and indexes of worker/db/schema.ts. */
const SPECS: Record<EntityKind, EntityKindSpec> = {
  shop: {
    kind: "shop",
    table: "shops",
    columns: [col("name", "text"), col("kind", "text"), col("region", "text", { required: false })],
    search: ["name"],
  },
  brand: { kind: "brand", table: "brands", columns: [col("name", "text")], search: ["name"] },
  product: {
    kind: "product",
    table: "products",
    columns: [
      col("brand_id", "text", { indexed: true }),
      col("name", "text"),
      col("category", "text", { required: false }),
      col("supplier_id", "text", { required: false }),
      col("price", "real"),
      col("cost", "real"),
    ],
    search: ["name"],
  },
  product_variant: {
    kind: "product_variant",
    table: "product_variants",
    columns: [
      col("product_id", "text", { indexed: true }),
      col("size", "text"),
      col("sku", "text", { required: false }),
      col("price", "real", { required: false }),
      col("cost", "real", { required: false }),
    ],
    search: ["sku"],
  },
  inventory_item: {
    kind: "inventory_item",
    table: "inventory_items",
    columns: [
      col("variant_id", "text", { indexed: true }),
      col("shop_id", "text", { indexed: true }),
      col("on_hand", "integer"),
      col("on_order", "integer"),
      col("target", "integer"),
    ],
    search: [],
  },
  recommendation: {
    kind: "recommendation",
    table: "recommendations",
    columns: [
      col("inventory_item_id", "text", { indexed: true }),
      col("score", "real", { indexed: true }),
      col("quantity", "integer", { required: false }),
      col("discount_percent", "real", { required: false }),
    ],
    search: [],
  },
  customer: {
    kind: "customer",
    table: "customers",
    columns: [col("email", "text"), col("name", "text", { required: false })],
    search: ["name", "email"],
  },
  subscription: {
    kind: "subscription",
    table: "subscriptions",
    // (variant_id, status, created_at): a variant's pending subscriptions, oldest first (waves) and
    // its counts per status (summary); (customer_id): a customer's subscriptions (conversion).
    columns: [
      col("customer_id", "text", { indexed: true }),
      col("variant_id", "text", { indexed: true }),
      col("shop_id", "text", { required: false }),
      col("status", "text", { indexed: true }),
      col("channel", "text"),
      col("created_at", "text", { indexed: true }),
      col("notified_at", "text", { required: false }),
    ],
    search: [],
  },
  order: {
    kind: "order",
    table: "orders",
    // (customer_id, created_at): a customer's orders, newest last; (created_at): orders by time.
    columns: [col("customer_id", "text", { indexed: true }), col("total", "real"), col("created_at", "text", { indexed: true })],
    search: ["customer_id"],
  },
};

export function entitySpec(kind: EntityKind): EntityKindSpec {
  return SPECS[kind];
}

/** Validates one snapshot (used to validate `event.data` at intake and every row of a bulk upsert). */
export function entitySchema(kind: EntityKind): z.ZodType<EntitySnapshot> {
  const schema: z.ZodType<EntitySnapshot> = SCHEMAS[kind];
  return schema;
}

/**
 * A deleted entity's event may carry only its id: the fields it does carry must still be valid,
 * the others keep the values the mirror holds.
 */
const deletedSchemas = new Map<EntityKind, z.ZodType<DeletedSnapshot>>();
export type DeletedSnapshot = Partial<EntitySnapshot> & { id: string };

export function deletedEntitySchema(kind: EntityKind): z.ZodType<DeletedSnapshot> {
  let schema = deletedSchemas.get(kind);
  if (!schema) {
    // No defaults here: a field the event leaves out keeps the value the mirror holds.
    schema = SCHEMAS[kind].partial().extend({ id: EntityIdSchema, tags: TagListSchema.optional() });
    deletedSchemas.set(kind, schema);
  }
  return schema;
}
