import { describe, expect, it } from "vitest";
import { validateDefinition } from "../../worker/contract/definition";
import { ENTITY_FIELDS, ENTITY_KINDS, entitySchema, entitySpec } from "../../worker/entities/registry";
import { RELATED_LINKS, relatedKinds } from "../../worker/entities/related";

/*
 * Checked variables (SPEC §11): saving or validating a definition checks every {{path}}. A field
 * an entity does not have is a warning (entities may carry further attributes); a related kind
 * the trigger's entity does not point to, an unknown root or trigger field, and a step that does
 * not run before are errors.
 */

/** A definition on `entity` whose one step emails `subject`, and whose trigger may have conditions. */
function emailing(entity: string, subject: string, conditions?: unknown) {
  return {
    name: "Back in stock",
    trigger: { entity, ...(conditions ? { conditions } : {}) },
    start: "mail",
    nodes: [{ id: "mail", type: "send_email", config: { to: ["team@example.com"], subject, body: "Hello" } }],
  };
}

function check(def: unknown) {
  const result = validateDefinition(def);
  return { ok: result.ok, issues: result.ok ? [] : result.issues, warnings: result.warnings };
}

describe("warnings for fields an entity does not have", () => {
  it("warns about a typo in trigger.data, with the field it probably meant, and still saves", () => {
    const { ok, warnings } = check(emailing("inventory_item", "Item {{trigger.data.idd}} is low"));
    expect(ok).toBe(true);
    expect(warnings).toEqual([
      {
        path: "nodes.0.config.subject",
        message: '"{{trigger.data.idd}}": idd is not a field of inventory_item (it may still be an extra attribute); did you mean id?',
      },
    ]);
  });

  it("accepts every field of the entity, id and tags, and paths below a field", () => {
    const subject = "{{trigger.data.id}} {{trigger.data.tags}} {{trigger.data.lines.0.price}} {{trigger.data.total}} {{trigger.previous.customer_id}} {{trigger.data}}";
    expect(check(emailing("order", subject))).toEqual({ ok: true, issues: [], warnings: [] });
  });

  it("warns about trigger.previous and trigger.related fields the entity does not have", () => {
    const subject = "{{trigger.previous.on_hnd}} {{trigger.related.product.nme}} {{trigger.related.product_variant.size}}";
    const { ok, warnings } = check(emailing("inventory_item", subject));
    expect(ok).toBe(true);
    expect(warnings.map((w) => w.message)).toEqual([
      '"{{trigger.previous.on_hnd}}": on_hnd is not a field of inventory_item (it may still be an extra attribute); did you mean on_hand?',
      '"{{trigger.related.product.nme}}": nme is not a field of product (it may still be an extra attribute); did you mean name?',
    ]);
  });

  it("warns once per field that holds the same reference twice, and names no close field when there is none", () => {
    const { warnings } = check(emailing("subscription", "{{trigger.data.season}} and {{trigger.data.season}}"));
    expect(warnings).toEqual([{ path: "nodes.0.config.subject", message: '"{{trigger.data.season}}": season is not a field of subscription (it may still be an extra attribute)' }]);
  });

  it("checks the trigger's conditions too", () => {
    const { ok, warnings } = check(emailing("subscription", "Hi", { all: [{ left: "{{trigger.related.customer.nam}}", op: "exists" }] }));
    expect(ok).toBe(true);
    expect(warnings).toEqual([
      {
        path: "trigger.conditions.all.0.left",
        message: '"{{trigger.related.customer.nam}}": nam is not a field of customer (it may still be an extra attribute); did you mean name?',
      },
    ]);
  });

  it("knows the back-in-stock fields (SPEC §12)", () => {
    const subject =
      "{{trigger.related.customer.phone}} {{trigger.related.customer.accepts_marketing}} {{trigger.related.customer.push_subscriptions}} " +
      "{{trigger.data.shop_id}} {{trigger.data.created_at}} {{trigger.data.notified_at}} {{trigger.related.shop.name}}";
    expect(check(emailing("subscription", subject)).warnings).toEqual([]);
  });
});

