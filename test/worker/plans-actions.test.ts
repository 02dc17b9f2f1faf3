import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createOrGetPlan } from "../../worker/nodes/create-or-get-plan";
import { addItemsToPlan } from "../../worker/nodes/add-items-to-plan";
import { addItems } from "../../worker/planning/add-items";
import { writeLines } from "../../worker/planning/plan-store";
import { lineIdOf } from "../../worker/planning/plan-view";
import { api, json, uid } from "../support/api";
import { countersOf, ctxOf, depsOf, itemsStep, mirror, NOW, outputOf, planStep, scopeOf, world, type World } from "../support/plan-fixtures";

/*
 * Plans a planner can act on (issue 14): lines with names, stock, values and their reason, totals
 * per shop, approve / reopen / close / cancel, a line's quantity set by hand, and the CSV export.
 */

const setStatus = (id: string, status: string) => api(`/api/plans/${id}/status`, { method: "POST", json: { status } });
const patchLine = (id: string, lineId: string, body: unknown) => api(`/api/plans/${id}/lines/${lineId}`, { method: "PATCH", json: body });
const lines = async (id: string, query = "") => json(await api(`/api/plans/${id}/lines${query}`));
const itemLine = (w: World, short: string) => lineIdOf(`i\u0001${w.id(short)}`);

