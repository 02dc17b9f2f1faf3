import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/*
 * The D1 schema, one file. `npm run db:generate -- --name <verb_noun>` writes the next migration
 * with drizzle-kit, then declares the tables below WITHOUT ROWID, which drizzle cannot express: an
 * insert then writes one b-tree instead of two, and D1 bills rows written per b-tree. Secondary
 * indexes of a WITHOUT ROWID table carry the primary key, so `(variant_id, shop_id)` is ordered by
 * id too.
 */
export const WITHOUT_ROWID_TABLES = [
  "approvals",
  "brands",
  "conversions",
  "customers",
  "discount_codes",
  "discount_redemptions",
  "entity_tags",
  "event_log",
  "event_waits",
  "event_watches",
  "flow_stats",
  "inventory_items",
  "orders",
  "plan_items",
  "product_variants",
  "products",
  "recommendations",
  "refused_events",
  "restock_episodes",
  "runs",
  "shops",
  "stale_events",
  "subscriptions",
  "tracked_links",
  "trigger_index",
  "workflow_versions",
] as const;

const json = (name: string) => text(name, { mode: "json" });

// ---------------------------------------------------------------- workflows

export const workflows = sqliteTable(
  "workflows",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description"),
    status: text("status", { enum: ["draft", "active", "paused", "archived"] }).notNull(),
    /** The newest version; runs start on it while the workflow is active. */
    version: integer("version").notNull(),
    triggerEntity: text("trigger_entity").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** Why the engine paused the workflow itself (a daily cap, SPEC §14); null when a user did. */
    pausedReason: text("paused_reason"),
  },
  (t) => [index("workflows_status").on(t.status, t.id)],
);

export const workflowVersions = sqliteTable(
  "workflow_versions",
  {
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    definition: json("definition").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.version] })],
);

/**
 * Active triggers by entity and include tag ("*" when a trigger has no include tags), so the
 * consumer reads only candidate workflows for an event, never all of them.
 */
export const triggerIndex = sqliteTable(
  "trigger_index",
  {
    entity: text("entity").notNull(),
    tag: text("tag").notNull(),
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.entity, t.tag, t.workflowId] }), index("trigger_index_workflow").on(t.workflowId)],
);

// ---------------------------------------------------------------- runs

/**
 * The index of runs that lists and filters read; the run itself (steps, inputs, outputs, logs)
 * lives in its Durable Object. Keyed by start time so that lists page in time order without a
 * second index; `steps` maps node id to step status.
 */
export const runs = sqliteTable(
  "runs",
  {
    startedAt: integer("started_at").notNull(),
    id: text("id").notNull(),
    workflowId: text("workflow_id").notNull(),
    workflowVersion: integer("workflow_version").notNull(),
    status: text("status").notNull(),
    test: integer("test", { mode: "boolean" }).notNull(),
    eventId: text("event_id"),
    entity: text("entity"),
    entityId: text("entity_id"),
    finishedAt: integer("finished_at"),
    error: text("error"),
    summary: json("summary"),
    steps: json("steps"),
    /** The revision of the run state this row describes: an update with an older one is ignored. */
    rev: integer("rev").notNull().default(0),
    /** Why a pending run waits (SPEC §14): concurrency, throttle or debounce. */
    waitingFor: text("waiting_for"),
    /** The flow-control key's value for the run (SPEC §14), or null. */
    flowKey: text("flow_key"),
  },
  (t) => [primaryKey({ columns: [t.startedAt, t.id] }), index("runs_workflow").on(t.workflowId, t.startedAt)],
);

/**
 * The approvals inbox (SPEC §15): one row per approval step that asked for a decision, written by
 * its run object with the run's index row (worker/run/approvals.ts), so it follows the run's own
 * state: waiting, approved, rejected, cancelled or failed. `rev` orders writes as for `runs`.
 */
