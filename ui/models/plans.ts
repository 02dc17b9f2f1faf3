import { computed, createModel, signal } from "@preact/signals";
import { api, ApiError, describeError, type PlanDetail, type PlanItem, type PlanListItem } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

export const PlansModel = createModel(() => {
  const kind = computed(() => router.query.value.get("kind") ?? "");
  const status = computed(() => router.query.value.get("status") ?? "");
  const list = pagedList<PlanListItem>("plans", (cursor) =>
    api.listPlans({ kind: kind.peek() || undefined, status: status.peek() || undefined, limit: 50, cursor }),
  );
  const data = list.data;
  const view = { kind, status, loading: list.loading, error: list.error };
  const load = list.load;
  loadWhileSignedIn(
    () => void load(),
    () => void [view.kind.value, view.status.value],
  );
  return {
    data,
    view,
    refresh: () => load(),
    loadMore: () => load(true),
    setFilter(key: "kind" | "status", value: string) {
      router.setQuery({ [key]: value || null });
    },
  };
});

const PAGE = 200;

/**
 * A plan with its lines. The API sends lines a thousand at a time (a plan may hold 100,000);
 * the table shows them a page at a time and fetches more on request. The filter applies to
 * the lines fetched so far.
 */
export const PlanModel = createModel((planId: string) => {
  const data = {
    plan: signal<PlanDetail | null>(null),
    items: signal<PlanItem[]>([]),
    itemsCursor: signal<string | null>(null),
  };
  const view = {
    loading: signal(true),
    loadingItems: signal(false),
    error: signal<string | null>(null),
    itemsError: signal<string | null>(null),
    shown: signal(PAGE),
    filter: signal(""),
  };
  const items = computed(() => {
    const all = data.items.value;
    const f = view.filter.value.trim().toLowerCase();
    if (!f) return all;
    return all.filter((i) =>
      [i.inventory_item_id, i.variant_id, i.shop_id, i.from_shop_id, i.to_shop_id, i.run_id, i.strategy].some((v) => v?.toLowerCase().includes(f)),
    );
  });
  const runs = computed(() => new Set(data.items.value.map((i) => i.run_id).filter(Boolean)).size);
  async function load() {
    view.loading.value = true;
    try {
      const plan = await api.getPlan(planId);
      data.plan.value = plan;
      data.items.value = plan.items;
      data.itemsCursor.value = plan.items_next_cursor;
      view.error.value = null;
    } catch (err) {
      view.error.value = err instanceof ApiError && err.status === 404 ? `There is no plan with the id ${planId}.` : `Could not load the plan: ${describeError(err)}`;
    } finally {
      view.loading.value = false;
    }
  }
  async function loadMoreItems() {
    const cursor = data.itemsCursor.peek();
    if (!cursor) return;
    view.loadingItems.value = true;
    view.itemsError.value = null;
    try {
      const page = await api.getPlan(planId, cursor);
      data.items.value = [...data.items.peek(), ...page.items];
      data.itemsCursor.value = page.items_next_cursor;
    } catch (err) {
      view.itemsError.value = `Could not load more lines: ${describeError(err)}`;
    } finally {
      view.loadingItems.value = false;
    }
  }
  loadWhileSignedIn(() => void load());
  return {
    data,
    view,
    items,
    runs,
    refresh: () => load(),
    async showMore() {
      view.shown.value += PAGE;
      // Fetch the next lines from the API once the table reaches the end of what it holds.
      if (view.shown.peek() >= data.items.peek().length) await loadMoreItems();
    },
    setFilter(text: string) {
      view.filter.value = text;
      view.shown.value = PAGE;
    },
  };
});
