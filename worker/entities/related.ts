import type { EntityKind } from "./registry";

/*
 * Related entities (SPEC §11): the mirrored snapshots a trigger's entity points to, which a run
 * sees as `trigger.related.<kind>`. Pure description; worker/entities/related-read.ts reads them.
 *
 * Each link names the entity it leads to and where its id comes from: a field of the trigger's
 * entity, or a typed column of an entity reached before (listed earlier), so that one statement
 * with a join per link reads them all.
 */

export interface RelatedLink {
  kind: EntityKind;
  /** `trigger`: the id is a field of the trigger's data; else the kind whose column holds it. */
  from: "trigger" | EntityKind;
  /** The field (or column of the same name) holding the id. */
  field: string;
}

const variantChain = [
  { kind: "product_variant", from: "trigger", field: "variant_id" },
  { kind: "product", from: "product_variant", field: "product_id" },
  { kind: "brand", from: "product", field: "brand_id" },
] as const satisfies readonly RelatedLink[];

export const RELATED_LINKS = {
  inventory_item: [...variantChain, { kind: "shop", from: "trigger", field: "shop_id" }],
  product_variant: [
    { kind: "product", from: "trigger", field: "product_id" },
    { kind: "brand", from: "product", field: "brand_id" },
  ],
  product: [{ kind: "brand", from: "trigger", field: "brand_id" }],
  // A subscription without a shop waits in every shop: it has no related shop.
  subscription: [{ kind: "customer", from: "trigger", field: "customer_id" }, ...variantChain, { kind: "shop", from: "trigger", field: "shop_id" }],
  order: [{ kind: "customer", from: "trigger", field: "customer_id" }],
  brand: [],
  shop: [],
  customer: [],
  recommendation: [],
} as const satisfies Record<EntityKind, readonly RelatedLink[]>;

/** The kinds `trigger.related` may hold for a trigger on `kind`, in link order. */
export type RelatedKind<K extends EntityKind> = (typeof RELATED_LINKS)[K][number]["kind"];

export function relatedKinds(kind: EntityKind): EntityKind[] {
  return RELATED_LINKS[kind].map((l) => l.kind);
}

/**
 * A related snapshot larger than this (UTF-8 JSON) is left out of the run. With at most five per
 * run, the trigger (data and previous, 256 KiB each) and its related entities stay far below
 * the 2 MB a Durable Object value holds, and a batch of 100 events reads at most ~32 MB.
 */
export const MAX_RELATED_BYTES = 64 * 1024;
