import { describe, expect, it } from "vitest";
import { diffDefinitions, diffSize, fieldChanges, isEmptyDiff, pathWords, valueWords } from "../../ui/models/history";
import { DefinitionSchema, type DefinitionInput } from "../../worker/contract";

/*
 * The builder's version history (ui/models/history.ts): what changed between two versions, in
 * lines a merchandiser reads — steps added, removed and changed field by field, old → new.
 */

const v1: DefinitionInput = {
  name: "Restock sneakers",
  trigger: { entity: "inventory_item", events: ["updated"], tags: { include: ["sneakers"], exclude: [], match: "any" } },
  start: "plan",
  nodes: [
    { id: "plan", type: "create_or_get_plan", config: { kind: "restock", name: "Restock {{today}}" }, next: "check" },
    { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] }, then: "mail" },
    { id: "mail", type: "send_email", config: { to: ["planner@example.com"], subject: "Low", format: "text", body: "Low stock" } },
  ],
};

/** v1 with a renamed workflow, a new tag, a label, a changed threshold, a webhook for the email. */
const v2: DefinitionInput = {
  ...v1,
  name: "Restock sneakers and boots",
  trigger: { ...v1.trigger, tags: { include: ["sneakers", "boots"], exclude: [], match: "any" } },
  controls: { concurrency: 2 },
  nodes: [
    { id: "plan", type: "create_or_get_plan", name: "Daily restock plan", config: { kind: "restock", name: "Restock {{today}}" }, next: "check" },
    { id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 3 }] }, then: "hook" },
    { id: "hook", type: "call_webhook", config: { url: "https://erp.example.com/restock", method: "POST" } },
  ],
};

describe("diffDefinitions", () => {
  it("lists the workflow's, the trigger's and flow control's changed fields, old → new", () => {
    const d = diffDefinitions(v1, v2);
    expect(d.workflow).toEqual([{ path: "name", before: "Restock sneakers", after: "Restock sneakers and boots" }]);
    expect(d.trigger).toEqual([{ path: "tags.include", before: ["sneakers"], after: ["sneakers", "boots"] }]);
    expect(d.controls).toEqual([{ path: "concurrency", before: undefined, after: 2 }]);
  });

  it("lists steps added and removed by id, and a changed step field by field", () => {
    const d = diffDefinitions(v1, v2);
    expect(d.added).toEqual([{ id: "hook", type: "call_webhook", name: undefined }]);
    expect(d.removed).toEqual([{ id: "mail", type: "send_email", name: undefined }]);
    expect(d.changed).toEqual([
      { id: "plan", type: "create_or_get_plan", name: "Daily restock plan", fields: [{ path: "name", before: undefined, after: "Daily restock plan" }] },
      {
        id: "check",
        type: "condition",
        name: undefined,
        fields: [
          { path: "config.all.0.right", before: 5, after: 3 },
          { path: "then", before: "mail", after: "hook" },
        ],
      },
    ]);
    expect(diffSize(d)).toBe(8);
  });

  it("finds nothing between a version and a copy of it, as sent or as the worker stores it", () => {
    expect(isEmptyDiff(diffDefinitions(v1, structuredClone(v1)))).toBe(true);
    const stored = DefinitionSchema.parse(v1);
    expect(isEmptyDiff(diffDefinitions(stored, DefinitionSchema.parse(structuredClone(v1))))).toBe(true);
    expect(isEmptyDiff(diffDefinitions(stored, DefinitionSchema.parse(v2)))).toBe(false);
  });

  it("shows a list of plain values whole and a list of objects item by item", () => {
    expect(fieldChanges({ to: ["a@x.io"] }, { to: ["a@x.io", "b@x.io"] })).toEqual([{ path: "to", before: ["a@x.io"], after: ["a@x.io", "b@x.io"] }]);
    expect(fieldChanges({ all: [{ op: "lt" }] }, { all: [{ op: "lt" }, { op: "gt" }] })).toEqual([{ path: "all.1", before: undefined, after: { op: "gt" } }]);
  });
});

describe("diff lines in words", () => {
  it("names paths as the forms do", () => {
    expect(pathWords("config.quantity.target")).toBe("quantity › target");
    expect(pathWords("config.all.0.right")).toBe("condition 1 › right");
    expect(pathWords("next")).toBe("next step");
    expect(pathWords("name")).toBe("label");
    expect(pathWords("name", true)).toBe("name");
    expect(pathWords("retry.max_attempts")).toBe("retry › attempts");
  });

  it("shows values: text quoted, lists joined, nothing as (none), long values cut", () => {
    expect(valueWords("Low")).toBe("“Low”");
    expect(valueWords(["sneakers", "boots"])).toBe("sneakers, boots");
    expect(valueWords(undefined)).toBe("(none)");
    expect(valueWords([])).toBe("(none)");
    expect(valueWords(3)).toBe("3");
    expect(valueWords("x".repeat(200)).length).toBeLessThanOrEqual(82);
  });
});
