import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { api, json, uid } from "../support/api";
import { activeWorkflow, inventoryEvent, postBytes, postEvents, sign } from "../support/events";
import type { InboxObject } from "../../worker/intake/inbox-object";
import { INBOX_SHARDS, pickShard } from "../../worker/intake/shards";

const encoder = new TextEncoder();

/** Events every inbox shard has ever recorded. */
async function recorded() {
  let total = 0;
  for (let shard = 0; shard < INBOX_SHARDS; shard++) {
    total += (await env.INBOX.get(env.INBOX.idFromName(`inbox-${shard}`)).stats()).accepted_total;
  }
  return total;
}

/** Waits until the consumer has acknowledged the event: its inbox no longer holds it. */
async function processed(eventId: string) {
  const inbox = env.INBOX.get(env.INBOX.idFromName(`inbox-${pickShard(eventId)}`));
  await vi.waitFor(
    async () => {
      const held = await runInDurableObject(inbox, (_obj: InboxObject, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM inbox WHERE event_id = ?", eventId).one().n,
      );
      expect(held).toBe(0);
    },
    { timeout: 10_000, interval: 50 },
  );
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
    const res = await api("/api/events", { method: "POST", token: null, body: JSON.stringify(inventoryEvent()), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(401);
    expect((await json(res)).error.message).toContain("webhook-id");
  });

  it("accepts a body with a byte order mark when the signature covers it", async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(JSON.stringify(inventoryEvent({}, { note: "€ 価格 🧦" })))]);
    const res = await postBytes(body);
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ accepted: 1 });
  });

  it("answers 400, not 401, to a correctly signed body that is not UTF-8, recording nothing", async () => {
    const before = await recorded();
    const text = JSON.stringify(inventoryEvent({}, { note: "NOTE" }));
    const bytes = encoder.encode(text);
    bytes.set([0xc3, 0x28, 0xff, 0xfe], text.indexOf("NOTE"));
    const res = await postBytes(bytes);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toEqual({ code: "bad_request", message: "The body is not valid UTF-8" });
    expect(await recorded()).toBe(before);
  });

  it("refuses with 401 a signed body of which one byte changed", async () => {
    const signed = encoder.encode(JSON.stringify(inventoryEvent({}, { note: "価格" })));
    const tampered = signed.slice();
    tampered.set([signed[signed.length - 5]! ^ 0x01], signed.length - 5);
    expect((await postBytes(tampered, { signedBody: signed })).status).toBe(401);
  });
});

describe("POST /api/events: the same event twice", () => {
  it("starts each matching workflow once for the same event delivered twice, before and after it was processed", async () => {
    const tag = uid("dedup");
    const workflows = [await activeWorkflow({ tags: { include: [tag] } }), await activeWorkflow({ tags: { include: [tag] } })];
    const event = inventoryEvent({}, { tags: [tag] });
    const before = await recorded();
    // The platform replays a delivery (same webhook id) while the first copy is still in the inbox.
    const webhookId = `msg_${crypto.randomUUID()}`;
    expect((await postEvents(event, { id: webhookId })).status).toBe(202);
    expect((await postEvents(event, { id: webhookId })).status).toBe(202);
    await processed(event.id);
    // And sends it again once the first copy is done: recorded anew, it goes through the consumer again.
    expect((await postEvents(event)).status).toBe(202);
    expect(await recorded()).toBeGreaterThanOrEqual(before + 2);
    await processed(event.id);
    for (const wf of workflows) {
      const runs = await vi.waitFor(
        async () => {
          const page = await json(await api(`/api/runs?workflow_id=${wf}`));
          expect(page.items.length).toBeGreaterThan(0);
          return page.items;
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(runs.map((r: { event_id: string }) => r.event_id)).toEqual([event.id]);
    }
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

  it("refuses an event whose data nests deeper than 64 levels, naming it by its index, and records none", async () => {
    const nested = (levels: number) => JSON.parse("[".repeat(levels) + "]".repeat(levels)) as unknown;
    // The data object is the first level.
    expect((await postEvents(inventoryEvent({}, { deep: nested(63) }))).status).toBe(202);
    const before = await recorded();
    const events = [inventoryEvent(), inventoryEvent(), inventoryEvent(), inventoryEvent({}, { deep: nested(64) })];
    const res = await postEvents({ events });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "events.3.data", message: "data nests more than 64 levels deep" }]);
    expect(await recorded()).toBe(before);
  });

  it("answers 400, never 503, to bodies nested 1,000, 5,000 and 100,000 levels deep", async () => {
    const before = await recorded();
    for (const levels of [1_000, 5_000, 100_000]) {
      const body = JSON.stringify(inventoryEvent({}, { deep: "DEEP" })).replace('"DEEP"', "[".repeat(levels) + "]".repeat(levels));
      const res = await postEvents(body);
      expect(res.status, `${levels} levels`).toBe(400);
      expect((await json(res)).error).toEqual({ code: "bad_request", message: `The JSON nests ${levels + 2} levels deep; at most 128 are allowed` });
    }
    expect(await recorded()).toBe(before);
  });

  it("refuses an entity larger than the mirror keeps, counted in UTF-8 bytes, naming it by its index", async () => {
    // 80,000 "€" are 240,000 bytes: inside the 256 KiB a snapshot may have. 90,000 are 270,000 bytes.
    expect((await postEvents(inventoryEvent({}, { note: "€".repeat(80_000), tags: ["nothing-matches"] }))).status).toBe(202);
    const before = await recorded();
    const res = await postEvents({ events: [inventoryEvent(), inventoryEvent(), inventoryEvent({}, { note: "€".repeat(90_000) })] });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "events.2.data", message: "An entity is at most 256 KiB of JSON (UTF-8)" }]);
    expect(await recorded()).toBe(before);
  });

  it("refuses a deleted event whose fields the mirror could never take", async () => {
    const bad = inventoryEvent({ type: "inventory_item.deleted" }, { on_hand: "lots" });
    const longId = inventoryEvent({ type: "inventory_item.deleted", entity_id: "i".repeat(201) });
    delete (longId as { data?: unknown }).data;
    const res = await postEvents({ events: [bad, longId] });
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues.map((i: { path: string }) => i.path)).toEqual(["events.0.data.on_hand", "events.1.data.id"]);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await postEvents(inventoryEvent({}, { note: "x".repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe("payload_too_large");
  });
});

