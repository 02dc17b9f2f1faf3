import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { entitySchema, snapshotStatement, SnapshotRowSchema, upsertStatements, type EntityKind } from "../../worker/entities";
import { api, json, uid } from "../support/api";

/** Applies snapshots the way the queue consumer does: upserts, then the snapshot read, in one batch. */
async function apply(kind: EntityKind, rows: Parameters<typeof upsertStatements>[2], id = String(rows[0]!.data.id)) {
  const stmts = [...upsertStatements(env.DB, kind, rows), snapshotStatement(env.DB, kind, id)];
  const results = await env.DB.batch(stmts);
  const written = results.slice(0, -1).reduce((n, r) => n + r.meta.rows_written, 0);
  const raw = results.at(-1)!.results[0];
  return { written, row: raw === undefined ? undefined : SnapshotRowSchema.parse(raw) };
}

const item = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  variant_id: "var_1",
  shop_id: "shop_1",
  on_hand: 3,
  on_order: 0,
  target: 10,
  tags: ["sneakers"],
  ...over,
});

async function put(kind: string, body: string, contentType = "application/json") {
  return api(`/api/entities/${kind}`, { method: "PUT", body, headers: { "content-type": contentType } });
}

async function tagsInIndex(kind: string, id: string): Promise<string[]> {
  const res = await env.DB.prepare("SELECT tag FROM entity_tags WHERE entity = ? AND entity_id = ? ORDER BY tag").bind(kind, id).all<{ tag: string }>();
  return res.results.map((r) => r.tag);
}

