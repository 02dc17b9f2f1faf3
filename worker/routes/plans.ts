import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../errors";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { log } from "../log";
import { pageSchema } from "../contract/page";
import {
  PlanDetailSchema,
  PlanLineEditAnswerSchema,
  PlanLineEditSchema,
  PlanLineSchema,
  PlanLinesQuerySchema,
  PlanListQuerySchema,
  PlanSchema,
  PlanStatusChangeSchema,
  PlanTotalsSchema,
  type Plan as PlanRecord,
  type PlanLine,
} from "../contract/plan";
import { getPlan, getPlanLine, listPlanItems, listPlanLines, listPlans, planTotals, setLineQuantity, setPlanStatus, type LineFilter } from "../planning/plan-store";
import { acceptsEdits, acceptsRunLines, PLAN_TRANSITIONS, refusesEdits, transition } from "../planning/plan-status";
import { lineKeyOf } from "../planning/plan-view";

export const plansApp = router();

const Plan = PlanSchema.openapi("Plan");
const PlanDetail = PlanDetailSchema.openapi("PlanWithItems");

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const notFound = { 404: errorResponse("No plan has this id") };

/** Lines per response; a plan may hold 100,000, so they page with items_cursor. */
const ITEMS_DEFAULT = 1000;
const ITEMS_MAX = 5000;

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listPlans",
    summary: "List plans, newest first",
    description: "Each plan says whether a test run made it (`test`); `?test=false` lists the real plans only.",
    request: { query: PlanListQuerySchema },
    responses: { 200: jsonContent(pageSchema(Plan), "A page of plans with their line count and total quantity"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const test = q.test === undefined ? undefined : q.test === "true";
    const page = await readPage(q, (before, limit) => listPlans(c.env.DB, { kind: q.kind, status: q.status, test, limit, before }), {
      schema: z.string(),
      of: (p) => p.id,
    });
    return c.json(page, 200);
  },
);

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    operationId: "getPlan",
    summary: "A plan with its lines",
    description: `Lines come in key order (item lines by item id, then transfers by variant), ${ITEMS_DEFAULT} at a time unless items_limit says otherwise (at most ${ITEMS_MAX}); follow items_next_cursor for more.`,
    request: {
      params: IdParam,
      query: z.object({
        items_limit: z.coerce.number().int().min(1).max(ITEMS_MAX).default(ITEMS_DEFAULT),
        items_cursor: z.string().max(2000).optional(),
      }),
    },
    responses: { 200: jsonContent(PlanDetail, "The plan"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const plan = await getPlan(c.env.DB, id);
    if (!plan) throw new AppError("not_found", `No plan has the id ${id}`);
    const lines = await readPage({ limit: q.items_limit, cursor: q.items_cursor }, (after, limit) => listPlanItems(c.env.DB, id, { limit, after }), {
      schema: z.string(),
      of: (l) => l.key,
    });
    return c.json(
      {
        ...plan,
        items: lines.items.map((l) => l.item),
        items_next_cursor: lines.next_cursor,
        next_statuses: [...PLAN_TRANSITIONS[plan.status]],
        editable: acceptsEdits(plan.status),
        accepts_run_lines: acceptsRunLines(plan.status),
      },
      200,
    );
  },
);

plansApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/status",
    operationId: "setPlanStatus",
    summary: "Approve, reopen, close or cancel a plan",
    description:
      "draft→open|closed|cancelled; open→approved|closed|cancelled; approved→open|closed|cancelled; closed and cancelled are final. " +
      "Runs add lines to draft and open plans only: approving freezes a plan against runs (the next create_or_get_plan of its kind and name starts a new open plan), " +
      "while a planner may still edit its quantities. Asking for the current status changes nothing.",
    request: { params: IdParam, ...jsonBody(PlanStatusChangeSchema) },
    responses: {
      200: jsonContent(Plan, "The plan with its new status"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The transition is not allowed, or another open plan has this kind, name and test mark"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { status } = c.req.valid("json");
    const plan = await getPlan(c.env.DB, id);
    if (!plan) throw new AppError("not_found", `No plan has the id ${id}`);
    const move = transition(plan.status, status);
    if (!move.ok) throw new AppError("conflict", move.reason);
    if (!move.change) return c.json(plan, 200);
    const now = new Date();
    let moved: boolean;
    try {
      moved = await setPlanStatus(c.env.DB, id, plan.status, status, now);
    } catch (err) {
      // Opening a draft collides with plans_open_kind_name when a plan of that kind and name is open.
      if (isUniqueViolation(err)) {
        throw new AppError("conflict", `Another open ${plan.kind}${plan.test ? " test" : ""} plan is named ${JSON.stringify(plan.name)}; close it first`);
      }
      throw err;
    }
    if (!moved) throw new AppError("conflict", "The plan changed at the same time; reload it and try again");
    log("plan", { plan_id: id, status, from: plan.status });
    return c.json({ ...plan, status, updated_at: now.toISOString() }, 200);
  },
);