export const approvals = sqliteTable(
  "approvals",
  {
    runId: text("run_id").notNull(),
    nodeId: text("node_id").notNull(),
    workflowId: text("workflow_id").notNull(),
    workflowVersion: integer("workflow_version").notNull(),
    test: integer("test", { mode: "boolean" }).notNull(),
    status: text("status").notNull(),
    title: text("title").notNull(),
    message: text("message").notNull(),
    approvers: json("approvers").notNull(),
    requestedAt: integer("requested_at").notNull(),
    timeoutAt: integer("timeout_at").notNull(),
    onTimeout: text("on_timeout").notNull(),
    decidedBy: text("decided_by"),
    decidedAt: integer("decided_at"),
    comment: text("comment"),
    timedOut: integer("timed_out", { mode: "boolean" }).notNull().default(false),
    rev: integer("rev").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.nodeId] }), index("approvals_status").on(t.status, t.requestedAt), index("approvals_requested").on(t.requestedAt)],
);

/**
 * What the flow-control gate of one workflow and key did on one UTC day (SPEC §14): written by
 * the gate object with its absolute counts, so writing a day again is idempotent.
 */
export const flowStats = sqliteTable(
  "flow_stats",
  {
    workflowId: text("workflow_id").notNull(),
    day: text("day").notNull(),
    flowKey: text("flow_key").notNull(),
    started: integer("started").notNull().default(0),
    suppressed: integer("suppressed").notNull().default(0),
    delayed: integer("delayed").notNull().default(0),
    /** Runs held at the last write (a gauge, not a count of the day). */
    waiting: integer("waiting").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.day, t.flowKey] })],
);

/** Messages the consumer gave up on, kept for inspection and replay. */
export const deadEvents = sqliteTable("dead_events", {
  id: text("id").primaryKey(),
  eventId: text("event_id"),
  body: json("body").notNull(),
  attempts: integer("attempts").notNull(),
  deadAt: text("dead_at").notNull(),
  replayedAt: text("replayed_at"),
});

/**
 * Events the consumer found older than the snapshot the mirror already held (by occurred_at, then
 * event id): they start no run unless a workflow opts in. `skipped_workflows` lists (at most 100
 * of) the workflows they matched and did not start; `skipped_count` counts them all.
 */
export const staleEvents = sqliteTable(
  "stale_events",
  {
    eventId: text("event_id").primaryKey(),
    type: text("type").notNull(),
    entity: text("entity").notNull(),
    entityId: text("entity_id").notNull(),
    occurredAt: text("occurred_at").notNull(),
    heldEventId: text("held_event_id").notNull(),
    heldOccurredAt: text("held_occurred_at").notNull(),
    skippedWorkflows: json("skipped_workflows").notNull(),
    skippedCount: integer("skipped_count").notNull(),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [index("stale_events_recorded").on(t.recordedAt)],
);

/**
 * The last requests POST /api/events refused (worker/intake/refusals.ts keeps a few hundred): the
 * reason, and what a signed request named. The id is time-ordered, so it alone orders the list.
 */
export const refusedEvents = sqliteTable("refused_events", {
  id: text("id").primaryKey(),
  refusedAt: text("refused_at").notNull(),
  status: integer("status").notNull(),
  code: text("code").notNull(),
  reason: text("reason").notNull(),
  issues: json("issues").notNull(),
  webhookId: text("webhook_id"),
  signed: integer("signed", { mode: "boolean" }).notNull(),
  bodyBytes: integer("body_bytes").notNull(),
  eventCount: integer("event_count"),
  events: json("events").notNull(),
  excerpt: text("excerpt"),
});

// ---------------------------------------------------------------- event waits (SPEC §15)

/**
 * Steps waiting for an event (`wait_for_event`; worker/waits/): keyed by the value their match
 * pins (`key_path` in the event, `key_value` its key; both "" when none), so the consumer reads
 * only the waits an event can answer.
 */
export const eventWaits = sqliteTable(
  "event_waits",
  {
    eventType: text("event_type").notNull(),
    keyPath: text("key_path").notNull(),
    keyValue: text("key_value").notNull(),
    runId: text("run_id").notNull(),
    nodeId: text("node_id").notNull(),
    since: text("since").notNull(),
    until: text("until").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventType, t.keyPath, t.keyValue, t.runId, t.nodeId] })],
);

/** Every (event type, key path) a step ever waited with: the consumer logs these types' events. */
export const eventWatches = sqliteTable(
  "event_watches",
  {
    eventType: text("event_type").notNull(),
    keyPath: text("key_path").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventType, t.keyPath] })],
);

