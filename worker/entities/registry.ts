import { z } from "zod";

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

const TagListSchema = z
  .array(z.string().min(1, "A tag is at least 1 character").max(100, "A tag is at most 100 characters"))
  .max(100, "At most 100 tags")
  .transform((tags) => [...new Set(tags)]);
const TagsSchema = TagListSchema.default([]);

const Text = (max: number) => z.string().min(1).max(max);
const Money = z.number().min(0).max(1e12);
const Count = z.int().min(0).max(1e9);

/** Fields every entity has; further attributes pass through into `data`. */
const base = { id: EntityIdSchema, tags: TagsSchema };

export const SUBSCRIPTION_STATUSES = ["pending", "delivered", "engaged", "converted", "completed", "cancelled"] as const;

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
  customer: z.looseObject({ ...base, email: z.email("Not an email address"), name: Text(500).nullish() }),
  subscription: z.looseObject({
    ...base,
    customer_id: EntityIdSchema,
    variant_id: EntityIdSchema,
    status: z.enum(SUBSCRIPTION_STATUSES),
    channel: z.enum(["email", "push"]),
  }),
} satisfies Record<EntityKind, z.ZodType>;

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
    columns: [
      col("customer_id", "text", { indexed: true }),
      col("variant_id", "text", { indexed: true }),
      col("status", "text"),
      col("channel", "text"),
    ],
    search: [],
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
