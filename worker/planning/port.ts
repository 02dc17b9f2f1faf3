import { z } from "zod";
import type { TagFilter } from "../definition/common";
import type { Scope } from "../definition/interpolate";
import type { Line } from "./lines";
import type { Plan } from "./plan";
import type { Level, PlanKind, StoredShops } from "./plan";
import type { DiscountStrategy, QuantityStrategy } from "./strategies";

/*
 * The D1 work of the plan nodes, as a port (binding-free): the nodes call it through their deps,
 * worker/planning/index.ts implements it on D1, and tests may stand in for it.
 */

export interface NewPlan {
  kind: PlanKind;
  name: string;
  shops: StoredShops;
  deadline: string | null;
  /** Asked by a test run: it gets the open test plan of this kind and name, never a real one. */
  test: boolean;
}

/** add_items_to_plan's input as its step records it (the node's schema checks it first). */
export interface AddItemsInput {
  plan: string;
  filter: { entity: Level; from_trigger: boolean; ids: string[]; tags: TagFilter };
  shops: { mode: "all" | "specific" | "from_trigger"; ids: string[] };
  sizes: { mode: "all" } | { mode: "below_threshold"; threshold: number };
  quantity: QuantityStrategy;
  matching?: { strategy: "fixed"; from_shop: string; to_shop: string } | { strategy: "score" } | undefined;
  discount?: DiscountStrategy | undefined;
  /** Resolved by the node's resolve(): a UTC calendar date. */
  markdown_date?: string | null | undefined;
}

/** What adding items needs of its step: the engine's ActionContext has all of it. */
export interface AddItemsJob {
  runId: string;
  nodeId: string;
  /** A test run: the lines it writes are marked as test data. */
  test: boolean;
  now: Date;
  /** Aborted at the step's timeout: the work stops at the next page and saves a checkpoint. */
  signal: AbortSignal;
  trigger: Scope["trigger"];
  /** What the previous invocation of this attempt saved. */
  checkpoint: unknown;
  log(message: string): void;
  /**
   * Asked before a page's lines are written, with the units they add to the plan and the page's
   * place (stable across retries): a refusal, the text returned, fails the step unretried.
   * Absent: nothing is asked (the daily caps of SPEC §14 are the node's business).
   */
  admit?(units: number, page: string): Promise<string | undefined>;
}

/** What a step did to its plan; the node's output adds the plan id and the invocations. */
export const CountsSchema = z.object({
  /** Items the selection held. */
  candidates: z.int(),
  /** Lines new to the plan. */
  added: z.int(),
  /** Lines the plan already held, now set to this run's values (`unchanged` of them already had them). */
  updated: z.int(),
  unchanged: z.int(),
  /** Score-matched transfers of the matched variants that the new matching no longer makes. */
  removed: z.int(),
  /** Selected items that produced no line (quantity 0, no recommendation, margin floor, no match). */
  skipped: z.int(),
  skipped_margin_floor: z.int(),
  /** Sum of the quantities of the lines this step produced. */
  total_quantity: z.int(),
});
export type Counts = z.infer<typeof CountsSchema>;
export type AddItemsOutput = Counts & { plan_id: string; invocations: number };

/** An invocation's end: done, failed (retryable or not), or progress saved to continue from. */
export type AddItemsOutcome =
  | { ok: true; output: AddItemsOutput }
  | { ok: false; error: string; retryable: boolean; retryAfterMs?: number }
  | { ok: "continue"; checkpoint: unknown };

export interface PlanningPort {
  /**
   * The open plan of this kind, name and test mark, created when there is none; `created` is true
   * for the step that inserted it (`stepKey`, its idempotency key), on every retry of that step too.
   */
  createOrGetPlan(plan: NewPlan, origin: { runId: string; stepKey: string }, now: Date): Promise<{ plan: Plan; created: boolean }>;
  /** One invocation of add_items_to_plan: to the end, or to a checkpoint when its budget is spent. */
  addItems(input: AddItemsInput, job: AddItemsJob): Promise<AddItemsOutcome>;
}

/** One line a preview would add (SPEC §13), with its value at cost and at retail. */
export interface PreviewLine extends Omit<Line, "key" | "score"> {
  /** The variant's cost and price (the product's when the variant has none); null when unknown. */
  unit_cost: number | null;
  unit_price: number | null;
  /** units × cost; units × price (less the line's discount, for a markdown). Unknown prices count 0. */
  cost_value: number;
  retail_value: number;
}

export interface PreviewTotals {
  lines: number;
  units: number;
  cost_value: number;
  retail_value: number;
  /** retail_value − cost_value. */
  margin: number;
}

/** What add_items_to_plan would do, nothing written: the first lines, the totals, and the totals per shop (the receiving one). */
export interface ItemsPreview {
  candidates: number;
  skipped: number;
  /** The first PREVIEW_LINES lines, in selection order. */
  lines: PreviewLine[];
  totals: PreviewTotals;
  shops: (PreviewTotals & { shop_id: string })[];
}

/** The plan a preview adds to: a stored one, or the one create_or_get_plan would create (id `PREVIEW-…`, nothing held). */
export type PreviewPlan = Pick<Plan, "id" | "kind" | "name" | "status" | "deadline" | "shops">;

/**
 * The planning reads of a preview (worker/planning/preview.ts implements it on D1). It has no
 * method that writes, so a preview given this port cannot change a plan.
 */
export interface PlanningReadPort {
  /** The open real plan of this kind and name: the one create_or_get_plan would reuse in a real run. */
  openPlan(kind: PlanKind, name: string): Promise<Plan | undefined>;
  plan(id: string): Promise<Plan | undefined>;
  /** add_items_to_plan's selection and strategies over the mirror; an error when the step would fail. */
  previewItems(input: AddItemsInput, plan: PreviewPlan, trigger: Scope["trigger"]): Promise<ItemsPreview | { error: string }>;
}
