import { createRoute, z } from "@hono/zod-openapi";
import { ApprovalListQuerySchema, ApprovalSchema } from "../contract/approval";
import { pageSchema } from "../contract/page";
import { listApprovals } from "../db/approvals";
import { commonErrors, jsonContent, router } from "./api";
import { readPage } from "./paging";

/* The approvals inbox (SPEC §15): every approval step that asked, newest first. Decisions go to the run: routes/run-actions.ts. */

export const approvalsApp = router();

const Approval = ApprovalSchema.openapi("Approval");
const iso = (ms: number) => new Date(ms).toISOString();

approvalsApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listApprovals",
    summary: "Approvals, newest request first",
    description: "`?status=waiting` lists those not decided yet, `?status=decided` those approved or rejected (by a person, or at their deadline).",
    request: { query: ApprovalListQuerySchema },
    responses: { 200: jsonContent(pageSchema(Approval), "A page of approvals"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const page = await readPage(q, (before, limit) => listApprovals(c.env.DB, { status: q.status, before, limit }), {
      schema: z.tuple([z.number(), z.string(), z.string()]),
      of: (r): [number, string, string] => [r.requested_at, r.run_id, r.node_id],
    });
    const items = page.items.map((r) =>
      ApprovalSchema.parse({
        ...r,
        workflow_name: r.workflow_name ?? null,
        requested_at: iso(r.requested_at),
        timeout_at: iso(r.timeout_at),
        decided_at: r.decided_at === null ? null : iso(r.decided_at),
      }),
    );
    return c.json({ items, next_cursor: page.next_cursor }, 200);
  },
);
