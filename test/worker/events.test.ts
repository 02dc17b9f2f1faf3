import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { json } from "./helpers";
import { inventoryEvent, postEvents } from "./events-support";
import { INBOX_SHARDS } from "../../worker/inbox-object";

/** Events every inbox shard has ever recorded. */
async function recorded() {
  let total = 0;
  for (let shard = 0; shard < INBOX_SHARDS; shard++) {
    total += (await env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`)).stats()).accepted_total;
  }
  return total;
}

describe("POST /api/events: signatures", () => {
  it("accepts a correctly signed event with 202, recorded before the answer", async () => {
    const before = await recorded();
    const res = await postEvents(inventoryEvent());
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 1 });
    expect(await recorded()).toBe(before + 1);
  });

  it("needs no bearer token but refuses a bad signature with 401, recording nothing", async () => {
    const before = await recorded();
    const res = await postEvents(inventoryEvent(), { secret: "whsec_" + btoa("someone-else-entirely-000000000") });
    expect(res.status).toBe(401);
    const body = await json(res);
    expect(body.error).toEqual({ code: "unauthorized", message: "No webhook-signature matches the body" });
    expect(await recorded()).toBe(before);
  });

  it("refuses a body changed after signing", async () => {
    const event = inventoryEvent();
    const good = JSON.stringify(event);
    const { api } = await import("./helpers");
    const { sign } = await import("./events-support");
    const res = await api("/api/events", {
      method: "POST",
      token: null,
      body: good.replace('"on_hand":2', '"on_hand":3'),
      headers: { "content-type": "application/json", ...sign(good) },
    });
    expect(res.status).toBe(401);
  });

  it("refuses a timestamp more than 5 minutes old or ahead", async () => {
    const old = await postEvents(inventoryEvent(), { at: new Date(Date.now() - 6 * 60_000) });
    expect(old.status).toBe(401);
    expect((await json(old)).error.message).toContain("5 minutes");
    const ahead = await postEvents(inventoryEvent(), { at: new Date(Date.now() + 6 * 60_000) });
    expect(ahead.status).toBe(401);
    const recent = await postEvents(inventoryEvent(), { at: new Date(Date.now() - 4 * 60_000) });
    expect(recent.status).toBe(202);
  });

  it("refuses missing signature headers", async () => {
    const { api } = await import("./helpers");
    const res = await api("/api/events", { method: "POST", token: null, body: JSON.stringify(inventoryEvent()), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(401);
    expect((await json(res)).error.message).toContain("webhook-id");
  });

  it("accepts the same webhook id delivered twice (a replay) without recording the event twice", async () => {
    const event = inventoryEvent();
    const before = await recorded();
    const first = await postEvents(event, { id: "msg_replayed" });
    const second = await postEvents(event, { id: "msg_replayed" });
    expect([first.status, second.status]).toEqual([202, 202]);
    // Unless the consumer finished it in between, the second copy is not recorded again.
    expect(await recorded()).toBeGreaterThanOrEqual(before + 1);
    expect(await recorded()).toBeLessThanOrEqual(before + 2);
  });
});

describe("POST /api/events: validation", () => {
  it("accepts a batch", async () => {
    const res = await postEvents({ events: [inventoryEvent(), inventoryEvent(), inventoryEvent()] });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 3 });
  });

  it("refuses a batch with one bad event, naming it, and records none of them", async () => {
    const before = await recorded();
    const bad = inventoryEvent({ type: "inventory_item.exploded" });
    const res = await postEvents({ events: [inventoryEvent(), bad, inventoryEvent({ occurred_at: "yesterday" })] });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.issues.map((i: { path: string }) => i.path)).toEqual(["events.1.type", "events.2.occurred_at"]);
    expect(await recorded()).toBe(before);
  });

  it("reports entity fields at their path", async () => {
    const res = await postEvents(inventoryEvent({}, { on_hand: "lots" }));
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues.map((i: { path: string }) => i.path)).toContain("data.on_hand");
  });

  it("refuses an unknown entity, a data.id that disagrees, and a created event without data", async () => {
    expect((await postEvents(inventoryEvent({ type: "planet.updated" }))).status).toBe(400);
    const mismatch = await postEvents(inventoryEvent({ entity_id: "inv_a" }, { id: "inv_b" }));
    expect((await json(mismatch)).error.issues).toEqual([{ path: "data.id", message: "data.id must equal entity_id" }]);
    const noData = inventoryEvent({ type: "inventory_item.created" });
    delete (noData as { data?: unknown }).data;
    expect((await json(await postEvents(noData))).error.issues[0].path).toBe("data");
  });

  it("accepts a deleted event with only an id", async () => {
    const event = inventoryEvent({ type: "inventory_item.deleted" });
    delete (event as { data?: unknown }).data;
    expect((await postEvents(event)).status).toBe(202);
  });

  it("refuses more than 500 events, an empty batch and invalid JSON", async () => {
    const many = Array.from({ length: 501 }, () => ({ id: "x" }));
    expect((await json(await postEvents({ events: many }))).error.issues).toEqual([{ path: "events", message: "Send at most 500 events per request" }]);
    expect((await postEvents({ events: [] })).status).toBe(400);
    const res = await postEvents("{oops");
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual({ code: "bad_request", message: "The body is not valid JSON" });
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await postEvents(inventoryEvent({}, { note: "x".repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe("payload_too_large");
  });
});