const LineParams = IdParam.extend({
  line_id: z.string().min(1).max(2000).openapi({ param: { name: "line_id", in: "path" }, description: "A line's `line_id` from GET /api/plans/{id}/lines" }),
});
const PlanLine = PlanLineSchema.openapi("PlanLine");

const lineFilter = (q: { q?: string | undefined; shop_id?: string | undefined; test?: "true" | "false" | undefined }): LineFilter => ({
  q: q.q,
  shop_id: q.shop_id,
  test: q.test === undefined ? undefined : q.test === "true",
});

async function planOr404(d1: D1Database, id: string): Promise<PlanRecord> {
  const plan = await getPlan(d1, id);
  if (!plan) throw new AppError("not_found", `No plan has the id ${id}`);
  return plan;
}

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/lines",
    operationId: "listPlanLines",
    summary: "A plan's lines as a planner reads them",
    description:
      "Each line with its product, brand, size, SKU, shop names, the item's on hand / on order / target, unit cost and price, and its cost and retail value " +
      "(less the discount of a markdown line), joined from the entity mirror; `strategy` and `score` say why the line is there, `test` marks lines of test runs, " +
      "`edited_at` a quantity a planner set. In key order; page with `cursor`; filter with `q`, `shop_id` and `test`.",
    request: { params: IdParam, query: PlanLinesQuerySchema },
    responses: { 200: jsonContent(pageSchema(PlanLine), "A page of lines"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    await planOr404(c.env.DB, id);
    const filter = lineFilter(q);
    // The cursor is the last line's id: one that names no line is a 400, like any cursor this API did not give out.
    const page = await readPage(q, (after, limit) => listPlanLines(c.env.DB, id, { ...filter, limit, after: after === undefined ? undefined : lineKeyOf(after) }), {
      schema: z.string().refine((lineId) => lineKeyOf(lineId) !== undefined),
      of: (l) => l.line_id,
    });
    return c.json(page, 200);
  },
);

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/totals",
    operationId: "getPlanTotals",
    summary: "A plan's units, cost and retail value, in all and per shop",
    description:
      "Aggregated in D1 over every line. Per shop means the line's shop: the receiving shop of a transfer. Values add the lines' values rounded to cents; " +
      "a line whose variant has no known cost or price adds 0 and is counted in `unpriced_lines`.",
    request: { params: IdParam },
    responses: { 200: jsonContent(PlanTotalsSchema.openapi("PlanTotals"), "The totals"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await planOr404(c.env.DB, id);
    return c.json(await planTotals(c.env.DB, id), 200);
  },
);

plansApp.openapi(
  createRoute({
    method: "patch",
    path: "/{id}/lines/{line_id}",
    operationId: "setPlanLineQuantity",
    summary: "Set a line's quantity",
    description:
      "A whole number of units, 0 or more; the plan's total moves with it. Draft, open and approved plans can be edited; a closed or cancelled one answers 409. " +
      "The line keeps the planner's quantity (`edited_at`) until a run writes it again.",
    request: { params: LineParams, ...jsonBody(PlanLineEditSchema) },
    responses: {
      200: jsonContent(PlanLineEditAnswerSchema.openapi("PlanLineEdited"), "The line and the plan after the edit"),
      ...commonErrors,
      404: errorResponse("No plan has this id, or it has no line with this id"),
      409: errorResponse("The plan is closed or cancelled"),
    },
  }),
  async (c) => {
    const { id, line_id } = c.req.valid("param");
    const { quantity } = c.req.valid("json");
    const plan = await planOr404(c.env.DB, id);
    const key = lineKeyOf(line_id);
    const noLine = () => new AppError("not_found", `Plan ${id} has no line with the id ${line_id}`);
    if (key === undefined) throw noLine();
    const refused = refusesEdits(plan.status);
    if (refused) throw new AppError("conflict", refused);
    const edit = await setLineQuantity(c.env.DB, id, key, quantity, new Date());
    if (!edit.ok && edit.reason === "no_line") throw noLine();
    if (!edit.ok) throw new AppError("conflict", "The plan was closed or cancelled at the same time; reload it");
    const [line, after] = await Promise.all([getPlanLine(c.env.DB, id, key), getPlan(c.env.DB, id)]);
    if (!line || !after) throw noLine();
    if (edit.changed) log("plan_line", { plan_id: id, line_id, quantity });
    return c.json({ line, plan: after }, 200);
  },
);

// ---------------------------------------------------------------- CSV

type Cell = string | number | boolean | null;

