import { computed, createModel, signal } from "@preact/signals";
import { api, ApiError, describeError, type PlanDetail, type PlanLine, type PlanListItem, type PlanStatus, type PlanTotals } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

export const PlansModel = createModel(() => {
  const kind = computed(() => router.query.value.get("kind") ?? "");
  const status = computed(() => router.query.value.get("status") ?? "");
  const test = computed(() => router.query.value.get("test") ?? "");
  const list = pagedList<PlanListItem>("plans", (cursor) =>
    api.listPlans({ kind: kind.peek() || undefined, status: status.peek() || undefined, test: test.peek() || undefined, limit: 50, cursor }),
  );
  const data = list.data;
  const view = { kind, status, test, loading: list.loading, error: list.error };
  const load = list.load;
  loadWhileSignedIn(
    () => void load(),
    () => void [view.kind.value, view.status.value, view.test.value],
  );
  return {
    data,
    view,
    refresh: () => load(),
    loadMore: () => load(true),
    setFilter(key: "kind" | "status" | "test", value: string) {
      router.setQuery({ [key]: value || null });
    },
  };
});

// ---------------------------------------------------------------- one plan (pure helpers first)

const num = (n: number | null | undefined) => (n === null || n === undefined ? "?" : String(n));

/** Why a line is in the plan, in words: its strategy, with the figures it went by. */
export function reasonText(l: PlanLine): string {
  const score = l.score === null ? "" : ` (score ${l.score.toFixed(2)})`;
  switch (l.strategy) {
    case "quantity:fill_to_target":
      return `Fill to target: target ${num(l.target)}, ${num(l.on_hand)} on hand, ${num(l.on_order)} on order`;
    case "quantity:fixed":
      return "Fixed quantity";
    case "quantity:score":
      return `Recommended quantity${score}`;
    case "quantity:waitlist":
      return "Customers waiting for this size";
    case "matching:score":
      return `Surplus to deficit: ${num(l.from_on_hand)} on hand there, ${num(l.on_hand)} of ${num(l.target)} here${score}`;
    case "matching:fixed":
      return "Transfer between fixed shops";
    case "discount:fixed":
      return `Fixed markdown of ${num(l.discount_percent)} %`;
    case "discount:score":
      return `Markdown by score: ${num(l.discount_percent)} %${score}`;
    case "discount:recommended":
      return `Recommended markdown: ${num(l.discount_percent)} %${score}`;
    default:
      return l.strategy ? `${l.strategy.replace(/[_:]/g, " ")}${score}` : score.trim() || "—";
  }
}

/** "Runner · Brand one", "42 · SKU-1": what a planner recognises a line by. */
export function productText(l: PlanLine): { name: string; detail: string } {
  const name = l.product_name ?? l.variant_id ?? l.inventory_item_id ?? "Unknown item";
  const known = [l.brand_name, l.size && `size ${l.size}`, l.sku].filter(Boolean).join(" · ");
  // Without names from the mirror, the item's id is what a planner can look up.
  const detail = known || (l.product_name === null && l.inventory_item_id && l.inventory_item_id !== name ? `item ${l.inventory_item_id}` : "");
  return { name, detail };
}

/** The plan's action buttons, in the order shown; each only when the server lists its status as next. */
export const PLAN_ACTIONS: readonly { status: PlanStatus; label: string; confirm?: string; tone: "primary" | "plain" | "danger" }[] = [
  { status: "approved", label: "Approve", tone: "primary" },
  { status: "open", label: "Reopen", tone: "plain" },
  { status: "closed", label: "Close plan", tone: "plain", confirm: "Close this plan? It is then done: nobody can edit it, and runs start a new plan of its kind and name." },
  { status: "cancelled", label: "Cancel plan", tone: "danger", confirm: "Cancel this plan? It is then dropped for good: nobody can edit it, and it cannot be reopened." },
];

/** What a planner may do with a quantity typed into the editor: a whole number from 0, or a sentence why not. */
export function parseQuantity(text: string): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return "Type a whole number of units, 0 or more.";
  const n = Number(t);
  return n > 1_000_000 ? "At most 1,000,000 units a line." : n;
}

export type Measure = "units" | "cost_value" | "retail_value";

const LINES_PAGE = 100;

/**
 * A plan as a planner reads and acts on it: the plan, its totals (in all and per shop) and its
 * lines with names and values, filtered on the server by the words, shop and test mark in the
 * URL; the line being edited, the action being confirmed, and what each request said.
 */
