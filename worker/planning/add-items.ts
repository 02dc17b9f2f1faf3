import { z } from "zod";
import { batch, prepare, sortUtf8 } from "../db/sql";
import { issuesText } from "../lib/issues";
import { buildLines, diffLines, itemKey, SCORE_MATCHING, transferKey, type HeldLine, type Rules, type VariantPrice } from "./lines";
import type { Plan } from "./plan";
import { LEVELS, type Level } from "./plan";
import { getPlan, heldTransfersStatement, parseHeldLines, parseVariantPrices, variantPricesStatement, writeLines } from "./plan-store";
import { acceptsRunLines, refusesRunLines } from "./plan-status";
import { CountsSchema, type AddItemsInput, type AddItemsJob, type AddItemsOutcome, type AddItemsOutput, type Counts } from "./port";
import { CursorSchema, levelRank, Pager } from "./selection";
import { parseWaitlist, waitingFor, waitlistCounts, type ItemRow, type Probes, type Selection, type Waitlist } from "./selection-sql";
import type { Candidate } from "./strategies";

/**
 * add_items_to_plan (SPEC §9), the part that touches D1: resolve the selection, walk it page by
 * page, turn each page into lines (lines.ts) and write them with the plan's counters.
 *
 * Bounded work per invocation: when a time or statement budget is spent, it returns
 * `{ ok: "continue", checkpoint }` and picks up from the checkpoint on the next invocation. A page is
 * written in one D1 batch, so a checkpoint always sits on a page boundary, and doing a page twice
 * (after a crash between the write and the checkpoint) rewrites nothing: its lines are already right.
 */

export interface Limits {
  /** Items a page should hold about. */
  pageSize: number;
  /** At most this many ids, products or variants per page. */
  maxUnits: number;
  /** Past this much wall time in one invocation, save a checkpoint and continue later. */
  timeBudgetMs: number;
  /** Past this many D1 statements in one invocation (D1 allows 1,000 queries per invocation), continue later. */
  statementBudget: number;
  /** Past this many pages in one invocation, continue later (tests force small steps with it). */
  maxPages: number;
  /** Pages written again when another run wrote the same plan in between. */
  conflictRetries: number;
}

export const DEFAULT_LIMITS: Limits = {
  pageSize: 2000,
  maxUnits: 500,
  timeBudgetMs: 5000,
  statementBudget: 500,
  maxPages: Number.POSITIVE_INFINITY,
  conflictRetries: 8,
};

const zero = (): Counts => ({ candidates: 0, added: 0, updated: 0, unchanged: 0, removed: 0, skipped: 0, skipped_margin_floor: 0, total_quantity: 0 });

