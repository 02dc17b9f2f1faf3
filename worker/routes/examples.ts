/*
 * Examples of the main request bodies, shown by the API reference (/api/docs) and sent by its
 * "Try it". test/worker/openapi.test.ts sends each one and expects it accepted, so an example
 * that drifts from the contract fails a test instead of misleading a reader.
 */

/** OpenAPI's Example Object map: a name, a one-line summary, the value. */
type Examples = Record<string, { summary: string; value: unknown }>;

const item = {
  id: "inv_42",
  variant_id: "var_7",
  shop_id: "shop_1",
  on_hand: 2,
  on_order: 0,
  target: 10,
  tags: ["sneakers"],
};

export const eventExamples: Examples = {
  one: {
    summary: "One event: a size runs low in a shop",
    value: { id: "evt_01JD8X", type: "inventory_item.updated", entity_id: "inv_42", occurred_at: "2026-11-22T10:00:00Z", data: item },
  },
  batch: {
    summary: "A batch (up to 500)",
    value: {
      events: [
        { id: "evt_01JD8Y", type: "inventory_item.updated", entity_id: "inv_42", occurred_at: "2026-11-22T10:00:00Z", data: item },
        { id: "evt_01JD8Z", type: "product.updated", entity_id: "prod_9", occurred_at: "2026-11-22T10:00:01Z", data: { id: "prod_9", brand_id: "brand_1", name: "Runner 2", price: 120, cost: 55, tags: ["aw26", "end-of-season"] } },
      ],
    },
  },
};

export const definitionExamples: Examples = {
  restock: {
    summary: "Restock low sneakers: a plan line per low size, filled to target",
    value: {
      name: "Restock low sneakers",
      description: "When a sneaker size runs low in a shop, fill it up to target on today's restock plan.",
      trigger: {
        entity: "inventory_item",
        events: ["created", "updated"],
        tags: { include: ["sneakers"], match: "any" },
        conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 3 }] },
      },
      start: "plan",
      nodes: [
        {
          id: "plan",
          name: "Today's restock plan",
          type: "create_or_get_plan",
          config: { kind: "restock", name: "Sneaker restock {{today}}", deadline: { type: "relative", days: 2 } },
          next: "items",
        },
        {
          id: "items",
          name: "The low size, in this shop",
          type: "add_items_to_plan",
          config: {
            plan: "{{steps.plan.output.plan_id}}",
            filter: { entity: "inventory_item", from_trigger: true },
            quantity: { strategy: "fill_to_target" },
          },
        },
      ],
    },
  },
};

export const previewExamples: Examples = {
  event: {
    summary: "An event given by hand (nothing is read from the mirror but its related entities)",
    value: { event: { type: "inventory_item.updated", entity_id: "inv_42", data: item } },
  },
  entity: { summary: "A mirrored entity, seen as an updated event", value: { entity: "inventory_item", entity_id: "inv_42" } },
  matching_now: { summary: "Everything that matches the trigger now (the impact summed)", value: { matching_now: true, limit: 100 } },
};
