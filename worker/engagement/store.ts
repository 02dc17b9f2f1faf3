import { z } from "zod";
import { mirrorPort } from "../entities/mirror-port";
import type { ChangeSource } from "../entities/port";
import { track as tracked } from "../lib/metrics";
import { conversionsOf, CONVERTIBLE, type Conversion, type OrderToAttribute } from "./conversion";
import type { LinksPort, Tracked } from "./port";
import { linkToken, tokenKey } from "./tokens";

/* The D1 side of engagement and conversion (SPEC §12): tracked links and their clicks, conversions, the summary. */

/** The links port on D1: tokens keyed with `secret`, URLs under `publicUrl` (null: not a usable URL). */
export function linksPort(d1: D1Database, secret: string, publicUrl: string | null): LinksPort {
  let key: Promise<CryptoKey> | undefined;
  return {
    async track(step, urls): Promise<Tracked> {
      if (publicUrl === null) return { ok: false, reason: "PUBLIC_URL is not an http(s) URL: set it to the Worker's public origin, e.g. https://workflows.example.com" };
      if (urls.length === 0) return { ok: true, urls: new Map() };
      key ??= tokenKey(secret);
      const k = await key;
      const rows = await Promise.all(urls.map(async (url) => ({ url, token: await linkToken(k, step.stepKey, url) })));
      const at = step.at.toISOString();
      // OR IGNORE: a retry of the step derives the same tokens and keeps the rows (and clicks) it wrote first.
      const insert = d1.prepare(
        `INSERT OR IGNORE INTO tracked_links (token, run_id, workflow_id, node_id, url, subscription_id, test, created_at)
         SELECT value->>'$.token', ?1, ?2, ?3, value->>'$.url', ?4, ?5, ?6 FROM json_each(?7)`,
      );
      tracked(await d1.batch([insert.bind(step.runId, step.workflowId, step.nodeId, step.subscriptionId, step.test ? 1 : 0, at, JSON.stringify(rows))]));
      return { ok: true, urls: new Map(rows.map((r) => [r.url, `${publicUrl}/l/${r.token}`])) };
    },
  };
}

const ClickedSchema = z.object({
  url: z.string(),
  run_id: z.string(),
  workflow_id: z.string(),
  node_id: z.string(),
  subscription_id: z.string().nullable(),
  test: z.union([z.boolean(), z.int()]).transform(Boolean),
});
export type Clicked = z.infer<typeof ClickedSchema>;

/** The URL a tracked link leads to, without counting a click. */
export async function linkUrl(d1: D1Database, token: string): Promise<string | undefined> {
  const row = await d1.prepare("SELECT url FROM tracked_links WHERE token = ?1").bind(token).first();
  return row === null ? undefined : z.object({ url: z.string() }).parse(row).url;
}

/** Counts a click on a link (one D1 write); undefined when no link has this token. */
export async function recordClick(d1: D1Database, token: string, now: Date): Promise<Clicked | undefined> {
  const at = now.toISOString();
  const row = await d1
    .prepare(
      `UPDATE tracked_links SET clicks = clicks + 1, first_click_at = coalesce(first_click_at, ?2), last_click_at = ?2 WHERE token = ?1
       RETURNING url, run_id, workflow_id, node_id, subscription_id, test`,
    )
    .bind(token, at)
    .first();
  return row === null ? undefined : ClickedSchema.parse(row);
}

/**
 * Moves the clicked link's subscription from delivered to engaged, with the link's step as the
 * change's source (a test run's link makes test data). Any other status is left alone: a
 * pending one was not notified by this link's message yet, a converted one is further along.
 */
export async function engage(d1: D1Database, link: Clicked, now: Date): Promise<"engaged" | "unchanged" | "missing"> {
  if (link.subscription_id === null) return "unchanged";
  const source: ChangeSource = { runId: link.run_id, workflowId: link.workflow_id, nodeId: link.node_id, test: link.test, at: now };
  const result = await mirrorPort(d1).change("subscription", link.subscription_id, (s) => ({ next: s.status === "delivered" ? { ...s, status: "engaged" } : null }), source);
  if (result.status === "missing") return "missing";
  return result.status === "written" ? "engaged" : "unchanged";
}

export const ClickRowSchema = z.object({
  node_id: z.string(),
  url: z.string(),
  subscription_id: z.string().nullable(),
  test: z.union([z.boolean(), z.int()]).transform(Boolean),
  clicks: z.int(),
  first_click_at: z.string().nullable(),
  last_click_at: z.string().nullable(),
  created_at: z.string(),
});

/** The tracked links of a run with their clicks, by step and first appearance. */
export async function runClicks(d1: D1Database, runId: string) {
  const { results } = await d1
    .prepare(
      `SELECT node_id, url, subscription_id, test, clicks, first_click_at, last_click_at, created_at FROM tracked_links
       WHERE run_id = ?1 ORDER BY node_id, created_at, url LIMIT 1000`,
    )
    .bind(runId)
    .all();
  return z.array(ClickRowSchema).parse(results);
}

