import { describe, expect, it } from "vitest";
import { PLAN_STATUSES } from "../../worker/planning/plan";
import { acceptsEdits, acceptsRunLines, isFinal, PLAN_TRANSITIONS, refusesRunLines, transition } from "../../worker/planning/plan-status";
import { lineIdOf, lineKeyOf } from "../../worker/planning/plan-view";
import { csvField, csvRow } from "../../worker/routes/plans";

describe("the plan status machine", () => {
  it("moves open → approved → open, and to closed or cancelled, which are final", () => {
    expect(transition("open", "approved")).toEqual({ ok: true, change: true });
    expect(transition("approved", "open")).toEqual({ ok: true, change: true });
    expect(transition("approved", "closed")).toEqual({ ok: true, change: true });
    expect(transition("open", "cancelled")).toEqual({ ok: true, change: true });
    expect(transition("closed", "open")).toEqual({ ok: false, reason: "A closed plan cannot become open; closed is final" });
    expect(transition("cancelled", "closed")).toEqual({ ok: false, reason: "A cancelled plan cannot become closed; cancelled is final" });
    expect(transition("closed", "closed")).toEqual({ ok: true, change: false });
    expect(PLAN_STATUSES.filter(isFinal)).toEqual(["closed", "cancelled"]);
  });

  it("never moves back to draft, and approves only an open plan", () => {
    for (const from of PLAN_STATUSES) {
      expect(PLAN_TRANSITIONS[from]).not.toContain("draft");
      expect(PLAN_TRANSITIONS[from].includes("approved")).toBe(from === "open");
    }
  });

  it("lets runs write draft and open plans, and planners edit approved ones too", () => {
    expect(PLAN_STATUSES.filter(acceptsRunLines)).toEqual(["draft", "open"]);
    expect(PLAN_STATUSES.filter(acceptsEdits)).toEqual(["draft", "open", "approved"]);
    expect(refusesRunLines({ id: "plan_1", name: "Restock", status: "approved" })).toBe(
      "Plan plan_1 (Restock) is approved; items can only be added to a draft or open plan",
    );
    expect(refusesRunLines({ id: "plan_1", name: "Restock", status: "open" })).toBeUndefined();
  });
});

describe("line ids", () => {
  it("round-trip item and transfer keys, non-ASCII ids included, and refuse anything else", () => {
    for (const key of ["i\u0001inv_1", "t\u0001var_ü\u0001shop_a\u0001shop_東"]) {
      const id = lineIdOf(key);
      expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(lineKeyOf(id)).toBe(key);
    }
    for (const bad of ["", "***", lineIdOf("x\u0001y"), lineIdOf("t\u0001a\u0001b"), lineIdOf("i\u0001"), "a"]) expect(lineKeyOf(bad)).toBeUndefined();
  });
});

describe("CSV fields", () => {
  it("quotes commas, quotes and line breaks, and defuses text a spreadsheet would run", () => {
    expect(csvField("Runner")).toBe("Runner");
    expect(csvField('Läufer "Zürich", 東京')).toBe('"Läufer ""Zürich"", 東京"');
    expect(csvField("a\r\nb")).toBe('"a\r\nb"');
    expect(csvField("=SUM(A1:A9)")).toBe("'=SUM(A1:A9)");
    expect(csvField("-3 units")).toBe("'-3 units");
    expect(csvField("@here, now")).toBe(`"'@here, now"`);
    expect(csvField(" padded")).toBe('" padded"');
    expect(csvField(-3)).toBe("-3");
    expect(csvField(null)).toBe("");
    expect(csvField(true)).toBe("true");
    expect(csvRow(["a", 1, null, "b,c"])).toBe('a,1,,"b,c"\r\n');
  });
});
