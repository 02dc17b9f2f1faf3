import { z } from "zod";
import { PlanKindSchema, PlanSchema, PlanItemSchema, PlanStatusSchema } from "../planning/plan";
import { PlanLineSchema } from "../planning/plan-view";
import { PageQuerySchema } from "./page";

/** Plans and their lines as the API shows them (SPEC §9). A plan and a line as stored are planning's. */

export {
  PLAN_KINDS,
  PLAN_STATUSES,
  PlanKindSchema,
  PlanSchema,
  PlanItemSchema,
  PlanStatusSchema,
  type Plan,
  type PlanItem,
  type PlanKind,
  type PlanStatus,
  type StoredShops,
} from "../planning/plan";
/** A plan with a page of its lines; a plan may hold 100,000, so they page with items_cursor. */
export const PlanDetailSchema = PlanSchema.extend({
  items: z.array(PlanItemSchema),
  /** Pass as items_cursor for the next lines; null when these were the last. */
  items_next_cursor: z.string().nullable(),
  /** The statuses `POST /api/plans/{id}/status` may move the plan to now (worker/planning/plan-status.ts). */
  next_statuses: z.array(PlanStatusSchema),
  /** Whether a planner may set its lines' quantities (draft, open, approved). */
  editable: z.boolean(),
  /** Whether runs may still add lines (draft, open). */
  accepts_run_lines: z.boolean(),
});
export type PlanDetail = z.infer<typeof PlanDetailSchema>;

export const PlanListQuerySchema = PageQuerySchema.extend({
  kind: PlanKindSchema.optional(),
  status: PlanStatusSchema.optional(),
  /** `true`: only the plans test runs made; `false`: only real plans; absent: both. */
  test: z.enum(["true", "false"]).optional(),
});

export const PlanStatusChangeSchema = z.object({
  status: PlanStatusSchema.describe("approved freezes an open plan against runs; closed (done) and cancelled (dropped) are final"),
});

export { PLAN_TRANSITIONS, EDITABLE as EDITABLE_PLAN_STATUSES, RUN_WRITABLE as RUN_WRITABLE_PLAN_STATUSES } from "../planning/plan-status";
export {
  PlanLineSchema,
  PlanTotalsSchema,
  PlanAmountsSchema,
  PlanShopTotalsSchema,
  type PlanLine,
  type PlanTotals,
  type PlanAmounts,
} from "../planning/plan-view";

/** `GET /api/plans/{id}/lines`: lines as a planner reads them, a page at a time, filtered. */
export const PlanLinesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  cursor: z.string().max(2000).optional(),
  q: z.string().max(200).optional().describe("Words, each found in the product, brand, size, SKU, a shop's name or an id of the line"),
  shop_id: z.string().min(1).max(200).optional().describe("Lines of this shop, receiving or sending"),
  /** `true`: only lines written by test runs; `false`: only real ones; absent: both. */
  test: z.enum(["true", "false"]).optional(),
});

/** `PATCH /api/plans/{id}/lines/{line_id}`: a planner sets a line's quantity. */
export const PlanLineEditSchema = z.strictObject({
  quantity: z.int("Give a whole number of units").min(0, "A quantity cannot be negative").max(1_000_000, "At most 1,000,000 units a line"),
});

export const PlanLineEditAnswerSchema = z.object({ line: PlanLineSchema, plan: PlanSchema });
export type PlanLineEditAnswer = z.infer<typeof PlanLineEditAnswerSchema>;