export const CheckpointSchema = z.object({
  v: z.literal(1),
  plan_id: z.string(),
  /** Where the next page starts. */
  cursor: CursorSchema,
  /** Roots per page, adapted from what pages held. */
  n: z.int().min(1),
  counts: CountsSchema,
  invocations: z.int().min(1),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** A problem no retry can fix: the step fails with this message. */
export class PlanningError extends Error {}

/** Other runs kept writing the same plan: retryable, the engine tries the step again after a back-off. */
class ConflictError extends Error {}

const TriggerDataSchema = z.looseObject({
  variant_id: z.string().optional(),
  product_id: z.string().optional(),
  brand_id: z.string().optional(),
  shop_id: z.string().optional(),
});

/** What the plan's kind does with the items, checked against the step's config. */
export function rulesFor(plan: Plan, input: AddItemsInput): Rules {
  const kind = plan.kind;
  if (input.matching && kind !== "rebalance") throw new PlanningError(`matching applies to rebalance plans; plan ${plan.id} is a ${kind} plan`);
  if (input.discount && kind !== "markdown") throw new PlanningError(`discount applies to markdown plans; plan ${plan.id} is a ${kind} plan`);
  if (input.markdown_date && kind !== "markdown") {
    throw new PlanningError(`markdown_date applies to markdown plans; plan ${plan.id} is a ${kind} plan`);
  }
  if (kind === "rebalance") {
    const m = input.matching;
    if (!m) throw new PlanningError(`A rebalance plan needs matching: {"strategy": "score"} or {"strategy": "fixed", "from_shop", "to_shop"}`);
    if (m.strategy === "score") return { kind: "transfer_score", below: input.sizes.mode === "below_threshold" ? input.sizes.threshold : null };
    if (m.from_shop === m.to_shop) throw new PlanningError(`matching.from_shop and matching.to_shop are both ${m.from_shop}`);
    return { kind: "transfer_fixed", quantity: input.quantity, from_shop: m.from_shop };
  }
  if (kind === "markdown") {
    if (!input.discount) throw new PlanningError(`A markdown plan needs discount: {"strategy": "fixed" | "score" | "recommended", ...}`);
    // Without a date of its own, a markdown takes effect on the plan's deadline.
    return { kind: "markdown", quantity: input.quantity, discount: input.discount, markdown_date: input.markdown_date ?? plan.deadline };
  }
  return { kind: "quantity", quantity: input.quantity };
}

/**
 * Which items' recommendation (the decision vector) the strategies in play read: score matching
 * orders only the shops short of target by it.
 */
export function recommendationsNeeded(rules: Rules): Probes["rec"] {
  if (rules.kind === "transfer_score") return "deficit";
  if (rules.quantity.strategy === "score") return "all";
  return rules.kind === "markdown" && rules.discount.strategy !== "fixed" ? "all" : "none";
}

const firstHop: Record<string, { field: "variant_id" | "product_id" | "brand_id"; lookup: string }> = {
  inventory_item: { field: "variant_id", lookup: "SELECT variant_id AS id FROM inventory_items WHERE id = ?" },
  product_variant: { field: "product_id", lookup: "SELECT product_id AS id FROM product_variants WHERE id = ?" },
  product: { field: "brand_id", lookup: "SELECT brand_id AS id FROM products WHERE id = ?" },
};

/**
 * The trigger's entity at `level`, walking up the hierarchy when the trigger sits below it (an
 * item's variant, a variant's product, a product's brand); the trigger itself when it sits at or
 * above `level`.
 */
export async function triggerRoot(d1: D1Database, trigger: AddItemsJob["trigger"], level: Level): Promise<{ level: Level; id: string }> {
  const from = trigger.entity;
  if (!(LEVELS as readonly string[]).includes(from)) {
    throw new PlanningError(`filter.from_trigger needs a brand, product, product_variant or inventory_item trigger; this run's trigger is a ${from}`);
  }
  let at = from as Level;
  let id = trigger.entity_id;
  const data = TriggerDataSchema.safeParse(trigger.data);
  let useData = data.success;
  while (levelRank(at) < levelRank(level)) {
    const hop = firstHop[at]!;
    const fromData = useData && data.success ? data.data[hop.field] : undefined;
    let up = fromData;
    if (up === undefined) {
      const row = await d1.prepare(hop.lookup).bind(id).first();
      up = row === null ? undefined : z.object({ id: z.string() }).parse(row).id;
    }
    if (up === undefined) throw new PlanningError(`The trigger's ${at} ${id} is not in the entity mirror, so its ${hop.field.replace("_id", "")} is unknown`);
    at = LEVELS[levelRank(at) + 1]!;
    id = up;
    useData = false;
  }
  return { level: at, id };
}

function intersect(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null) return b;
  if (b === null) return a;
  const keep = new Set(b);
  return a.filter((x) => keep.has(x));
}

/** The shops whose items are kept: the step's scope within the plan's (and only the receiving shop of a fixed transfer). */
export function shopScope(input: AddItemsInput, plan: Plan, trigger: AddItemsJob["trigger"]): string[] | null {
  let step: string[] | null = null;
  if (input.shops.mode === "specific") step = input.shops.ids;
  if (input.shops.mode === "from_trigger") {
    // resolve() may already have put the trigger's shop in ids.
    const shop = input.shops.ids[0] ?? (trigger.entity === "inventory_item" ? TriggerDataSchema.safeParse(trigger.data).data?.shop_id : undefined);
    if (shop === undefined) {
      throw new PlanningError(`shops.mode from_trigger needs an inventory_item trigger (it has the shop); this run's trigger is a ${trigger.entity}`);
    }
    step = [shop];
  }
  let shops = intersect(step, plan.shops.mode === "specific" ? plan.shops.ids : null);
  if (input.matching?.strategy === "fixed") shops = intersect(shops, [input.matching.to_shop]);
  return shops === null ? null : sortUtf8(shops);
}

/** The selection this step reads; null when it is certainly empty. */
export async function selectionFor(d1: D1Database, input: AddItemsInput, plan: Plan, rules: Rules, trigger: AddItemsJob["trigger"]): Promise<Selection | null> {
  const level = input.filter.entity;
  const listed = input.filter.ids.length > 0 ? sortUtf8(input.filter.ids) : null;
  let ids = listed;
  let root: Selection["root"] = null;
  if (input.filter.from_trigger) {
    const r = await triggerRoot(d1, trigger, level);
    // Every filter narrows: the trigger's entity, and the listed ids when there are some.
    if (r.level === level) ids = listed ? listed.filter((id) => id === r.id) : [r.id];
    else root = r;
  }
  const shops = shopScope(input, plan, trigger);
  if ((ids && ids.length === 0) || (shops && shops.length === 0)) return null;
  const below = input.sizes.mode === "below_threshold" && rules.kind !== "transfer_score" ? input.sizes.threshold : null;
  return { level, ids, root, tags: input.filter.tags, shops, below };
}

export const toCandidate = (r: ItemRow): Candidate => ({
  id: r.id,
  variant_id: r.variant_id,
  shop_id: r.shop_id,
  on_hand: r.on_hand,
  on_order: r.on_order,
  target: r.target,
  rec: r.rec ? { score: r.rec[0], quantity: r.rec[1], discount_percent: r.rec[2] } : null,
});

/** Sets each candidate's `waiting` (the waitlist strategy's input). */
function withWaitlist(candidates: Candidate[], waitlist: Waitlist): void {
  for (const c of candidates) c.waiting = waitingFor(waitlist, c.variant_id, c.shop_id);
}

function heldFromProbes(rows: readonly ItemRow[], rules: Rules): Map<string, HeldLine> {
  const held = new Map<string, HeldLine>();
  for (const r of rows) {
    if (!r.line) continue;
    const key = rules.kind === "transfer_fixed" ? transferKey(r.variant_id, rules.from_shop, r.shop_id) : itemKey(r.id);
    const [quantity, from_shop_id, to_shop_id, discount_percent, markdown_date, strategy, score] = r.line;
    held.set(key, { key, quantity, from_shop_id, to_shop_id, discount_percent, markdown_date, strategy: strategy ?? "", score });
  }
  return held;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface AddItemsDeps {
  db: D1Database;
}

/** Runs add_items_to_plan for one invocation: to the end, or to a checkpoint when the budget is spent. */
export async function addItems(input: AddItemsInput, ctx: AddItemsJob, deps: AddItemsDeps, limits: Limits = DEFAULT_LIMITS): Promise<AddItemsOutcome> {
  const started = Date.now();
  const d1 = deps.db;
  try {
    const plan = await getPlan(d1, input.plan);
    if (!plan) return fail(`No plan has the id ${input.plan}; run create_or_get_plan first and pass {{steps.<its id>.output.plan_id}}`);
    const refused = refusesRunLines(plan);
    if (refused) return fail(refused);
    const rules = rulesFor(plan, input);
    const resumed = CheckpointSchema.safeParse(ctx.checkpoint);
    const state: Checkpoint =
      resumed.success && resumed.data.plan_id === plan.id
        ? { ...resumed.data, invocations: resumed.data.invocations + 1 }
        : { v: 1, plan_id: plan.id, cursor: {}, n: firstUnits(limits), counts: zero(), invocations: 1 };
    const selection = await selectionFor(d1, input, plan, rules, ctx.trigger);
    if (!selection) return done(plan.id, state);

    const probes: Probes = {
      planId: plan.id,
      rec: recommendationsNeeded(rules),
      line:
        rules.kind === "transfer_fixed" ? { type: "transfer", from: rules.from_shop } : rules.kind === "transfer_score" ? null : { type: "item" },
      prices: rules.kind === "markdown",
    };
    const pager = new Pager(d1, selection, probes);
    let statements = 0;
    for (let pages = 1; ; pages++) {
      const result = await onePage(d1, pager, state, rules, ctx, limits);
      statements += result.statements;
      if (result.next === null) return done(plan.id, state);
      state.cursor = result.next;
      const spent =
        pages >= limits.maxPages ||
        Date.now() - started >= limits.timeBudgetMs ||
        statements + pager.statements >= limits.statementBudget ||
        ctx.signal.aborted;
      if (spent) {
        ctx.log(`added ${state.counts.added}, updated ${state.counts.updated} so far; continuing from a checkpoint`);
        return { ok: "continue", checkpoint: state };
      }
    }
  } catch (err) {
    if (err instanceof PlanningError) return fail(err.message);
    if (err instanceof ConflictError) return { ok: false, error: err.message, retryable: true, retryAfterMs: 1000 };
    if (err instanceof z.ZodError) return fail(`Unexpected data in the mirror: ${issuesText(err)}`);
    return { ok: false, error: `D1: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
  }
}

const fail = (error: string): AddItemsOutcome => ({ ok: false, error, retryable: false });

function done(planId: string, state: Checkpoint): AddItemsOutcome {
  const output: AddItemsOutput = { plan_id: planId, ...state.counts, invocations: state.invocations };
  return { ok: true, output };
}

/** Reads, computes and writes one page; retries it when another writer changed the plan in between. */
async function onePage(
  d1: D1Database,
  pager: Pager,
  state: Checkpoint,
  rules: Rules,
  ctx: AddItemsJob,
  limits: Limits,
): Promise<{ next: Checkpoint["cursor"] | null; statements: number }> {
  let statements = 0;
  for (let attempt = 0; ; attempt++) {
    const page = await pager.page(state.cursor, state.n, limits.pageSize);
    if (page.plan && !acceptsRunLines(page.plan.status)) throw new PlanningError(`Plan ${state.plan_id} became ${page.plan.status} while items were being added`);
    const candidates = page.items.map(toCandidate);
    const variants = [...new Set(candidates.map((c) => c.variant_id))];
    let prices: Map<string, VariantPrice> | undefined = page.prices;
    let transfers: HeldLine[] = [];
    // What the page's lines need besides the items, read in one batch: prices or held transfers, and the waitlist.
    const side = variants.length > 0 && ((rules.kind === "markdown" && !prices) || rules.kind === "transfer_score");
    const waitlisted = variants.length > 0 && rules.kind !== "transfer_score" && rules.quantity.strategy === "waitlist";
    if (side || waitlisted) {
      const results = await batch(d1, [
        ...(side ? [rules.kind === "markdown" ? variantPricesStatement(d1, variants) : heldTransfersStatement(d1, state.plan_id, variants)] : []),
        ...(waitlisted ? [prepare(d1, waitlistCounts(variants))] : []),
      ]);
      statements += results.length;
      if (side && rules.kind === "markdown") prices = parseVariantPrices(results[0]!);
      else if (side) transfers = parseHeldLines(results[0]!);
      if (waitlisted) withWaitlist(candidates, parseWaitlist(results.at(-1)!.results));
    }
    const built = buildLines(rules, candidates, prices);
    const held = rules.kind === "transfer_score" ? new Map(transfers.map((t) => [t.key, t])) : heldFromProbes(page.items, rules);
    const diff = diffLines(built.lines, held, transfers.filter((t) => t.strategy === SCORE_MATCHING));
    let applied = true;
    if (diff.writes.length > 0 || diff.removes.length > 0) {
      if (!page.plan) throw new PlanningError(`Plan ${state.plan_id} is gone`);
      // The units the page adds (what lines grow by; a shrinking line gives none back), asked before they are written.
      const adds = diff.writes.reduce((n, l) => n + Math.max(0, l.quantity - (held.get(l.key)?.quantity ?? 0)), 0);
      const refusal = ctx.admit && adds > 0 ? await ctx.admit(adds, JSON.stringify(state.cursor)) : undefined;
      if (refusal !== undefined) throw new PlanningError(refusal);
      const w = await writeLines(d1, {
        planId: state.plan_id,
        token: page.plan.write_token,
        diff,
        runId: ctx.runId,
        nodeId: ctx.nodeId,
        test: ctx.test,
        now: ctx.now,
      });
      statements += w.statements;
      applied = w.applied;
    }
    if (applied) {
      const c = state.counts;
      c.candidates += candidates.length;
      c.added += diff.added;
      c.updated += diff.updated;
      c.unchanged += diff.unchanged;
      c.removed += diff.removes.length;
      c.skipped += built.skipped;
      c.skipped_margin_floor += built.skipped_margin_floor;
      c.total_quantity += diff.total_quantity;
      state.n = nextUnits(state.n, page.units, page.items.length, limits);
      return { next: page.next, statements };
    }
    if (attempt >= limits.conflictRetries) {
      throw new ConflictError(`Plan ${state.plan_id} kept changing under other runs; trying again later`);
    }
    // Another run wrote this plan between our read and our write: read again, after a jittered pause.
    await sleep(Math.random() * 50 * 2 ** Math.min(attempt, 5));
  }
}

/** Roots for the first page, before any page has shown how many items a root holds: a guess of 20 (shops per variant). */
export const firstUnits = (limits: Pick<Limits, "pageSize" | "maxUnits">) => Math.max(1, Math.min(limits.maxUnits, Math.floor(limits.pageSize / 20)));

/** Roots for the next page so that it holds about `pageSize` items. */
export function nextUnits(n: number, units: number, items: number, limits: Pick<Limits, "pageSize" | "maxUnits">): number {
  if (units === 0 || items === 0) return Math.min(limits.maxUnits, n * 2);
  const perUnit = items / units;
  return Math.max(1, Math.min(limits.maxUnits, Math.floor(limits.pageSize / perUnit)));
}
