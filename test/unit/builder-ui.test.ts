import { describe, expect, it } from "vitest";
import { z } from "zod";
import { emailProblem } from "../../ui/src/lib/email-address";
import { moveOptions, moveStep, type MoveChain, type MoveFlow } from "../../ui/src/lib/flow-moves";
import { FIRST_STEP, humanIssues, isHiddenPath } from "../../ui/src/lib/issue-words";
import { noun, plural } from "../../ui/src/lib/plural";

/*
 * The builder's pure parts (ui/src/lib): counted nouns, the API's issues on parts the builder
 * draws instead of showing as fields, recipients checked as they are typed, and moving a step
 * across a condition's branches.
 */

describe("plural", () => {
  it("says 1 day, 2 days and 0 days", () => {
    expect(plural(1, "day")).toBe("1 day");
    expect(plural(2, "day")).toBe("2 days");
    expect(plural(0, "day")).toBe("0 days");
    expect(plural(1.5, "day")).toBe("1.5 days");
  });

  it("takes an irregular plural, and gives the noun alone for sentences", () => {
    expect(plural(1, "entry", "entries")).toBe("1 entry");
    expect(plural(3, "entry", "entries")).toBe("3 entries");
    expect(`${noun(1, "problem")} needs`).toBe("problem needs");
    expect(noun(4, "problem")).toBe("problems");
  });
});

describe("issues on parts the builder draws (issue-words)", () => {
  it("turns an empty workflow's start and nodes issues into one: add a first step", () => {
    const issues = [
      { path: "start", message: "Use 1-64 characters: a lowercase letter, then lowercase letters, digits or _" },
      { path: "nodes", message: "Add at least one action" },
      { path: "name", message: "Give the workflow a name" },
    ];
    expect(humanIssues(issues, { start: "", nodes: [] })).toEqual([
      { path: "nodes", message: FIRST_STEP },
      { path: "name", message: "Give the workflow a name" },
    ]);
  });

  it("says a start that names no step in words, and leaves field issues as they are", () => {
    const issues = [
      { path: "start", message: 'No node has the id "gone"' },
      { path: "nodes.0.config.url", message: "Not a URL" },
    ];
    expect(humanIssues(issues, { start: "gone", nodes: [{}] })).toEqual([
      { path: "start", message: "The workflow starts at “gone”, but no step has that id." },
      { path: "nodes.0.config.url", message: "Not a URL" },
    ]);
  });

  it("says a step's dangling next or branch link in words", () => {
    const [next, then] = humanIssues(
      [
        { path: "nodes.2.next", message: 'No node has the id "ship"' },
        { path: "nodes.1.then", message: "A node cannot lead to itself" },
      ],
      { start: "a", nodes: [{}, {}, {}] },
    );
    expect(next!.message).toBe("It goes on to “ship” (the step after it), but no step has that id: add that step or remove the link in the JSON.");
    expect(then!.message).toBe("Its “If true” branch: A node cannot lead to itself");
  });

  it("names no field for hidden parts", () => {
    expect(isHiddenPath("start", true)).toBe(true);
    expect(isHiddenPath("nodes", true)).toBe(true);
    expect(isHiddenPath("trigger.tags", true)).toBe(false);
    expect(isHiddenPath("next", false)).toBe(true);
    expect(isHiddenPath("config.url", false)).toBe(false);
  });
});

describe("recipients checked as they are typed (email-address)", () => {
  const samples = ["planner@example.com", "a.b+c@shop.example.co.uk", "bob@", "bob@example", "@example.com", "bob smith@example.com", "bob@@example.com", "o'neil@example.ie", ".bob@example.com"];

  it("accepts exactly the addresses the worker accepts (zod's email check)", () => {
    for (const s of samples) expect(emailProblem(s) === null, s).toBe(z.email().safeParse(s).success);
  });

  it("refuses a bad address with one sentence, and lets a template through", () => {
    expect(emailProblem("bob@")).toBe("“bob@” is not an email address");
    expect(emailProblem("{{trigger.data.email}}")).toBeNull();
  });
});