// ---------------------------------------------------------------- conversion

const CandidateSchema = z.object({ id: z.string(), variant_id: z.string(), status: z.string(), notified_at: z.string().nullable() });

/**
 * Attributes an order (SPEC §12): the customer's delivered or engaged subscriptions for the
 * order's variants, notified within the window, become `converted` and get the lines' revenue.
 * Idempotent per (order, subscription): the conversion row is written first (OR IGNORE), then the
 * status, so an event delivered again after a failure in between finishes the job and a
 * delivery after both finds nothing left to convert and writes nothing.
 */
export async function convertOrder(d1: D1Database, order: OrderToAttribute, attributionDays: number, now: Date): Promise<Conversion[]> {
  const variants = [...new Set(order.lines.map((l) => l.variant_id))];
  const { results } = await d1
    .prepare(
      `SELECT id, variant_id, status, notified_at FROM subscriptions
       WHERE customer_id = ?1 AND deleted = 0 AND status IN (SELECT value FROM json_each(?2)) AND variant_id IN (SELECT value FROM json_each(?3))`,
    )
    .bind(order.customer_id, JSON.stringify(CONVERTIBLE), JSON.stringify(variants))
    .all();
  const found = conversionsOf(order, z.array(CandidateSchema).parse(results), attributionDays);
  if (found.length === 0) return [];
  const at = now.toISOString();
  tracked(
    await d1.batch([
      d1
        .prepare(
          `INSERT OR IGNORE INTO conversions (order_id, subscription_id, customer_id, variant_id, revenue, converted_at)
           SELECT value->>'$.order_id', value->>'$.subscription_id', value->>'$.customer_id', value->>'$.variant_id', value->>'$.revenue', ?1 FROM json_each(?2)`,
        )
        .bind(at, JSON.stringify(found)),
    ]),
  );
  // The order is the change's source; it is no run, so the mark names the order (`run:order:<id>:conversion`).
  const source: ChangeSource = { runId: `order:${order.id}`, workflowId: "", nodeId: "conversion", test: false, at: now };
  const mirror = mirrorPort(d1);
  for (const c of found) {
    await mirror.change("subscription", c.subscription_id, (s) => ({ next: s.status === "delivered" || s.status === "engaged" ? { ...s, status: "converted" } : null }), source);
  }
  return found;
}

// ---------------------------------------------------------------- summary

const SummaryRowSchema = z.object({
  variant_id: z.string(),
  product_id: z.string().nullable(),
  product_name: z.string().nullable(),
  size: z.string().nullable(),
  waiting: z.int(),
  notified: z.int(),
  engaged: z.int(),
  converted: z.int(),
  revenue: z.number(),
});
export type SummaryRow = z.infer<typeof SummaryRowSchema>;

/**
 * Per variant (SPEC §12): `waiting` counts the pending subscriptions now; the others are the
 * cohort notified in [from, to]: `notified`, `engaged` (clicked a tracked link, or engaged by
 * status: a click before converting still counts), `converted` (a conversion row, or a
 * converted/completed status), `revenue` attributed to them. One statement; variants with
 * neither waiting nor notified subscriptions are left out; most waiting first.
 */
const SUMMARY_SQL = `
WITH s AS (
  SELECT s.id, s.variant_id, s.status, (s.notified_at >= ?1 AND s.notified_at <= ?2) AS cohort,
    EXISTS (SELECT 1 FROM tracked_links l WHERE l.subscription_id = s.id AND l.clicks > 0) AS clicked,
    (SELECT sum(c.revenue) FROM conversions c WHERE c.subscription_id = s.id) AS revenue
  FROM subscriptions s WHERE s.deleted = 0
), per AS (
  SELECT variant_id,
    sum(status = 'pending') AS waiting,
    coalesce(sum(cohort), 0) AS notified,
    coalesce(sum(cohort AND (clicked OR status = 'engaged')), 0) AS engaged,
    coalesce(sum(cohort AND (revenue IS NOT NULL OR status IN ('converted', 'completed'))), 0) AS converted,
    coalesce(sum(CASE WHEN cohort THEN revenue END), 0) AS revenue
  FROM s GROUP BY variant_id
)
SELECT per.*, v.product_id, p.name AS product_name, v.size
FROM per LEFT JOIN product_variants v ON v.id = per.variant_id AND v.deleted = 0 LEFT JOIN products p ON p.id = v.product_id AND p.deleted = 0
WHERE per.waiting > 0 OR per.notified > 0
ORDER BY per.waiting DESC, per.notified DESC, per.variant_id`;

export async function backInStockSummary(d1: D1Database, from: string, to: string): Promise<SummaryRow[]> {
  const { results } = await d1.prepare(SUMMARY_SQL).bind(from, to).all();
  return z.array(SummaryRowSchema).parse(results);
}
