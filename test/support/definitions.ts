/** Definitions the tests build on; each test changes what it needs. */
export function restockDefinition(overrides: Record<string, unknown> = {}) {
  return {
    name: "Restock low sneakers",
    trigger: {
      entity: "inventory_item",
      events: ["created", "updated"],
      tags: { include: ["sneakers"], exclude: ["discontinued"], match: "any" },
      conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] },
    },
    start: "plan",
    nodes: [
      {
        id: "plan",
        type: "create_or_get_plan",
        config: { kind: "restock", name: "Restock {{today}}", deadline: { type: "relative", days: 7 } },
        next: "items",
      },
      {
        id: "items",
        type: "add_items_to_plan",
        config: {
          plan: "{{steps.plan.output.plan_id}}",
          filter: { entity: "inventory_item", from_trigger: true },
          quantity: { strategy: "fill_to_target" },
        },
        next: "notify",
        retry: { max_attempts: 5, backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 300000 },
        timeout_ms: 30000,
        on_error: "fail",
      },
      {
        id: "notify",
        type: "call_webhook",
        config: {
          method: "POST",
          url: "https://erp.example.com/restock",
          body: { plan: "{{steps.plan.output.plan_id}}", added: "{{steps.items.output.added}}" },
          auth: { type: "bearer", credential: "DEMO_ERP" },
        },
      },
    ],
    ...overrides,
  };
}
