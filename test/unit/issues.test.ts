import { describe, expect, it } from "vitest";
import { z } from "zod";
import { issuesText, zodIssues } from "../../worker/lib/issues";

const Schema = z.object({ name: z.string().min(1, "Name it"), shops: z.object({ ids: z.array(z.string()) }) });
const errorOf = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error!;

describe("zod issues", () => {
  it("reports each issue at its dotted path, below where the value sits in the request", () => {
    const error = errorOf(Schema, { name: "", shops: { ids: ["a", 7] } });
    expect(zodIssues(error)).toEqual([
      { path: "name", message: "Name it" },
      { path: "shops.ids.1", message: expect.any(String) },
    ]);
    expect(zodIssues(error, ["events", 2, "data"]).map((i) => i.path)).toEqual(["events.2.data.name", "events.2.data.shops.ids.1"]);
  });

  it("writes every issue on one line, an issue at the root as its message alone", () => {
    expect(issuesText(errorOf(Schema, { name: "", shops: { ids: [] } }))).toBe("name: Name it");
    expect(issuesText(errorOf(z.string().min(3, "Too short"), "ab"))).toBe("Too short");
    const two = issuesText(errorOf(Schema, { name: "", shops: { ids: [1] } }));
    expect(two).toMatch(/^name: Name it; shops\.ids\.0: .+$/);
  });

  it("leaves out the path segments a wrapper added", () => {
    const wrapped = errorOf(z.array(z.object({ data: Schema })), [{ data: { name: "", shops: { ids: [] } } }]);
    expect(issuesText(wrapped)).toBe("0.data.name: Name it");
    expect(issuesText(wrapped, 1)).toBe("data.name: Name it");
  });
});