/** The last hour of events of watched types: the look-back of a wait registered meanwhile. */
export const eventLog = sqliteTable(
  "event_log",
  {
    eventType: text("event_type").notNull(),
    occurredAt: text("occurred_at").notNull(),
    eventId: text("event_id").notNull(),
    event: text("event").notNull(),
    loggedAt: text("logged_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventType, t.occurredAt, t.eventId] })],
);

// ---------------------------------------------------------------- entities (SPEC §5)

/**
 * Columns every mirrored entity has. `data` is the whole snapshot as the platform sent it
 * (further attributes included), `previous` the snapshot it replaced. (`occurred_at`,
 * `event_id`) orders snapshots: an older one never overwrites a newer one. The typed columns
 * beside them copy the snapshot's fields that filters and joins use; worker/entities/registry.ts
 * maps each field to its column, and only the columns listed in an index cost a second write.
 */
const entityColumns = {
  id: text("id").primaryKey(),
  tags: json("tags").notNull().default(sql`'[]'`),
  data: json("data").notNull(),
  previous: json("previous"),
  occurredAt: text("occurred_at").notNull(),
  eventId: text("event_id").notNull().default(""),
  deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
  updatedAt: text("updated_at").notNull(),
};

export const shops = sqliteTable("shops", {
  ...entityColumns,
  name: text("name").notNull(),
  kind: text("kind").notNull(),
  region: text("region"),
});

export const brands = sqliteTable("brands", { ...entityColumns, name: text("name").notNull() });

export const products = sqliteTable(
  "products",
  {
    ...entityColumns,
    brandId: text("brand_id").notNull(),
    name: text("name").notNull(),
    category: text("category"),
    supplierId: text("supplier_id"),
    price: real("price").notNull(),
    cost: real("cost").notNull(),
  },
  // A brand's products in id order: add_items_to_plan pages through them.
  (t) => [index("products_brand").on(t.brandId)],
);

export const productVariants = sqliteTable(
  "product_variants",
  {
    ...entityColumns,
    productId: text("product_id").notNull(),
    size: text("size").notNull(),
    sku: text("sku"),
    price: real("price"),
    cost: real("cost"),
  },
  (t) => [index("product_variants_product").on(t.productId)],
);

export const inventoryItems = sqliteTable(
  "inventory_items",
  {
    ...entityColumns,
    variantId: text("variant_id").notNull(),
    shopId: text("shop_id").notNull(),
    onHand: integer("on_hand").notNull(),
    onOrder: integer("on_order").notNull(),
    target: integer("target").notNull(),
  },
  // Items page by (variant_id, shop_id, id) so that every shop of a variant is read together
  // (rebalance matching needs them at once); a shop scope is a seek inside each variant. No index
  // on shop_id alone: nothing reads items by shop without a variant, and each index costs a write.
  (t) => [index("inventory_items_variant").on(t.variantId, t.shopId)],
);

export const recommendations = sqliteTable(
  "recommendations",
  {
    ...entityColumns,
    inventoryItemId: text("inventory_item_id").notNull(),
    score: real("score").notNull(),
    quantity: integer("quantity"),
    discountPercent: real("discount_percent"),
  },
  // With score, an item's best recommendation is the last index entry of its range: one row read
  // per item, no sort. A new score costs a second write (the index entry); other fields do not.
  (t) => [index("recommendations_item").on(t.inventoryItemId, t.score)],
);

export const customers = sqliteTable("customers", {
  ...entityColumns,
  email: text("email").notNull(),
  name: text("name"),
});

export const subscriptions = sqliteTable(
  "subscriptions",
  {
    ...entityColumns,
    customerId: text("customer_id").notNull(),
    variantId: text("variant_id").notNull(),
    /** Null: the customer waits for the variant in any shop. */
    shopId: text("shop_id"),
    status: text("status").notNull(),
    channel: text("channel").notNull(),
    /** UTC ISO with milliseconds (toISOString), so that it orders as text. */
    createdAt: text("created_at").notNull().default(""),
    notifiedAt: text("notified_at"),
  },
  // A variant's subscriptions in one status, oldest first (back-in-stock waves, the summary's
  // counts); a customer's subscriptions (conversion of an order). A status change rewrites the
  // first index's entry: the price of reading waves without a sort.
  (t) => [index("subscriptions_variant_status").on(t.variantId, t.status, t.createdAt), index("subscriptions_customer").on(t.customerId)],
);

/** Orders (SPEC §12): the lines live in `data`; conversion reads a customer's orders by time. */
export const orders = sqliteTable(
  "orders",
  {
    ...entityColumns,
    customerId: text("customer_id").notNull(),
    total: real("total").notNull(),
    /** UTC ISO with milliseconds (toISOString), so that it orders as text. */
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("orders_customer").on(t.customerId, t.createdAt), index("orders_created").on(t.createdAt)],
);

/**
 * Tags of every live (not deleted) entity, so that tag filters read only the entities that carry
 * a tag. Kept in step with the entity's `tags` column by worker/entities/store.ts.
 */
export const entityTags = sqliteTable(
  "entity_tags",
  {
    entity: text("entity").notNull(),
    tag: text("tag").notNull(),
    entityId: text("entity_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.entity, t.tag, t.entityId] })],
);

// ---------------------------------------------------------------- plans (SPEC §9)

export const plans = sqliteTable(
  "plans",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    status: text("status", { enum: ["draft", "open", "approved", "closed", "cancelled"] }).notNull(),
    deadline: text("deadline"),
    shops: json("shops").notNull(),
    /** Lines and the sum of their quantities, kept by add_items_to_plan in the batch that writes the lines. */
    itemCount: integer("item_count").notNull().default(0),
    totalQuantity: integer("total_quantity").notNull().default(0),
    /**
     * Changes on every write of lines. A writer reads it with the lines it is about to change and
     * writes only if it is unchanged (optimistic concurrency), so the counters stay exact when
     * several runs add to one plan at once.
     */
    writeToken: text("write_token").notNull().default(""),
    createdByRun: text("created_by_run"),
    /** The idempotency key of the step that created the plan: a retry of that step still reports `created`. */
    createdByStep: text("created_by_step"),
    /** Created by a test run (SPEC §13): test data, apart from the real plans of its kind and name. */
    test: integer("test", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    // At most one open plan per kind, name and test mark: create_or_get_plan relies on it under concurrency.
    uniqueIndex("plans_open_kind_name").on(t.kind, t.name, t.test).where(sql`status = 'open'`),
    index("plans_kind_status").on(t.kind, t.status),
  ],
);

/**
 * One line per plan and `line_key`, so a re-run updates its lines instead of adding them twice.
 * The key is `i` + U+0001 + the inventory item id, or for a transfer `t` + U+0001 + variant +
 * U+0001 + from shop + U+0001 + to shop (ids hold no control characters), so the transfer lines
 * of one variant are one key range.
 */
export const planItems = sqliteTable(
  "plan_items",
  {
    planId: text("plan_id").notNull(),
    lineKey: text("line_key").notNull(),
    inventoryItemId: text("inventory_item_id"),
    variantId: text("variant_id"),
    shopId: text("shop_id"),
    quantity: integer("quantity").notNull(),
    fromShopId: text("from_shop_id"),
    toShopId: text("to_shop_id"),
    discountPercent: real("discount_percent"),
    markdownDate: text("markdown_date"),
    strategy: text("strategy"),
    score: real("score"),
    runId: text("run_id"),
    nodeId: text("node_id"),
    /** Written last by a test run: test data (SPEC §13), shown as such by the API and the UI. */
    test: integer("test", { mode: "boolean" }).notNull().default(false),
    /** When a planner last set the quantity by hand; cleared when a run writes the line again. */
    editedAt: text("edited_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.lineKey] })],
);

// ---------------------------------------------------------------- discount codes (SPEC §12)

/**
 * Codes made by create_discount_code. The step that made a code (run_id, node_id) owns it: every
 * retry of that step finds its own row and answers the same code. `used` counts the rows of
 * discount_redemptions for the code; the redeem batch moves both together. Times are ISO 8601
 * instants (toISOString), so they compare as text. `test` marks the codes of test runs.
 */
export const discountCodes = sqliteTable(
  "discount_codes",
  {
    code: text("code").primaryKey(),
    type: text("type", { enum: ["percent", "amount"] }).notNull(),
    value: real("value").notNull(),
    currency: text("currency"),
    /** The last instant the code works: the end (…T23:59:59.999Z) of the UTC day the config's date gave. */
    expiresAt: text("expires_at").notNull(),
    usageLimit: integer("usage_limit").notNull(),
    used: integer("used").notNull().default(0),
    customerId: text("customer_id"),
    variantIds: json("variant_ids"),
    runId: text("run_id").notNull(),
    nodeId: text("node_id").notNull(),
    test: integer("test", { mode: "boolean" }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  // Lists page newest first, all codes or one customer's (secondary indexes carry the code).
  (t) => [index("discount_codes_created").on(t.createdAt), index("discount_codes_customer").on(t.customerId, t.createdAt)],
);

/** One row per order that redeemed a code: redeeming again with the same order changes nothing. */
export const discountRedemptions = sqliteTable(
  "discount_redemptions",
  {
    code: text("code").notNull(),
    orderId: text("order_id").notNull(),
    redeemedAt: text("redeemed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.code, t.orderId] })],
);

// ---------------------------------------------------------------- back-in-stock restocks

/**
 * Restock episodes (SPEC §12), one per (workflow, variant, shop scope, stock event that crossed
 * min_stock), id = the RestockObject's name. The object owns the episode and writes this row after
 * each wave; the row is what GET /api/restocks lists. `shop_id` null: the subscriptions without a
 * shop, counted against every shop's stock. `waves` is a JSON array (restock/episode.ts WaveSchema).
 */
export const restockEpisodes = sqliteTable(
  "restock_episodes",
  {
    id: text("id").primaryKey(),
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    variantId: text("variant_id").notNull(),
    shopId: text("shop_id"),
    status: text("status", { enum: ["sending", "waiting", "ended"] }).notNull(),
    endReason: text("end_reason"),
    minStock: integer("min_stock").notNull(),
    perUnit: real("per_unit"),
    waveMinutes: integer("wave_minutes").notNull(),
    notified: integer("notified").notNull().default(0),
    waiting: integer("waiting").notNull().default(0),
    waves: json("waves").notNull().default(sql`'[]'`),
    eventId: text("event_id").notNull(),
    startedAt: text("started_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    endedAt: text("ended_at"),
  },
  // Lists page newest first, all episodes or one variant's (secondary indexes carry the id).
  (t) => [index("restock_episodes_started").on(t.startedAt), index("restock_episodes_variant").on(t.variantId, t.startedAt)],
);

// ---------------------------------------------------------------- engagement and conversion (SPEC §12)

/**
 * Links a `track_links` step rewrote to `/l/{token}`. The token is an HMAC of the step's
 * idempotency key and the URL (engagement/tokens.ts): a retry of the step derives the same token
 * and finds its row. `subscription_id` is the run's trigger subscription, moved to `engaged` on a
 * click; `test` marks the links of test runs.
 */
export const trackedLinks = sqliteTable(
  "tracked_links",
  {
    token: text("token").primaryKey(),
    runId: text("run_id").notNull(),
    workflowId: text("workflow_id").notNull(),
    nodeId: text("node_id").notNull(),
    url: text("url").notNull(),
    subscriptionId: text("subscription_id"),
    test: integer("test", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
    clicks: integer("clicks").notNull().default(0),
    firstClickAt: text("first_click_at"),
    lastClickAt: text("last_click_at"),
  },
  (t) => [index("tracked_links_run").on(t.runId, t.nodeId), index("tracked_links_subscription").on(t.subscriptionId)],
);

/** An order attributed to a notified subscription (SPEC §12), once per (order, subscription). */
export const conversions = sqliteTable(
  "conversions",
  {
    orderId: text("order_id").notNull(),
    subscriptionId: text("subscription_id").notNull(),
    customerId: text("customer_id").notNull(),
    variantId: text("variant_id").notNull(),
    /** Σ quantity × price over the order's lines of the subscription's variant. */
    revenue: real("revenue").notNull(),
    convertedAt: text("converted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.subscriptionId] }), index("conversions_subscription").on(t.subscriptionId)],
);