/** A step of the builder's flow, reduced to what moving needs; conditions carry both branches. */
interface S {
  key: string;
  then?: MoveChain<S>;
  else?: MoveChain<S>;
}
const step = (key: string): S => ({ key });
const cond = (key: string, then: string[], otherwise: string[]): S => ({ key, then: { steps: then.map(step) }, else: { steps: otherwise.map(step) } });
const flow = (...steps: S[]): MoveFlow<S> => ({ root: { steps }, detached: [] });
/** The flow as text: "a b check[then: x | else: y]". */
const shape = (f: MoveFlow<S>): string => {
  const chain = (c: MoveChain<S>): string => c.steps.map((s) => (s.then ? `${s.key}[then: ${chain(s.then)} | else: ${chain(s.else!)}]` : s.key)).join(" ");
  return chain(f.root);
};

describe("moving a step (flow-moves)", () => {
  const start = flow(step("a"), step("b"), cond("check", ["x", "y"], ["z"]));

  it("swaps neighbours within a chain", () => {
    expect(shape(moveStep(start, "b", -1))).toBe("b a check[then: x y | else: z]");
    expect(shape(moveStep(start, "x", 1))).toBe("a b check[then: y x | else: z]");
  });

  it("moves a step down from the bottom of “If true” to the top of “If false”, and back up", () => {
    expect(moveOptions(start, "y").down).toEqual({ kind: "cross", condition: "check", to: "else" });
    const crossed = moveStep(start, "y", 1);
    expect(shape(crossed)).toBe("a b check[then: x | else: y z]");
    expect(moveOptions(crossed, "y").up).toEqual({ kind: "cross", condition: "check", to: "then" });
    expect(shape(moveStep(crossed, "y", -1))).toBe(shape(start));
  });

  it("moves a step down into a condition's “If true” branch, and up out of it again", () => {
    expect(moveOptions(start, "b").down).toEqual({ kind: "enter", condition: "check" });
    const entered = moveStep(start, "b", 1);
    expect(shape(entered)).toBe("a check[then: b x y | else: z]");
    expect(moveOptions(entered, "b").up).toEqual({ kind: "leave", condition: "check" });
    expect(shape(moveStep(entered, "b", -1))).toBe(shape(start));
  });

  it("crosses into an empty branch, and between branches of a nested condition", () => {
    const nested = flow(cond("outer", [step("p").key], []));
    expect(shape(moveStep(nested, "p", 1))).toBe("outer[then:  | else: p]");
    const deep: MoveFlow<S> = { root: { steps: [{ key: "outer", then: { steps: [step("q"), cond("inner", ["r"], [])] }, else: { steps: [] } }] }, detached: [] };
    expect(shape(moveStep(deep, "r", 1))).toBe("outer[then: q inner[then:  | else: r] | else: ]");
    expect(shape(moveStep(deep, "q", 1))).toBe("outer[then: inner[then: q r | else: ] | else: ]");
  });

  it("never moves a condition, nor a step past the bottom of “If false” or the top of the flow", () => {
    expect(moveOptions(start, "check")).toEqual({ up: null, down: null });
    expect(moveOptions(start, "z").down).toBeNull();
    expect(moveOptions(start, "a").up).toBeNull();
    expect(moveStep(start, "z", 1)).toBe(start);
  });

  it("keeps the parts it does not touch, and a branch's join (goto) with its branch", () => {
    const joined: MoveFlow<S> = { root: { steps: [step("a"), { key: "c", then: { steps: [step("t")], goto: "end" }, else: { steps: [step("e")] } }] }, detached: [{ steps: [step("lost")] }] };
    const moved = moveStep(joined, "t", 1);
    const c = moved.root.steps[1]!;
    expect(c.then).toEqual({ steps: [], goto: "end" });
    expect(c.else!.steps.map((s) => s.key)).toEqual(["t", "e"]);
    expect(moved.root.steps[0]).toBe(joined.root.steps[0]);
    expect(moved.detached[0]).toBe(joined.detached[0]);
  });

  it("moves within a detached chain too", () => {
    const f: MoveFlow<S> = { root: { steps: [] }, detached: [{ steps: [step("u"), step("v")] }] };
    expect(moveStep(f, "v", -1).detached[0]!.steps.map((s) => s.key)).toEqual(["v", "u"]);
  });
});
