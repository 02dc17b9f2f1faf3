import { and as both, eq } from "drizzle-orm";
import { z } from "zod";
import { plans } from "../db/schema";
import { batch, db, prepare } from "../db/sql";
import type { Scope } from "../definition/interpolate";
import { issuesText } from "../lib/issues";
import { firstUnits, PlanningError, recommendationsNeeded, rulesFor, selectionFor, toCandidate, DEFAULT_LIMITS, nextUnits, type Limits } from "./add-items";
import { buildLines, type Line, type VariantPrice } from "./lines";
import type { Plan, PlanKind } from "./plan";
import { getPlan, parseVariantPrices, variantPricesStatement } from "./plan-store";
import { refusesRunLines } from "./plan-status";
import type { AddItemsInput, ItemsPreview, PlanningReadPort, PreviewLine, PreviewPlan, PreviewTotals } from "./port";
import { Pager, type Cursor } from "./selection";
import { parseWaitlist, waitingFor, waitlistCounts, type Probes } from "./selection-sql";

/*
 * The read-only planning of a preview (SPEC §13): add_items_to_plan's selection and strategies
 * (the same Pager, rulesFor and buildLines as the real step), with every statement a SELECT. The
 * lines are valued (units × cost, units × price) and summed per receiving shop; only the first
 * PREVIEW_LINES are kept. The plan's held lines are not read: a preview shows what the step would
 * set, not how it differs from what the plan holds.
 */

/** Lines a preview shows; the totals count every line. */
export const PREVIEW_LINES = 50;

/** A preview walks the whole selection in larger pages than a step (it writes nothing between them). */
const PREVIEW_LIMITS: Pick<Limits, "pageSize" | "maxUnits"> = { pageSize: Math.max(DEFAULT_LIMITS.pageSize, 4000), maxUnits: 1000 };

const zeroTotals = (): PreviewTotals => ({ lines: 0, units: 0, cost_value: 0, retail_value: 0, margin: 0 });

/** Money summed in floating point, shown to the cent. */
const cents = (n: number) => Math.round(n * 100) / 100;

function valued(line: Line, price: VariantPrice | undefined): PreviewLine {
  const unitCost = price?.cost ?? null;
  const unitPrice = price?.price ?? null;
  const sold = unitPrice === null ? 0 : unitPrice * (1 - (line.discount_percent ?? 0) / 100);
  return {
    inventory_item_id: line.inventory_item_id,
    variant_id: line.variant_id,
    shop_id: line.shop_id,
    quantity: line.quantity,
    from_shop_id: line.from_shop_id,
    to_shop_id: line.to_shop_id,
    discount_percent: line.discount_percent,
    markdown_date: line.markdown_date,
    strategy: line.strategy,
    unit_cost: unitCost,
    unit_price: unitPrice,
    cost_value: cents(line.quantity * (unitCost ?? 0)),
    retail_value: cents(line.quantity * sold),
  };
}

function add(t: PreviewTotals, l: PreviewLine): void {
  t.lines += 1;
  t.units += l.quantity;
  t.cost_value += l.cost_value;
  t.retail_value += l.retail_value;
}

const rounded = (t: PreviewTotals): PreviewTotals => ({
  lines: t.lines,
  units: t.units,
  cost_value: cents(t.cost_value),
  retail_value: cents(t.retail_value),
  margin: cents(t.retail_value - t.cost_value),
});

/** A plan as planning's functions take it: a previewed one holds no lines yet. */
const asPlan = (p: PreviewPlan): Plan => ({ ...p, item_count: 0, total_quantity: 0, test: false, created_at: "", updated_at: "" });

/** What add_items_to_plan would add to `plan`, read from D1 without writing; an error when the step would fail. */
export async function previewItems(d1: D1Database, input: AddItemsInput, preview: PreviewPlan, trigger: Scope["trigger"]): Promise<ItemsPreview | { error: string }> {
  try {
    const plan = asPlan(preview);
    const refused = refusesRunLines(plan);
    if (refused) return { error: refused };
    const rules = rulesFor(plan, input);
    const out: ItemsPreview = { candidates: 0, skipped: 0, lines: [], totals: zeroTotals(), shops: [] };
    const selection = await selectionFor(d1, input, plan, rules, trigger);
    if (!selection) return out;
    // No line probe: the plan's held lines are not compared. Prices are read for every kind (the values).
    const probes: Probes = { planId: plan.id, rec: recommendationsNeeded(rules), line: null, prices: true };
    const waitlisted = rules.kind !== "transfer_score" && rules.quantity.strategy === "waitlist";
    const pager = new Pager(d1, selection, probes);
    const shops = new Map<string, PreviewTotals>();
    let cursor: Cursor | null = {};
    let n = firstUnits(PREVIEW_LIMITS);
    while (cursor) {
      const page = await pager.page(cursor, n, PREVIEW_LIMITS.pageSize);
      n = nextUnits(n, page.units, page.items.length, PREVIEW_LIMITS);
      cursor = page.next;
      const candidates = page.items.map(toCandidate);
      const variants = [...new Set(candidates.map((c) => c.variant_id))];
      let prices = page.prices;
      if (variants.length > 0 && (!prices || waitlisted)) {
        const results = await batch(d1, [
          ...(prices ? [] : [variantPricesStatement(d1, variants)]),
          ...(waitlisted ? [prepare(d1, waitlistCounts(variants))] : []),
        ]);
        if (!prices) prices = parseVariantPrices(results[0]!);
        if (waitlisted) {
          const waitlist = parseWaitlist(results.at(-1)!.results);
          for (const c of candidates) c.waiting = waitingFor(waitlist, c.variant_id, c.shop_id);
        }
      }
      const built = buildLines(rules, candidates, prices);
      out.candidates += candidates.length;
      out.skipped += built.skipped;
      for (const line of built.lines) {
        const l = valued(line, prices?.get(line.variant_id));
        add(out.totals, l);
        const shop = l.to_shop_id ?? l.shop_id;
        const t = shops.get(shop) ?? zeroTotals();
        add(t, l);
        shops.set(shop, t);
        if (out.lines.length < PREVIEW_LINES) out.lines.push(l);
      }
    }
    out.totals = rounded(out.totals);
    out.shops = [...shops].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([shop_id, t]) => ({ shop_id, ...rounded(t) }));
    return out;
  } catch (err) {
    if (err instanceof PlanningError) return { error: err.message };
    if (err instanceof z.ZodError) return { error: `Unexpected data in the mirror: ${issuesText(err)}` };
    throw err;
  }
}

/** The open real plan of this kind and name, read only: a preview shows what a real run would do, so a test plan is not reused. */
async function openPlan(d1: D1Database, kind: PlanKind, name: string): Promise<Plan | undefined> {
  const rows = await db(d1)
    .select({ id: plans.id })
    .from(plans)
    .where(both(eq(plans.kind, kind), eq(plans.name, name), eq(plans.test, false), eq(plans.status, "open")))
    .limit(1);
  return rows[0] ? getPlan(d1, rows[0].id) : undefined;
}

/** The planning reads of a preview on a D1 database: SELECTs only. */
export function planningReadPort(d1: D1Database): PlanningReadPort {
  return {
    openPlan: (kind, name) => openPlan(d1, kind, name),
    plan: (id) => getPlan(d1, id),
    previewItems: (input, plan, trigger) => previewItems(d1, input, plan, trigger),
  };
}
