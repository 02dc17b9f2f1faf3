import { computed, createModel, effect, signal } from "@preact/signals";
import { api, ApiError, describeError, LIVE_RUN_STATUSES, type RunDetail, type RunListItem, type StepRecord } from "../src/api";
import { router } from "./router";
import { loadWhileSignedIn, session } from "./session";

const LIVE_POLL_MS = 1500;
const IDLE_POLL_MS = 5000;

/**
 * The run monitor's list. Filters live in the URL. It refreshes every 1.5 s while a listed run
 * is live, and every 5 s otherwise so that new runs appear (unless auto-refresh is off).
 */
export const RunsModel = createModel(() => {
  const data = {
    items: signal<RunListItem[]>([]),
    nextCursor: signal<string | null>(null),
    loaded: signal(false),
    /** Workflow names for the filter and the rows. */
    workflows: signal<{ id: string; name: string }[]>([]),
  };
  const view = {
    workflowId: computed(() => router.query.value.get("workflow_id") ?? ""),
    status: computed(() => router.query.value.get("status") ?? ""),
    test: computed(() => router.query.value.get("test") ?? ""),
    autoRefresh: signal(true),
    loading: signal(false),
    error: signal<string | null>(null),
    workflowsError: signal<string | null>(null),
    refreshedAt: signal<number | null>(null),
    tick: signal(0),
  };
  const live = computed(() => data.items.value.some((r) => LIVE_RUN_STATUSES.includes(r.status)));
  const names = computed(() => new Map(data.workflows.value.map((w) => [w.id, w.name])));
  /** How many rows the next automatic refresh asks for: what is shown, so paging is not undone. */
  let shown = 50;

  let seq = 0;
  async function load(opts: { more?: boolean; quiet?: boolean } = {}) {
    const mine = ++seq;
    if (!opts.quiet) view.loading.value = true;
    try {
      const page = await api.listRuns({
        workflow_id: view.workflowId.peek() || undefined,
        status: view.status.peek() || undefined,
        test: view.test.peek() || undefined,
        limit: opts.more ? 50 : Math.min(500, Math.max(50, shown)),
        cursor: opts.more ? data.nextCursor.peek() : undefined,
      });
      if (mine !== seq) return;
      data.items.value = opts.more ? [...data.items.peek(), ...page.items] : page.items;
      shown = data.items.peek().length;
      data.nextCursor.value = page.next_cursor;
      data.loaded.value = true;
      view.error.value = null;
      view.refreshedAt.value = Date.now();
    } catch (err) {
      if (mine === seq) view.error.value = `Could not load runs: ${describeError(err)}`;
    } finally {
      if (mine === seq) {
        view.loading.value = false;
        view.tick.value++;
      }
    }
  }

  async function loadWorkflows() {
    try {
      const page = await api.listWorkflows({ limit: 500 });
      data.workflows.value = page.items.map((w) => ({ id: w.id, name: w.name }));
      view.workflowsError.value = null;
    } catch (err) {
      view.workflowsError.value = `Could not load workflow names: ${describeError(err)}`;
    }
  }

  loadWhileSignedIn(
    () => {
      shown = 50;
      void load();
      void loadWorkflows();
    },
    () => void [view.workflowId.value, view.status.value, view.test.value],
  );

  effect(() => {
    void view.tick.value;
    if (!view.autoRefresh.value || !session.signedIn.value) return;
    const timer = setTimeout(() => {
      if (document.hidden) view.tick.value++;
      else void load({ quiet: true });
    }, live.value ? LIVE_POLL_MS : IDLE_POLL_MS);
    return () => clearTimeout(timer);
  });

  return {
    data,
    view,
    live,
    names,
    refresh: () => load(),
    loadMore: () => load({ more: true }),
    setFilter(key: "workflow_id" | "status" | "test", value: string) {
      router.setQuery({ [key]: value || null });
    },
    setAutoRefresh(on: boolean) {
      view.autoRefresh.value = on;
    },
  };
});

/** One run: polled while live; the selected step is view state (a step type's own views, such as the sent email, keep theirs). */
export const RunModel = createModel((runId: string) => {
  const data = {
    run: signal<RunDetail | null>(null),
  };
  const view = {
    loading: signal(true),
    error: signal<string | null>(null),
    notFound: signal(false),
    selected: signal<string | null>(null),
    cancelling: signal(false),
    confirmCancel: signal(false),
    actionError: signal<string | null>(null),
    notice: signal<string | null>(null),
    tick: signal(0),
  };
  const live = computed(() => {
    const r = data.run.value;
    return r !== null && LIVE_RUN_STATUSES.includes(r.status);
  });
  const selectedStep = computed<StepRecord | null>(() => {
    const r = data.run.value;
    if (!r) return null;
    const id = view.selected.value;
    return r.steps.find((s) => s.node_id === id) ?? null;
  });

  async function load() {
    try {
      const run = await api.getRun(runId);
      data.run.value = run;
      view.error.value = null;
      if (view.selected.peek() === null) {
        // Open on the step that explains the run: the failing, then the running one.
        const focus = run.steps.find((s) => s.status === "failed") ?? run.steps.find((s) => s.status === "running") ?? run.steps[0];
        view.selected.value = focus?.node_id ?? null;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) view.notFound.value = true;
      view.error.value = err instanceof ApiError && err.status === 404 ? `There is no run with the id ${runId}.` : `Could not load the run: ${describeError(err)}`;
    } finally {
      view.loading.value = false;
      view.tick.value++;
    }
  }

  loadWhileSignedIn(() => void load());

  effect(() => {
    void view.tick.value;
    if (!live.value || view.notFound.value) return;
    const timer = setTimeout(() => void load(), 1000);
    return () => clearTimeout(timer);
  });

  return {
    data,
    view,
    live,
    selectedStep,
    refresh: () => load(),
    select(nodeId: string) {
      view.selected.value = nodeId;
    },
    askCancel(open: boolean) {
      view.confirmCancel.value = open;
    },
    async cancel() {
      view.confirmCancel.value = false;
      view.cancelling.value = true;
      view.actionError.value = null;
      try {
        data.run.value = await api.cancelRun(runId);
        view.notice.value = "The run was cancelled. Steps that had not finished are marked cancelled.";
      } catch (err) {
        view.actionError.value = `The run was not cancelled: ${describeError(err)}`;
        void load();
      } finally {
        view.cancelling.value = false;
      }
    },
  };
});
