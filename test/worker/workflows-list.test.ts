import { describe, expect, it, vi } from "vitest";
import { api, json, uid } from "../support/api";
import { activeWorkflow, inventoryEvent, postEvents, runFor } from "../support/events";

/** The names of the workflows `GET /api/workflows?<query>` lists, on one page. */
async function names(query: string): Promise<string[]> {
  const res = await api(`/api/workflows?limit=500&${query}`);
  expect(res.status).toBe(200);
  return (await json(res)).items.map((w: { name: string }) => w.name);
}

async function create(name: string): Promise<string> {
  const def = {
    name,
    trigger: { entity: "inventory_item" },
    start: "check",
    nodes: [{ id: "check", type: "condition", config: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 5 }] } }],
  };
  const res = await api("/api/workflows", { method: "POST", json: def });
  expect(res.status).toBe(201);
  return (await json(res)).id;
}

describe("GET /api/workflows?q=: search by name", () => {
  it("finds the workflows whose name contains the words, ignoring case", async () => {
    const tag = uid("search");
    await create(`${tag} Restock Sneakers`);
    await create(`${tag} Rebalance sizes`);
    await create(`Markdown ${tag}`);
    expect(await names(`q=${encodeURIComponent(`${tag} restock`)}`)).toEqual([`${tag} Restock Sneakers`]);
    expect((await names(`q=${encodeURIComponent(tag.toUpperCase())}`)).sort()).toEqual([`${tag} Rebalance sizes`, `${tag} Restock Sneakers`, `Markdown ${tag}`].sort());
    expect(await names(`q=${encodeURIComponent(`  markdown ${tag} `)}`)).toEqual([`Markdown ${tag}`]);
    expect(await names(`q=${encodeURIComponent(`${tag} nothing like it`)}`)).toEqual([]);
  });

  it("takes % and _ as the characters they are, not as wildcards", async () => {
    const tag = uid("wild");
    await create(`${tag} 50% off`);
    await create(`${tag} 50 percent off`);
    await create(`${tag} a_b`);
    await create(`${tag} axb`);
    expect(await names(`q=${encodeURIComponent(`${tag} 50%`)}`)).toEqual([`${tag} 50% off`]);
    expect(await names(`q=${encodeURIComponent(`${tag} a_b`)}`)).toEqual([`${tag} a_b`]);
    expect(await names(`q=${encodeURIComponent("%%%_%%%")}`)).toEqual([]);
  });

  it("searches within a status and pages through the matches", async () => {
    const tag = uid("paged");
    const ids = [await create(`${tag} one`), await create(`${tag} two`), await create(`${tag} three`)];
    expect((await api(`/api/workflows/${ids[1]}/status`, { method: "POST", json: { status: "active" } })).status).toBe(200);
    expect(await names(`status=active&q=${tag}`)).toEqual([`${tag} two`]);
    const first = await json(await api(`/api/workflows?q=${tag}&limit=2`));
    expect(first.items.map((w: { id: string }) => w.id)).toEqual([ids[2], ids[1]]);
    const second = await json(await api(`/api/workflows?q=${tag}&limit=2&cursor=${first.next_cursor}`));
    expect(second.items.map((w: { id: string }) => w.id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeNull();
  });

  it("refuses a search of more than 100 characters with 400", async () => {
    const res = await api(`/api/workflows?q=${"x".repeat(101)}`);
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([expect.objectContaining({ path: "q" })]);
  });
});

describe("GET /api/workflows: the runs of the last 24 hours", () => {
  it("counts real runs and leaves test runs out", async () => {
    const tag = uid("count");
    const wf = await activeWorkflow({ tags: { include: [tag] } });
    const test = await api(`/api/workflows/${wf}/test`, { method: "POST", json: { entity_id: uid("inv"), data: { variant_id: "v", shop_id: "s", on_hand: 1, on_order: 0, target: 4, tags: [tag] } } });
    expect(test.status).toBe(202);
    const event = inventoryEvent({}, { tags: [tag] });
    expect((await postEvents(event)).status).toBe(202);
    await vi.waitFor(async () => expect((await runFor(wf, event.id))?.status).toBe("completed"), { timeout: 10_000, interval: 50 });
    const runs = await vi.waitFor(
      async () => {
        const page = await json(await api(`/api/runs?workflow_id=${wf}`));
        expect(page.items).toHaveLength(2);
        return page.items as { test: boolean }[];
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(runs.map((r) => r.test).sort()).toEqual([false, true]);
    const item = (await json(await api("/api/workflows?limit=500"))).items.find((w: { id: string }) => w.id === wf);
    expect(item.stats.runs_24h).toBe(1);
  });
});
