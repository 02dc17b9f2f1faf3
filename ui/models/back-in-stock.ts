import { computed, createModel, signal } from "@preact/signals";
import { api, describeError, type BackInStockSummary, type RestockEpisode } from "../src/api";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

export type BackInStockVariant = BackInStockSummary["variants"][number];

/** The windows the page offers, in days; the summary counts the subscriptions notified in it. */
export const RANGES = [7, 30, 90] as const;
const DEFAULT_RANGE = 30;
const DAY_MS = 86_400_000;

/**
 * The back-in-stock page (SPEC §12): the summary for the chosen window (`?days=`), and the restock
 * episodes of the variant picked in its table (`?variant=`). Both live in the URL, so the page
 * reloads to what was shown and a link to it shares the choice.
 */
export const BackInStockModel = createModel(() => {
  const days = computed(() => {
    const n = Number(router.query.value.get("days"));
    return (RANGES as readonly number[]).includes(n) ? n : DEFAULT_RANGE;
  });
  const variantId = computed(() => router.query.value.get("variant") ?? "");

  const data = {
    summary: signal<BackInStockSummary | null>(null),
    episodes: signal<RestockEpisode[]>([]),
    /** The variant whose episodes `episodes` holds (a later pick replaces them). */
    episodesOf: signal<string | null>(null),
  };
  const view = {
    days,
    variantId,
    loading: signal(false),
    error: signal<string | null>(null),
    loadingEpisodes: signal(false),
    episodesError: signal<string | null>(null),
  };

  /** The 10 most wanted, for the chart: the API lists the most waiting first. */
  const top = computed(() => (data.summary.value?.variants ?? []).slice(0, 10));
  const selected = computed(() => data.summary.value?.variants.find((v) => v.variant_id === variantId.value) ?? null);

  // A later load wins over an earlier one still in flight (switching windows quickly).
  let seq = 0;
  async function load() {
    const mine = ++seq;
    view.loading.value = true;
    view.error.value = null;
    try {
      const from = new Date(Date.now() - days.peek() * DAY_MS).toISOString();
      const summary = await api.backInStockSummary({ from, limit: 500 });
      if (mine === seq) data.summary.value = summary;
    } catch (err) {
      if (mine === seq) view.error.value = `Could not load the back-in-stock summary: ${describeError(err)}`;
    } finally {
      if (mine === seq) view.loading.value = false;
    }
  }

  let epSeq = 0;
  async function loadEpisodes() {
    const id = variantId.peek();
    const mine = ++epSeq;
    if (!id) {
      data.episodes.value = [];
      data.episodesOf.value = null;
      view.episodesError.value = null;
      return;
    }
    view.loadingEpisodes.value = true;
    view.episodesError.value = null;
    try {
      const page = await api.listRestocks({ variant_id: id, limit: 50 });
      if (mine !== epSeq) return;
      data.episodes.value = page.items;
      data.episodesOf.value = id;
    } catch (err) {
      if (mine === epSeq) view.episodesError.value = `Could not load the restocks of ${id}: ${describeError(err)}`;
    } finally {
      if (mine === epSeq) view.loadingEpisodes.value = false;
    }
  }

  loadWhileSignedIn(
    () => void load(),
    () => void days.value,
  );
  loadWhileSignedIn(
    () => void loadEpisodes(),
    () => void variantId.value,
  );

  return {
    data,
    view,
    top,
    selected,
    refresh: () => Promise.all([load(), loadEpisodes()]),
    setDays(n: number) {
      router.setQuery({ days: n === DEFAULT_RANGE ? null : String(n) });
    },
    select(id: string | null) {
      router.setQuery({ variant: id });
    },
  };
});
