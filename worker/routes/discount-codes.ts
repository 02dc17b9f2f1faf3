import { createRoute, z } from "@hono/zod-openapi";
import { DiscountCodeListQuerySchema, DiscountCodeSchema, RedeemRequestSchema, RedemptionSchema } from "../contract/discount-code";
import { pageSchema } from "../contract/page";
import { normalizeCode } from "../discounts/code";
import { getCode, listCodes, redeemCode } from "../discounts/store";
import { AppError } from "../errors";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { readPage } from "./paging";
import { log } from "../log";

/** Discount codes that create_discount_code made (SPEC §12): list, read, redeem. */
export const discountCodesApp = router();

const DiscountCode = DiscountCodeSchema.openapi("DiscountCode");
const Redemption = RedemptionSchema.openapi("DiscountRedemption");

const CodeParam = z.object({
  code: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "code", in: "path" }, description: "The code, in any case" }),
});
const notFound = { 404: errorResponse("No discount code is spelled this way") };
const noCode = (code: string) => new AppError("not_found", `No discount code ${code}`);

discountCodesApp.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listDiscountCodes",
    summary: "Discount codes, newest first",
    description:
      "Filter by the customer a code is for, its status now (active: a use left and not expired; expired; used_up: every use redeemed, " +
      "whether or not it expired since) and whether a test run made it.",
    request: { query: DiscountCodeListQuerySchema },
    responses: { 200: jsonContent(pageSchema(DiscountCode), "A page of discount codes"), ...commonErrors },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const now = new Date();
    const test = q.test === undefined ? undefined : q.test === "true";
    const page = await readPage(q, (before, limit) => listCodes(c.env.DB, { customer_id: q.customer_id, status: q.status, test, before, limit }, now), {
      schema: z.tuple([z.string(), z.string()]),
      of: (code): [string, string] => [code.created_at, code.code],
    });
    return c.json(page, 200);
  },
);

discountCodesApp.openapi(
  createRoute({
    method: "get",
    path: "/{code}",
    operationId: "getDiscountCode",
    summary: "One discount code with its uses and status",
    request: { params: CodeParam },
    responses: { 200: jsonContent(DiscountCode, "The discount code"), ...commonErrors, ...notFound },
  }),
  async (c) => {
    const code = normalizeCode(c.req.valid("param").code);
    const found = await getCode(c.env.DB, code, new Date());
    if (!found) throw noCode(code);
    return c.json(found, 200);
  },
);

discountCodesApp.openapi(
  createRoute({
    method: "post",
    path: "/{code}/redeem",
    operationId: "redeemDiscountCode",
    summary: "Redeem a discount code for an order",
    description:
      "Uses the code once for the order. Redeeming again with the same order_id answers 200 with the first redemption and uses nothing more; " +
      "an expired or used-up code answers 409 to any other order. Two orders racing for the last use: exactly one gets it.",
    request: { params: CodeParam, ...jsonBody(RedeemRequestSchema) },
    responses: {
      200: jsonContent(Redemption, "The code after the redemption, with this order's redemption"),
      ...commonErrors,
      ...notFound,
      409: errorResponse("The code expired, or every use of it was redeemed by other orders"),
    },
  }),
  async (c) => {
    const code = normalizeCode(c.req.valid("param").code);
    const { order_id } = c.req.valid("json");
    const outcome = await redeemCode(c.env.DB, code, order_id, new Date());
    if (!outcome.ok) {
      if (outcome.reason === "not_found") throw noCode(code);
      const why =
        outcome.reason === "used_up"
          ? `has been used ${outcome.code.used} of ${outcome.code.usage_limit} time(s)`
          : `expired at ${outcome.code.expires_at}`;
      throw new AppError("conflict", `Discount code ${code} ${why}`);
    }
    log("discount_code", { code, order_id, used: outcome.code.used, usage_limit: outcome.code.usage_limit });
    return c.json({ ...outcome.code, redemption: outcome.redemption }, 200);
  },
);