describe("dead events", () => {
  async function deadRow(body: string, eventId: string | null) {
    const id = uid("dead");
    await env.DB.prepare("INSERT INTO dead_events (id, event_id, body, attempts, dead_at) VALUES (?, ?, ?, 1, ?)")
      .bind(id, eventId, body, new Date().toISOString())
      .run();
    return id;
  }

  it("replays a dead event only through the intake's own checks", async () => {
    const [entity, kind] = ["inventory_item", "updated"];
    // Kept by an earlier version, which took entities the mirror cannot hold: 270,000 bytes.
    const large = inventoryEvent({}, { note: "€".repeat(90_000) });
    const id = await deadRow(JSON.stringify({ event: { ...large, entity, kind }, error: "kept failing" }), large.id);
    const before = await recorded();
    const res = await api(`/api/events/dead/${id}/replay`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).error.issues).toEqual([{ path: "data", message: "An entity is at most 256 KiB of JSON (UTF-8)" }]);
    expect(await recorded()).toBe(before);

    const fine = inventoryEvent();
    const good = await deadRow(JSON.stringify({ event: { ...fine, entity, kind }, error: "kept failing" }), fine.id);
    expect((await api(`/api/events/dead/${good}/replay`, { method: "POST" })).status).toBe(202);
    expect(await recorded()).toBe(before + 1);
  });

  it("lists a dead letter it cannot read without failing the page", async () => {
    const id = await deadRow("{not json", null);
    const res = await api("/api/events/dead?limit=500");
    expect(res.status).toBe(200);
    const item = (await json(res)).items.find((d: { id: string }) => d.id === id);
    expect(item).toMatchObject({ id, event: null, error: "This dead letter could not be read" });
    expect((await api(`/api/events/dead/${id}/replay`, { method: "POST" })).status).toBe(409);
  });
});