describe("PUT /api/entities/{entity}", () => {
  it("upserts a JSON array and keeps attributes beyond the typed fields", async () => {
    const id = uid("inv");
    const res = await put("inventory_item", JSON.stringify([item(id, { season: "winter" })]));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ upserted: 1 });
    const one = await json(await api(`/api/entities/inventory_item/${id}`));
    expect(one).toMatchObject({ ...item(id), season: "winter", previous: null, deleted: false });
    expect(one.occurred_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const row = await env.DB.prepare("SELECT variant_id, shop_id, on_hand, on_order, target FROM inventory_items WHERE id = ?").bind(id).first();
    expect(row).toEqual({ variant_id: "var_1", shop_id: "shop_1", on_hand: 3, on_order: 0, target: 10 });
    expect(await tagsInIndex("inventory_item", id)).toEqual(["sneakers"]);
  });

  it("upserts NDJSON, ignoring blank lines", async () => {
    const [a, b] = [uid("shop"), uid("shop")];
    const body = `${JSON.stringify({ id: a, name: "North", kind: "store" })}\n\n${JSON.stringify({ id: b, name: "Depot", kind: "warehouse", region: "EU" })}\n`;
    const res = await put("shop", body, "application/x-ndjson");
    expect(await json(res)).toEqual({ upserted: 2 });
    expect(await json(await api(`/api/entities/shop/${b}`))).toMatchObject({ id: b, name: "Depot", kind: "warehouse", region: "EU", tags: [] });
  });

  it("takes 12,000 rows in one request", async () => {
    const prefix = uid("bulk");
    const rows = Array.from({ length: 12_000 }, (_, i) => item(`${prefix}_${String(i).padStart(5, "0")}`, { variant_id: `${prefix}_v${i % 600}`, shop_id: `s${i % 20}` }));
    const body = JSON.stringify(rows);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const res = await put("inventory_item", body);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ upserted: 12_000 });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM inventory_items WHERE id >= ? AND id < ?").bind(prefix, `${prefix}~`).first<{ n: number }>();
    expect(count?.n).toBe(12_000);
    const tags = await env.DB.prepare("SELECT count(*) AS n FROM entity_tags WHERE entity = 'inventory_item' AND tag = 'sneakers' AND entity_id >= ? AND entity_id < ?")
      .bind(prefix, `${prefix}~`)
      .first<{ n: number }>();
    expect(tags?.n).toBe(12_000);
  });

  it("takes a 10 MiB request, chunked by bytes", async () => {
    const prefix = uid("big");
    const note = "n".repeat(1024);
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: `${prefix}_${String(i).padStart(5, "0")}`, name: `Brand ${i}`, note }));
    const body = rows.map((r) => JSON.stringify(r)).join("\n");
    expect(body.length).toBeGreaterThan(10 * 1024 * 1024);
    const res = await put("brand", body, "application/x-ndjson");
    expect(await json(res)).toEqual({ upserted: 10_000 });
    const last = await json(await api(`/api/entities/brand/${prefix}_09999`));
    expect(last.note).toHaveLength(1024);
  });

  it("reports a bad row by its index and writes nothing", async () => {
    const prefix = uid("bad");
    const rows: Record<string, unknown>[] = Array.from({ length: 20 }, (_, i) => item(`${prefix}_${i}`));
    rows[12] = { ...rows[12], on_hand: "many" };
    rows[15] = { ...rows[15], target: -1, variant_id: undefined };
    const res = await put("inventory_item", JSON.stringify(rows));
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toBe("2 of 20 rows are not valid; nothing was written");
    expect(body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(["12.on_hand", "15.target", "15.variant_id"]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM inventory_items WHERE id LIKE ?").bind(`${prefix}%`).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("validates each kind's fields", async () => {
    const res = await put(
      "customer",
      JSON.stringify([
        { id: uid("c"), email: "not-an-email" },
        { id: uid("c"), email: "a@example.com", tags: "vip" },
      ]),
    );
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues.map((i: { path: string }) => i.path)).toEqual(["0.email", "1.tags"]);
    const shop = await put("shop", JSON.stringify([{ id: uid("s"), name: "X", kind: "kiosk" }]));
    expect((await json(shop)).error.issues[0].path).toBe("0.kind");
    const ctl = await put("brand", JSON.stringify([{ id: "a\u0001b", name: "X" }]));
    expect((await json(ctl)).error.issues[0]).toEqual({ path: "0.id", message: "An id may not contain control characters" });
  });

  it("refuses an entity over 256 KiB of JSON", async () => {
    const res = await put("brand", JSON.stringify([{ id: uid("b"), name: "ok" }, { id: uid("b"), name: "big", note: "x".repeat(300 * 1024) }]));
    expect(res.status).toBe(400);
    expect((await json(res)).error.issues).toEqual([{ path: "1", message: "An entity is at most 256 KiB of JSON" }]);
  });

  it("reports an NDJSON line that is not JSON", async () => {
    const res = await put("shop", `${JSON.stringify({ id: uid("s"), name: "A", kind: "store" })}\n{oops\n`, "application/x-ndjson");
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "bad_request", message: "Line 2 is not valid JSON", issues: [{ path: "1" }] });
  });

  it("refuses a body that is not an array, not JSON, or of another media type", async () => {
    expect((await json(await put("shop", JSON.stringify({ id: "x" })))).error.code).toBe("bad_request");
    expect((await json(await put("shop", "[{"))).error.message).toBe("The body is not valid JSON");
    const res = await put("shop", "id,name", "text/csv");
    expect(res.status).toBe(415);
    expect((await json(res)).error.code).toBe("unsupported_media_type");
  });

  it("answers 404 for an unknown entity kind", async () => {
    for (const res of [await put("spaceship", "[]"), await api("/api/entities/spaceship"), await api("/api/entities/spaceship/x")]) {
      expect(res.status).toBe(404);
      expect((await json(res)).error.message).toContain('No entity kind "spaceship"');
    }
    expect((await api(`/api/entities/shop/${uid("none")}`)).status).toBe(404);
  });

  it("answers 413 for a body over 32 MiB (the middleware) and for more than 50,000 rows", async () => {
    const big = await put("shop", `[${"x".repeat(33 * 1024 * 1024)}]`);
    expect(big.status).toBe(413);
    expect((await json(big)).error.code).toBe("payload_too_large");
    const many = await put("brand", `[${Array.from({ length: 50_001 }, () => "{}").join(",")}]`);
    expect(many.status).toBe(413);
    expect((await json(many)).error.message).toContain("at most 50000 rows");
  });

  it("keeps the last row when one request repeats an id", async () => {
    const id = uid("dup");
    await put("brand", JSON.stringify([{ id, name: "First" }, { id, name: "Second" }]));
    expect((await json(await api(`/api/entities/brand/${id}`))).name).toBe("Second");
  });

  it("keeps the replaced snapshot as previous", async () => {
    const id = uid("prev");
    await put("inventory_item", JSON.stringify([item(id, { on_hand: 0 })]));
    await put("inventory_item", JSON.stringify([item(id, { on_hand: 7 })]));
    const one = await json(await api(`/api/entities/inventory_item/${id}`));
    expect(one.on_hand).toBe(7);
    expect(one.previous).toMatchObject({ id, on_hand: 0 });
  });

  it("is described in the OpenAPI document", async () => {
    const doc = await json(await api("/api/openapi.json"));
    expect(doc.paths["/api/entities/{entity}"].put.requestBody.content).toHaveProperty("application/x-ndjson");
    expect(doc.paths["/api/entities/{entity}"].get).toBeDefined();
    expect(doc.paths["/api/entities/{entity}/{id}"].get).toBeDefined();
  });
});