describe("errors for variables that can never resolve", () => {
  it("refuses a related kind the trigger's entity does not point to", () => {
    const { ok, issues } = check(emailing("inventory_item", "{{trigger.related.customer.name}}"));
    expect(ok).toBe(false);
    expect(issues).toEqual([
      { path: "nodes.0.config.subject", message: '"{{trigger.related.customer.name}}": inventory_item has no related customer; it has product_variant, product, brand, shop' },
    ]);
    expect(check(emailing("brand", "{{trigger.related.product}}")).issues[0]!.message).toBe('"{{trigger.related.product}}": brand has no related product');
  });

  it("refuses an unknown root, an unknown trigger, workflow or run field", () => {
    const def = emailing("inventory_item", "{{trigger.dta.on_hand}} {{shop.name}} {{workflow.owner}}");
    def.nodes[0]!.config.to = ["{{run.started_at}}"];
    const { ok, issues } = check(def);
    expect(ok).toBe(false);
    expect(issues.map((i) => i.message)).toEqual([
      '"{{run.started_at}}": run has no field started_at; use one of id',
      '"{{trigger.dta.on_hand}}": trigger has no field dta; use one of id, type, entity, entity_id, occurred_at, data, previous, related',
      '"{{shop.name}}" must start with one of trigger, steps, workflow, run, now, today',
      '"{{workflow.owner}}": workflow has no field owner; use one of id, name, version',
    ]);
  });

  it("refuses a step that does not exist or does not run before", () => {
    const def = {
      name: "Steps",
      trigger: { entity: "subscription" },
      start: "first",
      nodes: [
        { id: "first", type: "send_email", config: { to: ["a@example.com"], subject: "{{steps.later.output.message_id}} {{steps.nope.output.x}}", body: "x" }, next: "later" },
        { id: "later", type: "send_email", config: { to: ["a@example.com"], subject: "{{steps.first.output.message_id}}", body: "x" } },
      ],
    };
    const { ok, issues } = check(def);
    expect(ok).toBe(false);
    expect(issues).toEqual([
      { path: "nodes.0.config.subject", message: '"{{steps.later.output.message_id}}": "later" does not run before "first"' },
      { path: "nodes.0.config.subject", message: '"{{steps.nope.output.x}}": no node has the id "nope"' },
    ]);
  });

  it("reports warnings beside the issues of a definition that cannot be saved", () => {
    const result = validateDefinition(emailing("order", "{{trigger.data.totl}} {{trigger.related.shop.name}}"));
    expect(result.ok).toBe(false);
    expect(result.warnings.map((w) => w.message)).toEqual(['"{{trigger.data.totl}}": totl is not a field of order (it may still be an extra attribute); did you mean total?']);
  });
});

describe("the field and relation lists the checks and the builder use", () => {
  it("lists each kind's schema fields besides id and tags", () => {
    for (const kind of ENTITY_KINDS) {
      expect(ENTITY_FIELDS[kind].length).toBeGreaterThan(0);
      expect(ENTITY_FIELDS[kind]).not.toContain("id");
    }
    expect(ENTITY_FIELDS.customer).toEqual(["email", "name", "phone", "accepts_marketing", "push_subscriptions"]);
    expect(ENTITY_FIELDS.subscription).toEqual(["customer_id", "variant_id", "shop_id", "status", "channel", "created_at", "notified_at"]);
    expect(ENTITY_FIELDS.order).toEqual(["customer_id", "lines", "total", "created_at"]);
    expect(entitySchema("order").safeParse({ id: "o", customer_id: "c", lines: [{ variant_id: "v", quantity: 1, price: 1 }], total: 1, created_at: "2026-01-01T00:00:00Z" }).success).toBe(true);
  });

  it("follows every link from a field of the trigger or a column of an entity reached before", () => {
    expect(relatedKinds("inventory_item")).toEqual(["product_variant", "product", "brand", "shop"]);
    expect(relatedKinds("product_variant")).toEqual(["product", "brand"]);
    expect(relatedKinds("product")).toEqual(["brand"]);
    expect(relatedKinds("subscription")).toEqual(["customer", "product_variant", "product", "brand", "shop"]);
    expect(relatedKinds("order")).toEqual(["customer"]);
    for (const kind of ENTITY_KINDS) {
      const reached = new Set<string>();
      for (const link of RELATED_LINKS[kind]) {
        // Beyond the trigger, the id is read from the typed column of an entity reached before.
        const fields: readonly string[] = link.from === "trigger" ? ENTITY_FIELDS[kind] : entitySpec(link.from).columns.map((c) => c.name);
        expect(fields, `${kind}: ${link.kind} from ${link.from}.${link.field}`).toContain(link.field);
        if (link.from !== "trigger") expect(reached.has(link.from), `${kind}: ${link.from} is reached before ${link.kind}`).toBe(true);
        reached.add(link.kind);
      }
    }
  });
});