describe("refused requests (GET /api/events/refused)", () => {
  /** The refusals recorded for this webhook id (the header each test sets to its own). */
  async function refusalsOf(webhookId: string) {
    const res = await api("/api/events/refused?limit=500");
    expect(res.status).toBe(200);
    return (await json(res)).items.filter((r: { webhook_id: string | null }) => r.webhook_id === webhookId);
  }

  it("keeps why a signed request was refused, with its events' ids and the start of its body", async () => {
    const webhookId = uid("msg");
    const good = inventoryEvent({}, { note: "n".repeat(2000) });
    const bad = inventoryEvent({ type: "planet.updated" });
    const res = await postEvents({ events: [good, bad] }, { id: webhookId });
    expect(res.status).toBe(400);
    const answered = (await json(res)).error;
    const [kept, ...more] = await refusalsOf(webhookId);
    expect(more).toEqual([]);
    expect(kept).toMatchObject({
      status: 400,
      code: "validation_failed",
      reason: answered.message,
      issues: answered.issues,
      signed: true,
      event_count: 2,
      events: [
        { id: good.id, type: "inventory_item.updated", entity_id: good.entity_id },
        { id: bad.id, type: "planet.updated", entity_id: bad.entity_id },
      ],
    });
    expect(kept.excerpt).toBe(JSON.stringify({ events: [good, bad] }).slice(0, 1023) + "…");
    expect(kept.body_bytes).toBe(encoder.encode(JSON.stringify({ events: [good, bad] })).byteLength);
  });

  it("keeps nothing an unsigned request sent but its size: a bad signature is refused and recorded as such", async () => {
    const webhookId = uid("msg");
    const event = inventoryEvent();
    const res = await postEvents(event, { id: webhookId, secret: "whsec_" + btoa("someone-else-entirely-000000000") });
    expect(res.status).toBe(401);
    const [kept] = await refusalsOf(webhookId);
    expect(kept).toMatchObject({ status: 401, code: "unauthorized", reason: "No webhook-signature matches the body", signed: false, event_count: null, events: [], excerpt: null, issues: [] });
    expect(kept.body_bytes).toBe(encoder.encode(JSON.stringify(event)).byteLength);
  });

  it("records a signed body that is not JSON without failing, and lists refusals newest first", async () => {
    const webhookId = uid("msg");
    expect((await postEvents("{not json", { id: webhookId })).status).toBe(400);
    expect((await postEvents("[1, 2]", { id: webhookId })).status).toBe(400);
    const kept = await refusalsOf(webhookId);
    expect(kept.map((r: { excerpt: string }) => r.excerpt)).toEqual(["[1, 2]", "{not json"]);
    expect(kept.map((r: { event_count: number | null }) => r.event_count)).toEqual([null, null]);
  });

  it("answers an accepted request as before and records nothing for it", async () => {
    const webhookId = uid("msg");
    expect((await postEvents(inventoryEvent(), { id: webhookId })).status).toBe(202);
    expect(await refusalsOf(webhookId)).toEqual([]);
  });

  it("needs a token, pages with a cursor and refuses a bad one", async () => {
    expect((await api("/api/events/refused", { token: null })).status).toBe(401);
    for (let i = 0; i < 3; i++) await postEvents("{", { id: uid("msg") });
    const first = await json(await api("/api/events/refused?limit=2"));
    expect(first.items).toHaveLength(2);
    const second = await json(await api(`/api/events/refused?limit=2&cursor=${first.next_cursor}`));
    expect(second.items[0].id < first.items[1].id).toBe(true);
    expect((await api("/api/events/refused?cursor=nonsense")).status).toBe(400);
  });

  it("keeps only the last 500: recording one more drops the oldest", async () => {
    // 600 old rows, written at once (ids before any real one), then a real refusal.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
       INSERT INTO refused_events (id, refused_at, status, code, reason, issues, webhook_id, signed, body_bytes, event_count, events, excerpt)
       SELECT printf('ref_0000000000%05d', i), '2026-01-01T00:00:00.000Z', 401, 'unauthorized', 'old', '[]', NULL, 0, 0, NULL, '[]', NULL FROM n`,
    ).run();
    const webhookId = uid("msg");
    expect((await postEvents("{", { id: webhookId })).status).toBe(400);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM refused_events").first<{ n: number }>())!;
    expect(n).toBe(500);
    expect(await refusalsOf(webhookId)).toHaveLength(1);
    const oldest = await env.DB.prepare("SELECT min(id) AS id FROM refused_events").first<{ id: string }>();
    expect(oldest!.id > "ref_0000000000" + "00100").toBe(true);
  });
});

describe("replaying a dead event", () => {
  async function deadEvent() {
    const event = inventoryEvent();
    const id = uid("dead");
    const body = JSON.stringify({ event: { ...event, entity: "inventory_item", kind: "updated" }, error: "The workflow's definition could not be read" });
    await env.DB.prepare("INSERT INTO dead_events (id, event_id, body, attempts, dead_at) VALUES (?, ?, ?, 5, ?)").bind(id, event.id, body, new Date().toISOString()).run();
    return { id, event };
  }
  const listed = async (id: string) => (await json(await api("/api/events/dead?limit=500"))).items.some((d: { id: string }) => d.id === id);

  it("queues it once: it leaves the list, and a second replay is a 409 that queues nothing", async () => {
    const { id, event } = await deadEvent();
    expect(await listed(id)).toBe(true);
    const before = await recorded();
    const res = await api(`/api/events/dead/${id}/replay`, { method: "POST" });
    expect(res.status).toBe(202);
    expect(await json(res)).toEqual({ replayed: true, event_id: event.id });
    expect(await listed(id)).toBe(false);
    const again = await api(`/api/events/dead/${id}/replay`, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe("conflict");
    expect(await recorded()).toBe(before + 1);
  });

  it("queues it once when two replays arrive together", async () => {
    const { id } = await deadEvent();
    const before = await recorded();
    const answers = await Promise.all([api(`/api/events/dead/${id}/replay`, { method: "POST" }), api(`/api/events/dead/${id}/replay`, { method: "POST" })]);
    expect(answers.map((r) => r.status).sort()).toEqual([202, 409]);
    expect(await recorded()).toBe(before + 1);
  });

  it("answers 404 for an id no dead event has", async () => {
    const res = await api(`/api/events/dead/${uid("none")}/replay`, { method: "POST" });
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });
});