/** The export's columns: what a planner reads first, the ids last. */
export const CSV_COLUMNS: readonly { header: string; value: (l: PlanLine) => Cell }[] = [
  { header: "Product", value: (l) => l.product_name },
  { header: "Brand", value: (l) => l.brand_name },
  { header: "Size", value: (l) => l.size },
  { header: "SKU", value: (l) => l.sku },
  { header: "Shop", value: (l) => l.shop_name ?? l.shop_id },
  { header: "From shop", value: (l) => l.from_shop_name ?? l.from_shop_id },
  { header: "On hand", value: (l) => l.on_hand },
  { header: "On order", value: (l) => l.on_order },
  { header: "Target", value: (l) => l.target },
  { header: "From shop on hand", value: (l) => l.from_on_hand },
  { header: "Quantity", value: (l) => l.quantity },
  { header: "Unit cost", value: (l) => money(l.unit_cost) },
  { header: "Unit price", value: (l) => money(l.unit_price) },
  { header: "Cost value", value: (l) => money(l.cost_value) },
  { header: "Retail value", value: (l) => money(l.retail_value) },
  { header: "Discount %", value: (l) => l.discount_percent },
  { header: "Markdown date", value: (l) => l.markdown_date },
  { header: "Strategy", value: (l) => l.strategy },
  { header: "Score", value: (l) => l.score },
  { header: "Test", value: (l) => (l.test ? "yes" : "no") },
  { header: "Edited at", value: (l) => l.edited_at },
  { header: "Inventory item id", value: (l) => l.inventory_item_id },
  { header: "Variant id", value: (l) => l.variant_id },
  { header: "Shop id", value: (l) => l.shop_id },
  { header: "From shop id", value: (l) => l.from_shop_id },
  { header: "Run id", value: (l) => l.run_id },
];

const CSV_EXAMPLE =
  "\uFEFFProduct,Brand,Size,SKU,Shop,From shop,On hand,On order,Target,From shop on hand,Quantity,Unit cost,Unit price,Cost value,Retail value,…\r\n" +
  "\"Runner 2, Zürich edition\",Nordlicht,42,NL-R2-42,Zürich HB,,1,0,6,,5,40.00,99.90,200.00,499.50,…\r\n";

const money = (n: number | null) => (n === null ? null : n.toFixed(2));

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; formula-like text defused. */
export function csvField(value: Cell): string {
  if (value === null) return "";
  if (typeof value !== "string") return String(value);
  // A spreadsheet runs text starting with these as a formula (CSV injection): an apostrophe keeps it text.
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvRow = (cells: readonly Cell[]) => cells.map(csvField).join(",") + "\r\n";

/** Content-Disposition for a download named `name`: an ASCII fallback and the UTF-8 name (RFC 6266). */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** CSV rows per D1 read while streaming an export. */
const EXPORT_PAGE = 1000;

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/{id}/export.csv",
    operationId: "exportPlanCsv",
    summary: "A plan's lines as CSV",
    description:
      "Every line (or those the filters keep), with the columns of GET /api/plans/{id}/lines, as RFC 4180 CSV in UTF-8 with a byte-order mark so that Excel " +
      "reads non-ASCII names; CRLF line ends. Text that a spreadsheet would run as a formula (starting with =, +, -, @) is prefixed with an apostrophe.",
    request: { params: IdParam, query: PlanLinesQuerySchema.omit({ limit: true, cursor: true }) },
    responses: {
      200: { description: "The CSV file, sent as a download", content: { "text/csv": { schema: z.string().openapi({ example: CSV_EXAMPLE }) } } },
      ...commonErrors,
      ...notFound,
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const filter = lineFilter(c.req.valid("query"));
    const plan = await planOr404(c.env.DB, id);
    const d1 = c.env.DB;
    const encoder = new TextEncoder();
    let after: string | undefined;
    let done = false;
    // Pages of lines are read as the client takes them: a plan of 100,000 lines never sits in memory.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("\uFEFF" + csvRow(CSV_COLUMNS.map((col) => col.header))));
      },
      async pull(controller) {
        if (done) return controller.close();
        const lines = await listPlanLines(d1, id, { ...filter, limit: EXPORT_PAGE, after });
        if (lines.length > 0) controller.enqueue(encoder.encode(lines.map((l) => csvRow(CSV_COLUMNS.map((col) => col.value(l)))).join("")));
        const last = lines.at(-1);
        if (lines.length < EXPORT_PAGE || !last) done = true;
        else after = lineKeyOf(last.line_id);
      },
    });
    log("plan_export", { plan_id: id });
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": attachment(`plan-${plan.name}.csv`),
      "cache-control": "no-store",
    });
  },
);

/** Whether D1 refused a write for a unique index (drizzle wraps the D1 error in `cause`). */
function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}
