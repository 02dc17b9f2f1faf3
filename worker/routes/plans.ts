import { createRoute, z } from "@hono/zod-openapi";
import { AppError } from "../errors";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { log } from "../log";
import { pageSchema } from "../contract/page";
import { PlanDetailSchema, PlanListQuerySchema, PlanSchema, PlanStatusChangeSchema, type PlanStatus } from "../contract/plan";
import { getPlan, listPlanItems, listPlans, setPlanStatus } from "../planning/plan-store";

export const plansApp = router();

const Plan = PlanSchema.openapi("Plan");
const PlanDetail = PlanDetailSchema.openapi("PlanWithItems");

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const notFound = { 404: errorResponse("No plan has this id") };

/** Lines per response; a plan may hold 100,000, so they page with items_cursor. */
const ITEMS_DEFAULT = 1000;
const ITEMS_MAX = 5000;

/** open → closed, and a draft may open or close; closed is final. */
const TRANSITIONS: Record<PlanStatus, readonly PlanStatus[]> = { draft: ["open", "closed"], open: ["closed"], closed: [] };

plansApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listPlans",
    summary: "List plans, newest first",
    request: { query: PlanListQuerySchema },
    responses: { 200: jsonContent(pageSchema(Plan), "A page of plans with their line count and total quantity"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (before, limit) => listPlans(c.env.DB, { kind: q.kind, status: q.status, limit, before }), {
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
    return c.json({ ...plan, items: lines.items.map((l) => l.item), items_next_cursor: lines.next_cursor }, 200);
  },
);

plansApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/status",
    operationId: "setPlanStatus",
    summary: "Open or close a plan",
    description: "draft→open, draft→closed, open→closed; closed is final. Asking for the current status changes nothing.",
    request: { params: IdParam, ...jsonBody(PlanStatusChangeSchema) },
    responses: {
      200: jsonContent(Plan, "The plan with its new status"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The transition is not allowed, or another open plan has this kind and name"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { status } = c.req.valid("json");
    const plan = await getPlan(c.env.DB, id);
    if (!plan) throw new AppError("not_found", `No plan has the id ${id}`);
    if (plan.status === status) return c.json(plan, 200);
    if (!TRANSITIONS[plan.status].includes(status)) {
      const allowed = TRANSITIONS[plan.status];
      throw new AppError(
        "conflict",
        `A ${plan.status} plan cannot become ${status}` + (allowed.length ? `; it can become ${allowed.join(" or ")}` : "; closed is final"),
      );
    }
    const now = new Date();
    let moved: boolean;
    try {
      moved = await setPlanStatus(c.env.DB, id, plan.status, status, now);
    } catch (err) {
      // Opening a draft collides with plans_open_kind_name when a plan of that kind and name is open.
      if (isUniqueViolation(err)) {
        throw new AppError("conflict", `Another open ${plan.kind} plan is named ${JSON.stringify(plan.name)}; close it first`);
      }
      throw err;
    }
    if (!moved) throw new AppError("conflict", "The plan changed at the same time; reload it and try again");
    log("plan", { plan_id: id, status, from: plan.status });
    return c.json({ ...plan, status, updated_at: now.toISOString() }, 200);
  },
);

/** Whether D1 refused a write for a unique index (drizzle wraps the D1 error in `cause`). */
function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}
