import { z } from "zod";
import { PlanKindSchema, PlanSchema, PlanItemSchema, PlanStatusSchema } from "../planning/plan";
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
});
export type PlanDetail = z.infer<typeof PlanDetailSchema>;

export const PlanListQuerySchema = PageQuerySchema.extend({ kind: PlanKindSchema.optional(), status: PlanStatusSchema.optional() });

export const PlanStatusChangeSchema = z.object({ status: PlanStatusSchema });