describe("GET /api/entities/{entity}", () => {
  async function seedShops(prefix: string) {
    const shops = [
      { id: `${prefix}_a`, name: "Berlin Mitte", kind: "store", tags: ["flagship", "eu"] },
      { id: `${prefix}_b`, name: "Hamburg Depot", kind: "warehouse", tags: ["eu"] },
      { id: `${prefix}_c`, name: "Online EU", kind: "online", tags: ["eu", "web"] },
      { id: `${prefix}_d`, name: "BERLIN outlet", kind: "store", tags: ["outlet"] },
    ];
    expect((await put("shop", JSON.stringify(shops))).status).toBe(200);
  }

  it("filters by tag and pages with a cursor", async () => {
    const prefix = uid("tagged");
    await seedShops(prefix);
    const tag = "eu";
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json(await api(`/api/entities/shop?tag=${tag}&limit=2&q=${prefix}${cursor ? `&cursor=${cursor}` : ""}`));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s: { id: string }) => s.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([`${prefix}_a`, `${prefix}_b`, `${prefix}_c`]);
  });

  it("searches id and name case-insensitively (q)", async () => {
    const prefix = uid("search");
    await seedShops(prefix);
    const berlin = await json(await api(`/api/entities/shop?q=berlin&limit=500`));
    const mine = berlin.items.filter((s: { id: string }) => s.id.startsWith(prefix)).map((s: { id: string }) => s.id);
    expect(mine).toEqual([`${prefix}_a`, `${prefix}_d`]);
    const byId = await json(await api(`/api/entities/shop?q=${prefix.toUpperCase()}_C`));
    expect(byId.items.map((s: { id: string }) => s.id)).toEqual([`${prefix}_c`]);
    const none = await json(await api(`/api/entities/shop?q=${prefix}_zzz`));
    expect(none).toEqual({ items: [], next_cursor: null });
  });

  it("pages through every entity of a kind without repeats", async () => {
    const prefix = uid("paging");
    await put("brand", JSON.stringify(Array.from({ length: 7 }, (_, i) => ({ id: `${prefix}_${i}`, name: `Brand ${i}` }))));
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json(await api(`/api/entities/brand?limit=3&q=${prefix}${cursor ? `&cursor=${cursor}` : ""}`));
      ids.push(...page.items.map((b: { id: string }) => b.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(ids).toEqual(Array.from({ length: 7 }, (_, i) => `${prefix}_${i}`));
  });

  it("refuses a bad limit or cursor", async () => {
    expect((await api("/api/entities/shop?limit=0")).status).toBe(400);
    expect((await api("/api/entities/shop?cursor=%%%")).status).toBe(400);
  });
});

describe("the store the queue consumer uses", () => {
  it("validates snapshots with the kind's schema", () => {
    expect(entitySchema("inventory_item").safeParse(item("x")).success).toBe(true);
    expect(entitySchema("inventory_item").safeParse({ ...item("x"), on_hand: 1.5 }).success).toBe(false);
    expect(entitySchema("recommendation").safeParse({ id: "r", inventory_item_id: "i", score: 1.2 }).success).toBe(false);
    expect(() => upsertStatements(env.DB, "product", [{ data: { id: "p" }, occurredAt: "2026-01-01T00:00:00Z", eventId: "e" }])).toThrow(/brand_id|expected/i);
  });

  it("never lets an older snapshot overwrite a newer one, and keeps what it replaced", async () => {
    const id = uid("order");
    await apply("inventory_item", [{ data: item(id, { on_hand: 1 }), occurredAt: "2026-11-22T10:00:00Z", eventId: "evt_a" }]);
    const second = await apply("inventory_item", [{ data: item(id, { on_hand: 2 }), occurredAt: "2026-11-22T11:00:00+01:00", eventId: "evt_b" }]);
    // 11:00+01:00 is 10:00Z, same instant as the first: the event id breaks the tie.
    expect(second.row).toMatchObject({ event_id: "evt_b", occurred_at: "2026-11-22T10:00:00.000Z", data: { on_hand: 2 }, previous: { on_hand: 1 } });
    const older = await apply("inventory_item", [{ data: item(id, { on_hand: 9 }), occurredAt: "2026-11-22T09:59:59Z", eventId: "evt_c" }]);
    expect(older.written).toBe(0);
    expect(older.row).toMatchObject({ event_id: "evt_b", data: { on_hand: 2 }, previous: { on_hand: 1 } });
  });

  it("changes nothing when the same event is applied again", async () => {
    const id = uid("again");
    const row = { data: item(id, { tags: ["a", "b"] }), occurredAt: "2026-11-22T10:00:00Z", eventId: "evt_1" };
    const first = await apply("inventory_item", [row]);
    expect(first.written).toBeGreaterThan(0);
    const again = await apply("inventory_item", [row]);
    expect(again.written).toBe(0);
    expect(again.row).toMatchObject({ event_id: "evt_1", previous: null });
  });

  it("writes exactly one row to update an entity whose indexed columns and tags did not change", async () => {
    const id = uid("one");
    await apply("inventory_item", [{ data: item(id, { tags: ["x", "y"] }), occurredAt: "2026-11-22T10:00:00Z", eventId: "e1" }]);
    const update = await apply("inventory_item", [{ data: item(id, { tags: ["y", "x"], on_hand: 0, note: "recount" }), occurredAt: "2026-11-22T10:05:00Z", eventId: "e2" }]);
    expect(update.written).toBe(1);
    expect(update.row).toMatchObject({ data: { on_hand: 0, note: "recount" }, previous: { on_hand: 3 } });
  });

  it("rewrites only the tag rows that changed and the index entries of moved columns", async () => {
    const id = uid("tags");
    await apply("inventory_item", [{ data: item(id, { tags: ["a", "b"] }), occurredAt: "2026-11-22T10:00:00Z", eventId: "e1" }]);
    // Table row 1, tag a deleted 1, tag c inserted 1.
    const retag = await apply("inventory_item", [{ data: item(id, { tags: ["b", "c"] }), occurredAt: "2026-11-22T10:01:00Z", eventId: "e2" }]);
    expect(retag.written).toBe(3);
    expect(await tagsInIndex("inventory_item", id)).toEqual(["b", "c"]);
    // Moving shop rewrites the row and its (variant_id, shop_id) index entry.
    const moved = await apply("inventory_item", [{ data: item(id, { tags: ["b", "c"], shop_id: "shop_2" }), occurredAt: "2026-11-22T10:02:00Z", eventId: "e3" }]);
    expect(moved.written).toBe(2);
    const got = await env.DB.prepare("SELECT shop_id FROM inventory_items WHERE id = ?").bind(id).first<{ shop_id: string }>();
    expect(got?.shop_id).toBe("shop_2");
  });

  it("marks a deletion that carries only the id, keeps the last snapshot and drops its tags", async () => {
    const id = uid("del");
    await apply("inventory_item", [{ data: item(id, { tags: ["gone"] }), occurredAt: "2026-11-22T10:00:00Z", eventId: "e1" }]);
    const del = await apply("inventory_item", [{ data: { id }, occurredAt: "2026-11-22T11:00:00Z", eventId: "e2", deleted: true }]);
    expect(del.row).toMatchObject({ deleted: true, event_id: "e2", data: { id, on_hand: 3, tags: ["gone"] }, previous: { on_hand: 3 } });
    expect(await tagsInIndex("inventory_item", id)).toEqual([]);
    const listed = await json(await api(`/api/entities/inventory_item?q=${id}`));
    expect(listed.items).toEqual([]);
    expect((await json(await api(`/api/entities/inventory_item/${id}`))).deleted).toBe(true);
    // An update older than the deletion does not bring it back.
    const late = await apply("inventory_item", [{ data: item(id), occurredAt: "2026-11-22T10:30:00Z", eventId: "e3" }]);
    expect(late.row).toMatchObject({ deleted: true, event_id: "e2" });
    expect(await tagsInIndex("inventory_item", id)).toEqual([]);
  });

  it("keeps a tombstone for a deletion of an entity it never held", async () => {
    const id = uid("tomb");
    const del = await apply("shop", [{ data: { id }, occurredAt: "2026-11-22T11:00:00Z", eventId: "e9", deleted: true }]);
    expect(del.row).toMatchObject({ deleted: true, data: { id } });
    const created = await apply("shop", [{ data: { id, name: "Late", kind: "store" }, occurredAt: "2026-11-22T10:00:00Z", eventId: "e1" }]);
    expect(created.written).toBe(0);
    expect(created.row?.deleted).toBe(true);
    // A newer snapshot revives it.
    const revived = await apply("shop", [{ data: { id, name: "Back", kind: "store", tags: ["new"] }, occurredAt: "2026-11-22T12:00:00Z", eventId: "e10" }]);
    expect(revived.row).toMatchObject({ deleted: false, data: { name: "Back" } });
    expect(await tagsInIndex("shop", id)).toEqual(["new"]);
  });

  it("chunks a large upsert into statements of at most 100 parameters", async () => {
    const prefix = uid("chunk");
    const rows = Array.from({ length: 2500 }, (_, i) => ({ data: item(`${prefix}_${i}`), occurredAt: "2026-11-22T10:00:00Z", eventId: `e${i}` }));
    const stmts = upsertStatements(env.DB, "inventory_item", rows);
    // 2,500 rows in chunks of 1,000: three chunks of four statements.
    expect(stmts).toHaveLength(12);
    await env.DB.batch(stmts);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM inventory_items WHERE id LIKE ?").bind(`${prefix}%`).first<{ n: number }>();
    expect(count?.n).toBe(2500);
  });
});
