import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import { BackInStockSummarySchema, BackInStockVariantSchema } from "../contract/engagement";
import { backInStockSummary, type SummaryRow } from "../engagement/store";
import { AppError, validationError } from "../errors";
import { commonErrors, jsonContent, router } from "./api";

/** Back-in-stock results (SPEC §12): demand, notifications, engagement and conversion per variant. */
export const backInStockApp = router();

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
/** A day (its whole UTC day) or an instant with an offset. */
const Moment = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/, "Use a date (2026-11-22) or an ISO 8601 timestamp with an offset (2026-11-22T10:00:00Z)")
  .refine((v) => !Number.isNaN(Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v)), "Not a real date");

const QuerySchema = z.object({
  from: Moment.optional().openapi({ description: `Start of the notification window (a date: its start). Default: ${DEFAULT_DAYS} days before to` }),
  to: Moment.optional().openapi({ description: "End of the notification window (a date: its end). Default: now" }),
  limit: z.coerce.number().int().min(1).max(1000).default(200).openapi({ description: "Variants listed (most waiting first); totals count them all" }),
});

const VariantSummary = BackInStockVariantSchema.openapi("BackInStockVariant");
const Summary = BackInStockSummarySchema.extend({ variants: z.array(VariantSummary) }).openapi("BackInStockSummary");

const rate = (converted: number, notified: number) => (notified === 0 ? null : Math.round((converted / notified) * 10_000) / 10_000);
const money = (n: number) => Math.round(n * 100) / 100;

function counts(r: Pick<SummaryRow, "waiting" | "notified" | "engaged" | "converted" | "revenue">) {
  return { waiting: r.waiting, notified: r.notified, engaged: r.engaged, converted: r.converted, conversion_rate: rate(r.converted, r.notified), attributed_revenue: money(r.revenue) };
}

function instant(v: string, end: boolean): Date {
  return new Date(v.length === 10 ? `${v}T${end ? "23:59:59.999" : "00:00:00.000"}Z` : v);
}

backInStockApp.openapi(
  createRoute({
    method: "get",
    path: "/summary",
    operationId: "getBackInStockSummary",
    summary: "Back-in-stock outcome per variant",
    description:
      "Waiting, notified, engaged and converted subscriptions per variant, with attributed revenue. Every variant with pending subscriptions or subscriptions notified in [from, to]. `waiting` is the demand now; the other counts " +
      "follow the subscriptions notified in the window (a cohort), so that the conversion rate compares like with like.",
    request: { query: QuerySchema },
    responses: { 200: jsonContent(Summary, "The summary per variant and in total"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const to = q.to === undefined ? new Date() : instant(q.to, true);
    const from = q.from === undefined ? new Date(to.getTime() - DEFAULT_DAYS * DAY_MS) : instant(q.from, false);
    if (from > to) throw validationError([{ path: "from", message: "from is after to" }]);
    if (to.getTime() - from.getTime() > 3660 * DAY_MS) throw new AppError("bad_request", "The window is at most 10 years");
    const rows = await backInStockSummary(c.env.DB, from.toISOString(), to.toISOString());
    const sum = (k: "waiting" | "notified" | "engaged" | "converted" | "revenue") => rows.reduce((n, r) => n + r[k], 0);
    return c.json(
      {
        from: from.toISOString(),
        to: to.toISOString(),
        attribution_days: config(c.env).ATTRIBUTION_DAYS,
        variants: rows.slice(0, q.limit).map((r) => ({ variant_id: r.variant_id, product_id: r.product_id, product_name: r.product_name, size: r.size, ...counts(r) })),
        variant_count: rows.length,
        totals: counts({ waiting: sum("waiting"), notified: sum("notified"), engaged: sum("engaged"), converted: sum("converted"), revenue: sum("revenue") }),
      },
      200,
    );
  },
);