export const PlanModel = createModel((planId: string) => {
  const data = {
    plan: signal<PlanDetail | null>(null),
    totals: signal<PlanTotals | null>(null),
    lines: signal<PlanLine[]>([]),
    linesCursor: signal<string | null>(null),
    linesLoaded: signal(false),
  };
  const q = computed(() => router.query.value.get("q") ?? "");
  const shop = computed(() => router.query.value.get("shop") ?? "");
  const test = computed(() => router.query.value.get("test") ?? "");
  const view = {
    q,
    shop,
    test,
    /** The search box as typed; it reaches the URL (and the server) after a pause. */
    typed: signal(q.peek()),
    measure: signal<Measure>("units"),
    loading: signal(true),
    error: signal<string | null>(null),
    linesLoading: signal(false),
    linesError: signal<string | null>(null),
    totalsError: signal<string | null>(null),
    editing: signal<string | null>(null),
    draft: signal(""),
    saving: signal(false),
    editError: signal<string | null>(null),
    confirming: signal<PlanStatus | null>(null),
    acting: signal(false),
    actionError: signal<string | null>(null),
    notice: signal<string | null>(null),
    exporting: signal(false),
  };
  const filtered = computed(() => Boolean(q.value.trim() || shop.value || test.value));
  const filters = () => ({ q: q.peek().trim() || undefined, shop_id: shop.peek() || undefined, test: test.peek() || undefined });

  async function loadPlan() {
    try {
      // The lines come from /lines; the plan's own page of items is not needed here.
      data.plan.value = await api.getPlan(planId, undefined, 1);
      view.error.value = null;
    } catch (err) {
      view.error.value = err instanceof ApiError && err.status === 404 ? `There is no plan with the id ${planId}.` : `Could not load the plan: ${describeError(err)}`;
    } finally {
      view.loading.value = false;
    }
  }
  async function loadTotals() {
    try {
      data.totals.value = await api.planTotals(planId);
      view.totalsError.value = null;
    } catch (err) {
      view.totalsError.value = `Could not load the totals: ${describeError(err)}`;
    }
  }
  let seq = 0;
  async function loadLines(more = false) {
    const mine = ++seq;
    view.linesLoading.value = true;
    view.linesError.value = null;
    try {
      const page = await api.planLines(planId, { ...filters(), limit: LINES_PAGE, cursor: more ? data.linesCursor.peek() : undefined });
      if (mine !== seq) return;
      data.lines.value = more ? [...data.lines.peek(), ...page.items] : page.items;
      data.linesCursor.value = page.next_cursor;
      data.linesLoaded.value = true;
    } catch (err) {
      if (mine === seq) view.linesError.value = `Could not load the lines: ${describeError(err)}`;
    } finally {
      if (mine === seq) view.linesLoading.value = false;
    }
  }
  const refresh = () => Promise.all([loadPlan(), loadTotals(), loadLines()]);

  loadWhileSignedIn(() => void Promise.all([loadPlan(), loadTotals()]));
  loadWhileSignedIn(
    () => void loadLines(),
    () => void [q.value, shop.value, test.value],
  );

async function setStatus(status: PlanStatus) {
    view.confirming.value = null;
    view.acting.value = true;
    view.actionError.value = null;
    try {
      await api.setPlanStatus(planId, status);
      view.editing.value = null;
      // What the new status means is said by the page's note for it; this only confirms the change.
      view.notice.value = status === "open" ? "Plan reopened: runs add to it again." : `Plan ${status}.`;
      await loadPlan();
    } catch (err) {
      view.actionError.value = `The plan was not changed: ${describeError(err)}`;
      void loadPlan();
    } finally {
      view.acting.value = false;
    }
  }

  let typing: ReturnType<typeof setTimeout> | undefined;

  return {
    data,
    view,
    filtered,
    refresh,
    showMore: () => loadLines(true),
    type(text: string) {
      view.typed.value = text;
      clearTimeout(typing);
      typing = setTimeout(() => router.setQuery({ q: text.trim() || null }), 350);
    },
    search() {
      clearTimeout(typing);
      router.setQuery({ q: view.typed.peek().trim() || null });
    },
    setFilter(key: "shop" | "test", value: string) {
      router.setQuery({ [key]: value || null });
    },
    clearFilters() {
      clearTimeout(typing);
      view.typed.value = "";
      router.setQuery({ q: null, shop: null, test: null });
    },
    setMeasure(m: Measure) {
      view.measure.value = m;
    },

    edit(line: PlanLine) {
      view.editing.value = line.line_id;
      view.draft.value = String(line.quantity);
      view.editError.value = null;
    },
    stopEditing() {
      view.editing.value = null;
      view.editError.value = null;
    },
    async save() {
      const lineId = view.editing.peek();
      if (!lineId) return;
      const quantity = parseQuantity(view.draft.peek());
      if (typeof quantity === "string") {
        view.editError.value = quantity;
        return;
      }
      view.saving.value = true;
      view.editError.value = null;
      try {
        const answer = await api.setPlanLineQuantity(planId, lineId, quantity);
        data.lines.value = data.lines.peek().map((l) => (l.line_id === lineId ? answer.line : l));
        const plan = data.plan.peek();
        if (plan) data.plan.value = { ...plan, ...answer.plan };
        view.editing.value = null;
        view.notice.value = `${productText(answer.line).name}: quantity set to ${answer.line.quantity}.`;
        void loadTotals();
      } catch (err) {
        view.editError.value = `Not saved: ${describeError(err)}`;
        if (err instanceof ApiError && err.status === 409) void loadPlan();
      } finally {
        view.saving.value = false;
      }
    },

    /** Asks first when the action says so (close, cancel); else acts at once. */
    ask(status: PlanStatus) {
      const action = PLAN_ACTIONS.find((a) => a.status === status);
      view.actionError.value = null;
      if (action?.confirm) view.confirming.value = status;
      else void setStatus(status);
    },
    closeConfirm() {
      view.confirming.value = null;
    },
    setStatus,
    async exportCsv() {
      view.exporting.value = true;
      view.actionError.value = null;
      try {
        const { blob, filename } = await api.exportPlanCsv(planId, filters());
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = filename;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch (err) {
        view.actionError.value = `The export failed: ${describeError(err)}`;
      } finally {
        view.exporting.value = false;
      }
    },
  };
});
