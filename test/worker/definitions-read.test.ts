import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDefinitions } from "../../worker/workflows/store";
import { api, json, uid } from "../support/api";

describe("reading pinned definitions", () => {
  it("reads the definitions of many workflows in one go, and none for a version that does not exist", async () => {
    // More keys than one statement could bind as parameters (two per key, 100 at most).
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const wf = await json(
        await api("/api/workflows", {
          method: "POST",
          json: { name: uid("pinned"), trigger: { entity: "inventory_item" }, start: "done", nodes: [{ id: "done", type: "wait", config: { duration: { minutes: 1 } } }] },
        }),
      );
      ids.push(wf.id);
    }
    const keys = [...ids.map((workflowId) => ({ workflowId, version: 1 })), { workflowId: ids[0]!, version: 2 }];
    const found = await getDefinitions(env.DB, keys);
    expect(found.size).toBe(60);
    for (const id of ids) expect(found.get(`${id}@1`)).toMatchObject({ start: "done" });
    expect(found.has(`${ids[0]}@2`)).toBe(false);
  });
});