/** A restock plan of fill-to-target lines for brand B1's items: V1a_S1 5, V1b_S1 4, V1b_S2 1, V2a_S2 2 (see world()). */
async function restockOfBrand(w: World, name = uid("restock")) {
  const plan = await planStep({ kind: "restock", name });
  const planId = (plan as { output: { plan_id: string } }).output.plan_id;
  outputOf(await itemsStep({ plan: planId, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fill_to_target" } }));
  return planId;
}

/** create_or_get_plan and add_items_to_plan as a test run (`POST /api/workflows/{id}/test`) runs them. */
async function testRunPlan(w: World) {
  const c = { ...ctxOf({ nodeId: "plan" }), test: true };
  const made = await createOrGetPlan.execute(createOrGetPlan.resolve!(createOrGetPlan.configSchema.parse({ kind: "restock", name: uid("test-plan") }), scopeOf(), NOW), c, depsOf());
  if (made.ok !== true) throw new Error(JSON.stringify(made));
  const planId = (made.output as { plan_id: string }).plan_id;
  const input = addItemsToPlan.resolve!(
    addItemsToPlan.configSchema.parse({ plan: planId, filter: { entity: "product_variant", ids: [w.id("V2a")] }, quantity: { strategy: "fill_to_target" } }),
    scopeOf(),
    NOW,
  );
  const res = await addItems(input, { ...ctxOf(), test: true }, { db: env.DB });
  expect(res.ok).toBe(true);
  return planId;
}

describe("GET /api/plans/{id}/lines", () => {
  it("names each line's product, brand, size and shop, with the item's stock, the line's values and its reason", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    const res = await api(`/api/plans/${id}/lines`);
    expect(res.status).toBe(200);
    const page = await json(res);
    expect(page.next_cursor).toBeNull();
    const byItem = new Map(page.items.map((l: { inventory_item_id: string }) => [w.short(l.inventory_item_id), l]));
    expect([...byItem.keys()].sort()).toEqual(["V1a_S1", "V1b_S1", "V1b_S2", "V2a_S2"]);
    expect(byItem.get("V1a_S1")).toEqual({
      line_id: itemLine(w, "V1a_S1"),
      inventory_item_id: w.id("V1a_S1"),
      variant_id: w.id("V1a"),
      shop_id: w.id("S1"),
      quantity: 5,
      from_shop_id: null,
      to_shop_id: null,
      discount_percent: null,
      markdown_date: null,
      strategy: "quantity:fill_to_target",
      score: null, // fill to target reads no recommendation
      run_id: expect.stringMatching(/^run_/),
      node_id: "items",
      test: false,
      edited_at: null,
      product_id: w.id("P1"),
      product_name: "Runner",
      brand_id: w.id("B1"),
      brand_name: "Brand one",
      size: "42",
      sku: null,
      shop_name: "Store 1",
      from_shop_name: null,
      on_hand: 1,
      on_order: 0,
      target: 6,
      from_on_hand: null,
      unit_cost: 50,
      unit_price: 100,
      cost_value: 250,
      retail_value: 500,
    });
    // V1b has its own price (120) and its product's cost (50); on order counts against the target.
    expect(byItem.get("V1b_S2")).toMatchObject({ quantity: 1, on_hand: 2, on_order: 1, target: 4, unit_cost: 50, unit_price: 120, cost_value: 50, retail_value: 120 });
  });

  it("shows a transfer's sending shop with its stock, a markdown line's retail value less its discount, and a score's line", async () => {
    const w = await world();
    const rebalance = (await planStep({ kind: "rebalance", name: uid("rebalance") })) as { output: { plan_id: string } };
    outputOf(await itemsStep({ plan: rebalance.output.plan_id, filter: { entity: "product_variant", ids: [w.id("V1a")] }, matching: { strategy: "score" } }));
    const [transfer] = (await lines(rebalance.output.plan_id)).items;
    // V1a: S2 holds 5 over its target, W 10; S1 lacks 5 and scores highest.
    expect(transfer).toMatchObject({ to_shop_id: w.id("S1"), shop_name: "Store 1", on_hand: 1, target: 6, strategy: "matching:score" });
    expect(transfer.from_shop_name).toBe(transfer.from_shop_id === w.id("W") ? "Warehouse" : "Store 2");
    expect(transfer.from_on_hand).toBe(transfer.from_shop_id === w.id("W") ? 20 : 8);

    const markdown = (await planStep({ kind: "markdown", name: uid("markdown") })) as { output: { plan_id: string } };
    outputOf(
      await itemsStep({
        plan: markdown.output.plan_id,
        filter: { entity: "inventory_item", ids: [w.id("V1a_S1")] },
        quantity: { strategy: "fixed", quantity: 2 },
        discount: { strategy: "fixed", percent: 25 },
      }),
    );
    const [line] = (await lines(markdown.output.plan_id)).items;
    expect(line).toMatchObject({ quantity: 2, discount_percent: 25, unit_price: 100, cost_value: 100, retail_value: 150, strategy: "discount:fixed" });

    // A recommendation's quantity: the line keeps the score that chose it.
    const scored = (await planStep({ kind: "restock", name: uid("scored") })) as { output: { plan_id: string } };
    outputOf(await itemsStep({ plan: scored.output.plan_id, filter: { entity: "inventory_item", ids: [w.id("V1a_S1")] }, quantity: { strategy: "score", min_score: 0.5 } }));
    expect((await lines(scored.output.plan_id)).items[0]).toMatchObject({ quantity: 4, strategy: "quantity:score", score: 0.9 });
  });

  it("keeps nulls for what the mirror lacks, and marks the lines of test runs", async () => {
    const w = await world();
    const orphan = uid("orphan");
    await mirror("inventory_item", [{ id: orphan, variant_id: uid("no-variant"), shop_id: uid("no-shop"), on_hand: 0, on_order: 0, target: 3 }]);
    const id = (await planStep({ kind: "restock", name: uid("orphans") }) as { output: { plan_id: string } }).output.plan_id;
    outputOf(await itemsStep({ plan: id, filter: { entity: "inventory_item", ids: [orphan] }, quantity: { strategy: "fill_to_target" } }));
    const [line] = (await lines(id)).items;
    expect(line).toMatchObject({ quantity: 3, product_name: null, brand_name: null, shop_name: null, unit_cost: null, unit_price: null, cost_value: null, retail_value: null });

    const testPlan = await testRunPlan(w);
    const page = await lines(testPlan);
    expect(page.items.map((l: { test: boolean }) => l.test)).toEqual([true]);
    expect((await json(await api(`/api/plans/${testPlan}`))).test).toBe(true);
    expect((await lines(testPlan, "?test=false")).items).toEqual([]);
  });

  it("filters by words, shop and test mark, and pages with a cursor", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    const names = async (q: string) => (await lines(id, q)).items.map((l: { inventory_item_id: string }) => w.short(l.inventory_item_id)).sort();
    expect(await names("?q=tee")).toEqual(["V2a_S2"]);
    expect(await names("?q=runner%2043")).toEqual(["V1b_S1", "V1b_S2"]);
    expect(await names(`?shop_id=${w.id("S2")}`)).toEqual(["V1b_S2", "V2a_S2"]);
    expect(await names("?q=100%25")).toEqual([]); // % is a character, not a wildcard
    expect(await names("?test=false")).toHaveLength(4);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { line_id: string }[]; next_cursor: string | null } = await lines(id, `?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.items.map((l) => l.line_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
  });

  it("answers 404 for an unknown plan and 400 for a bad limit, cursor or filter", async () => {
    expect((await api("/api/plans/plan_nope/lines")).status).toBe(404);
    const w = await world();
    const id = await restockOfBrand(w);
    const notALine = btoa(JSON.stringify("nope")).replaceAll("=", ""); // a well-formed cursor naming no line
    for (const q of ["?limit=0", "?limit=1001", "?cursor=***", `?cursor=${notALine}`, "?test=maybe", `?q=${"x".repeat(201)}`]) {
      const res = await api(`/api/plans/${id}/lines${q}`);
      expect(res.status, q).toBe(400);
      expect((await json(res)).error.code).toMatch(/bad_request|validation_failed/);
    }
  });
});

describe("GET /api/plans/{id}/totals", () => {
  it("adds units, cost and retail value per shop and in all, counting test lines and lines without prices", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    const res = await api(`/api/plans/${id}/totals`);
    expect(res.status).toBe(200);
    const body = await json(res);
    // S1: V1a 5 × (50, 100) + V1b 4 × (50, 120); S2: V1b 1 × (50, 120) + V2a 2 × (70, 80).
    expect(body.shops).toEqual([
      { shop_id: w.id("S1"), shop_name: "Store 1", lines: 2, units: 9, cost_value: 450, retail_value: 980, unpriced_lines: 0, test_lines: 0 },
      { shop_id: w.id("S2"), shop_name: "Store 2", lines: 2, units: 3, cost_value: 190, retail_value: 280, unpriced_lines: 0, test_lines: 0 },
    ]);
    expect(body).toMatchObject({ plan_id: id, totals: { lines: 4, units: 12, cost_value: 640, retail_value: 1260, unpriced_lines: 0, test_lines: 0 } });
    const plan = await json(await api(`/api/plans/${id}`));
    expect([plan.item_count, plan.total_quantity]).toEqual([body.totals.lines, body.totals.units]);

    const empty = await planStep({ kind: "restock", name: uid("empty") });
    const none = await json(await api(`/api/plans/${(empty as { output: { plan_id: string } }).output.plan_id}/totals`));
    expect(none).toMatchObject({ totals: { lines: 0, units: 0, cost_value: 0, retail_value: 0 }, shops: [] });
    expect((await api("/api/plans/plan_nope/totals")).status).toBe(404);
  });
});

describe("PATCH /api/plans/{id}/lines/{line_id}", () => {
  it("sets a line's quantity, moves the plan's total with it and marks the line edited", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    const res = await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 2 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.line).toMatchObject({ line_id: itemLine(w, "V1a_S1"), quantity: 2, cost_value: 100, retail_value: 200, product_name: "Runner" });
    expect(body.line.edited_at).toEqual(expect.any(String));
    expect(body.plan).toMatchObject({ id, item_count: 4, total_quantity: 9 });
    expect(await countersOf(id)).toEqual({ item_count: 4, total_quantity: 9, lines: 4, quantity: 9 });
    expect((await json(await api(`/api/plans/${id}/totals`))).totals.units).toBe(9);

    // Zero is a quantity; the same quantity again changes nothing.
    expect((await json(await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 0 }))).plan.total_quantity).toBe(7);
    const again = await json(await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 0 }));
    expect(again.plan.total_quantity).toBe(7);
    expect(await countersOf(id)).toEqual({ item_count: 4, total_quantity: 7, lines: 4, quantity: 7 });
  });

  it("refuses a quantity that is not a whole number of units from 0 with 400", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    for (const body of [{ quantity: -1 }, { quantity: 1.5 }, { quantity: "3" }, {}, { quantity: 2, note: "x" }, { quantity: 1_000_001 }, [], null]) {
      const res = await patchLine(id, itemLine(w, "V1a_S1"), body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).error.code).toMatch(/bad_request|validation_failed/);
    }
    const text = await api(`/api/plans/${id}/lines/${itemLine(w, "V1a_S1")}`, { method: "PATCH", body: "{", headers: { "content-type": "application/json" } });
    expect(text.status).toBe(400);
    expect(await countersOf(id)).toMatchObject({ total_quantity: 12, quantity: 12 });
  });

  it("answers 404 for an unknown plan or line and 409 on a closed or cancelled plan", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    expect((await patchLine("plan_nope", itemLine(w, "V1a_S1"), { quantity: 1 })).status).toBe(404);
    expect((await patchLine(id, itemLine(w, "V3a_S1"), { quantity: 1 })).status).toBe(404); // B2's item: not in this plan
    expect((await patchLine(id, "not-a-line-id", { quantity: 1 })).status).toBe(404);
    expect((await patchLine(id, lineIdOf("x\u0001y"), { quantity: 1 })).status).toBe(404);

    expect((await setStatus(id, "closed")).status).toBe(200);
    const closed = await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 1 });
    expect(closed.status).toBe(409);
    expect((await json(closed)).error).toMatchObject({ code: "conflict", message: "A closed plan cannot be edited; only draft, open and approved plans can" });

    const other = await restockOfBrand(w);
    expect((await setStatus(other, "cancelled")).status).toBe(200);
    expect((await patchLine(other, itemLine(w, "V1a_S1"), { quantity: 1 })).status).toBe(409);
    expect(await countersOf(other)).toMatchObject({ total_quantity: 12, quantity: 12 });
  });

  it("makes a run that read the old quantity recompute, and the run's write clears the edit mark", async () => {
    const w = await world();
    const name = uid("edited");
    const id = await restockOfBrand(w, name);
    const token = (await env.DB.prepare("SELECT write_token FROM plans WHERE id = ?").bind(id).first<{ write_token: string }>())!.write_token;
    await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 1 });
    // A page computed before the edit (held quantity 5) must not land: its counters would be off by 4.
    const stale = await writeLines(env.DB, {
      planId: id,
      token,
      diff: { writes: [], removes: [], added: 0, updated: 0, unchanged: 0, itemDelta: 0, quantityDelta: 3, total_quantity: 0 },
      runId: "run_stale",
      nodeId: "items",
      test: false,
      now: NOW,
    });
    expect(stale.applied).toBe(false);
    // The next run puts its own quantity back (fill to target: 5); the line is the run's again.
    outputOf(await itemsStep({ plan: id, filter: { entity: "brand", ids: [w.id("B1")] }, quantity: { strategy: "fill_to_target" } }));
    const line = (await lines(id)).items.find((l: { line_id: string }) => l.line_id === itemLine(w, "V1a_S1"));
    expect(line).toMatchObject({ quantity: 5, edited_at: null });
    expect(await countersOf(id)).toEqual({ item_count: 4, total_quantity: 12, lines: 4, quantity: 12 });
  });
});

describe("POST /api/plans/{id}/status: approve, reopen, close, cancel", () => {
  it("approves an open plan: runs no longer add to it, the next run starts a new open plan, a planner may still edit it", async () => {
    const w = await world();
    const name = uid("approve");
    const id = await restockOfBrand(w, name);
    const detail = await json(await api(`/api/plans/${id}?items_limit=1`));
    expect(detail).toMatchObject({ status: "open", next_statuses: ["approved", "closed", "cancelled"], editable: true, accepts_run_lines: true });

    const res = await setStatus(id, "approved");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id, status: "approved" });
    expect(await json(await api(`/api/plans/${id}?items_limit=1`))).toMatchObject({
      status: "approved",
      next_statuses: ["open", "closed", "cancelled"],
      editable: true,
      accepts_run_lines: false,
    });

    const refused = await itemsStep({ plan: id, filter: { entity: "brand", ids: [w.id("B2")] }, quantity: { strategy: "fixed", quantity: 1 } });
    expect(refused.result).toMatchObject({ ok: false, retryable: false });
    expect((refused.result as { error: string }).error).toContain("is approved; items can only be added to a draft or open plan");
    expect(await countersOf(id)).toMatchObject({ item_count: 4, total_quantity: 12 });

    const next = (await planStep({ kind: "restock", name })) as { output: { plan_id: string; created: boolean } };
    expect(next.output.created).toBe(true);
    expect(next.output.plan_id).not.toBe(id);

    expect((await patchLine(id, itemLine(w, "V1a_S1"), { quantity: 3 })).status).toBe(200);
    // Reopening collides with the new open plan of the same kind and name.
    const reopen = await setStatus(id, "open");
    expect(reopen.status).toBe(409);
    expect((await json(reopen)).error.message).toContain("close it first");
    expect((await setStatus(next.output.plan_id, "cancelled")).status).toBe(200);
    expect((await json(await setStatus(id, "open"))).status).toBe("open");
  });

  it("refuses moves the state machine does not allow with 409, and unknown statuses with 400", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    expect((await setStatus(id, "cancelled")).status).toBe(200);
    const res = await setStatus(id, "approved");
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatchObject({ code: "conflict", message: "A cancelled plan cannot become approved; cancelled is final" });
    expect((await json(await api(`/api/plans/${id}?items_limit=1`))).next_statuses).toEqual([]);
    expect((await setStatus(id, "cancelled")).status).toBe(200); // the current status: a no-op
    expect((await setStatus(id, "archived")).status).toBe(400);

    const draft = `plan_${uid()}`;
    await env.DB.prepare("INSERT INTO plans (id, kind, name, status, shops, created_at, updated_at) VALUES (?, 'restock', ?, 'draft', '{\"mode\":\"all\",\"ids\":[]}', ?, ?)")
      .bind(draft, uid("draft"), NOW.toISOString(), NOW.toISOString())
      .run();
    const early = await setStatus(draft, "approved");
    expect(early.status).toBe(409);
    expect((await json(early)).error.message).toBe("A draft plan cannot become approved; it can become open or closed or cancelled");
  });

  it("lists plans by the new statuses", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    await setStatus(id, "approved");
    const page = await json(await api("/api/plans?status=approved&limit=500"));
    expect(page.items.map((p: { id: string }) => p.id)).toContain(id);
    expect(page.items.every((p: { status: string }) => p.status === "approved")).toBe(true);
  });
});

describe("GET /api/plans/{id}/export.csv", () => {
  it("exports every line as CSV with a BOM, CRLF, quoting, and non-ASCII names intact", async () => {
    const w = await world();
    const p = uid("csv");
    await mirror("brand", [{ id: `${p}_B`, name: "Nordlicht Äpfel" }]);
    await mirror("product", [{ id: `${p}_P`, brand_id: `${p}_B`, name: 'Läufer "Zürich", 東京', price: 99.9, cost: 40 }]);
    await mirror("product_variant", [{ id: `${p}_V`, product_id: `${p}_P`, size: "42 ½", sku: "=cmd|' /C calc'!A0" }]);
    await mirror("shop", [{ id: `${p}_S`, name: "Zürich HB\nGleis 3", kind: "store" }]);
    await mirror("inventory_item", [{ id: `${p}_I`, variant_id: `${p}_V`, shop_id: `${p}_S`, on_hand: 1, on_order: 0, target: 6 }]);
    const name = `Réassort ${uid()}`;
    const id = (await planStep({ kind: "restock", name }) as { output: { plan_id: string } }).output.plan_id;
    outputOf(await itemsStep({ plan: id, filter: { entity: "inventory_item", ids: [`${p}_I`, w.id("V2a_S2")] }, quantity: { strategy: "fill_to_target" } }));

    const res = await api(`/api/plans/${id}/export.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const disposition = res.headers.get("content-disposition")!;
    expect(disposition).toMatch(/^attachment; filename="plan-R_assort [^"]+\.csv"; filename\*=UTF-8''plan-R%C3%A9assort%20/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes.slice(3));
    const rows = text.split("\r\n");
    expect(rows.at(-1)).toBe("");
    expect(rows[0]!.startsWith("Product,Brand,Size,SKU,Shop,From shop,On hand,On order,Target,From shop on hand,Quantity,Unit cost,Unit price,Cost value,Retail value,")).toBe(true);
    const mine = text.split("\r\n").find((r) => r.startsWith('"Läufer'))!;
    expect(mine).toBe(
      `"Läufer ""Zürich"", 東京",Nordlicht Äpfel,42 ½,'=cmd|' /C calc'!A0,"Zürich HB\nGleis 3",,1,0,6,,5,40.00,99.90,200.00,499.50,,,quantity:fill_to_target,,no,,` +
        `${p}_I,${p}_V,${p}_S,,${mine.split(",").at(-1)}`,
    );
    expect(text).toContain(`Tee,Brand one,M,,Store 2,,0,0,2,,2,70.00,80.00,140.00,160.00,,,quantity:fill_to_target,,no,`);
    expect(rows.filter((r) => r !== "")).toHaveLength(1 + 2); // the header and two lines (a quoted line break is not a row's end)
  });

  it("exports only the lines the filters keep, and answers 404 for an unknown plan", async () => {
    const w = await world();
    const id = await restockOfBrand(w);
    const text = await (await api(`/api/plans/${id}/export.csv?shop_id=${w.id("S2")}`)).text();
    expect(text.trim().split("\r\n")).toHaveLength(3);
    expect((await api("/api/plans/plan_nope/export.csv")).status).toBe(404);
    expect((await api(`/api/plans/${id}/export.csv?test=perhaps`)).status).toBe(400);
  });
});
