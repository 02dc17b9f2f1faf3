import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DefinitionSchema } from "../../worker/contract/definition";
import { db } from "../../worker/db/sql";
import { indexTags } from "../../worker/definition/trigger";
import { ConcurrentSaveError, getWorkflow, saveVersion, setStatus, type WorkflowRecord } from "../../worker/workflows/store";
import { restockDefinition } from "../support/definitions";
import { api, json, uid } from "../support/api";

/*
 * Each test replays an interleaving of two requests: one reads the workflow, the other changes it,
 * then the first writes with what it read. The store must refuse that write as a whole.
 */

const withTags = (...include: string[]) =>
  DefinitionSchema.parse(restockDefinition({ name: uid("race"), trigger: { ...restockDefinition().trigger, tags: { include } } }));

async function created(status: "draft" | "active" = "draft"): Promise<string> {
  const wf = await json(await api("/api/workflows", { method: "POST", json: withTags("sneakers") }));
  if (status === "active") expect((await changeStatus(wf.id, "active")).status).toBe(200);
  return wf.id;
}

const changeStatus = (id: string, status: string) => api(`/api/workflows/${id}/status`, { method: "POST", json: { status } });
const save = (id: string, def: unknown) => api(`/api/workflows/${id}`, { method: "PUT", json: def });

async function read(id: string): Promise<WorkflowRecord> {
  const wf = await getWorkflow(db(env.DB), id);
  expect(wf).toBeDefined();
  return wf!;
}

async function row(id: string) {
  return env.DB.prepare("SELECT status, version FROM workflows WHERE id = ?").bind(id).first<{ status: string; version: number }>();
}

async function index(id: string) {
  const rows = await env.DB.prepare("SELECT entity, tag, version FROM trigger_index WHERE workflow_id = ? ORDER BY entity, tag").bind(id).all();
  return rows.results;
}

async function versions(id: string) {
  const rows = await env.DB.prepare("SELECT version FROM workflow_versions WHERE workflow_id = ? ORDER BY version").bind(id).all<{ version: number }>();
  return rows.results.map((r) => r.version);
}

/** What the index must hold for the workflow D1 has: its current trigger at its version while active, else nothing. */
async function expectedIndex(id: string) {
  const wf = await read(id);
  if (wf.status !== "active") return [];
  return indexTags(wf.definition.trigger)
    .sort()
    .map((tag) => ({ entity: wf.definition.trigger.entity, tag, version: wf.version }));
}

describe("status and version changes are compare-and-set", () => {
  it("refuses a save that raced a pause: the workflow stays paused and out of the index", async () => {
    const id = await created("active");
    const stale = await read(id);
    expect((await changeStatus(id, "paused")).status).toBe(200);
    await expect(saveVersion(db(env.DB), stale, withTags("boots"), new Date())).rejects.toBeInstanceOf(ConcurrentSaveError);
    expect(await row(id)).toEqual({ status: "paused", version: 1 });
    expect(await index(id)).toEqual([]);
    expect(await versions(id)).toEqual([1]);
  });

  it("refuses a pause that raced a save: the saved version stays active and indexed", async () => {
    const id = await created("active");
    const stale = await read(id);
    expect((await save(id, withTags("boots"))).status).toBe(200);
    await expect(setStatus(db(env.DB), stale, "paused", new Date())).rejects.toBeInstanceOf(ConcurrentSaveError);
    expect(await row(id)).toEqual({ status: "active", version: 2 });
    expect(await index(id)).toEqual([{ entity: "inventory_item", tag: "boots", version: 2 }]);
  });

  it("of two saves, lets the loser write neither its version nor its trigger", async () => {
    const id = await created("active");
    const stale = await read(id);
    expect((await save(id, withTags("boots"))).status).toBe(200);
    await expect(saveVersion(db(env.DB), stale, withTags("sandals"), new Date())).rejects.toBeInstanceOf(ConcurrentSaveError);
    expect(await row(id)).toEqual({ status: "active", version: 2 });
    expect(await index(id)).toEqual([{ entity: "inventory_item", tag: "boots", version: 2 }]);
    expect((await read(id)).definition.trigger.tags.include).toEqual(["boots"]);
  });

  it("refuses an activation that raced a save, so no run starts on the old version", async () => {
    const id = await created("draft");
    const stale = await read(id);
    expect((await save(id, withTags("boots"))).status).toBe(200);
    await expect(setStatus(db(env.DB), stale, "active", new Date())).rejects.toBeInstanceOf(ConcurrentSaveError);
    expect(await row(id)).toEqual({ status: "draft", version: 2 });
    expect(await index(id)).toEqual([]);
    expect((await changeStatus(id, "active")).status).toBe(200);
    expect(await index(id)).toEqual([{ entity: "inventory_item", tag: "boots", version: 2 }]);
  });

  it("refuses a save that raced an activation: the index keeps the activated version", async () => {
    const id = await created("draft");
    const stale = await read(id);
    expect((await changeStatus(id, "active")).status).toBe(200);
    await expect(saveVersion(db(env.DB), stale, withTags("boots"), new Date())).rejects.toBeInstanceOf(ConcurrentSaveError);
    expect(await row(id)).toEqual({ status: "active", version: 1 });
    expect(await index(id)).toEqual([{ entity: "inventory_item", tag: "sneakers", version: 1 }]);
    expect(await versions(id)).toEqual([1]);
  });

  it("keeps the index equal to the workflow row when real requests race", async () => {
    for (let round = 0; round < 4; round++) {
      const id = await created("active");
      const pairs = [
        () => Promise.all([save(id, withTags(`boots${round}`)), changeStatus(id, "paused")]),
        () => Promise.all([save(id, withTags("a")), save(id, withTags("b"))]),
        () => Promise.all([changeStatus(id, "active"), save(id, withTags("c", "d"))]),
      ];
      for (const pair of pairs) {
        const answers = await pair();
        expect(answers.some((r) => r.status === 200)).toBe(true);
        for (const r of answers) {
          expect([200, 409]).toContain(r.status);
          if (r.status === 409) expect((await json(r)).error.code).toBe("conflict");
        }
        expect(await index(id)).toEqual(await expectedIndex(id));
      }
    }
  });
});
