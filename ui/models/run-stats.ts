import { computed, createModel, signal } from "@preact/signals";
import { api, describeError, type RunStats, type StepFailures } from "../src/api";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

export const WINDOWS = [
  { hours: 24, label: "24 h" },
  { hours: 168, label: "7 days" },
] as const;

/**
 * The pictures above the runs list (issue 14): runs per hour by outcome for the window chosen,
 * and, once the list is filtered to one workflow, how often each of its steps failed. They follow
 * the list's workflow filter (in the URL) and load again when it or the window changes; a later
 * load wins over an earlier one.
 */
export const RunStatsModel = createModel(() => {
  const data = { stats: signal<RunStats | null>(null), failures: signal<StepFailures | null>(null) };
  const workflowId = computed(() => router.query.value.get("workflow_id") ?? "");
  const view = {
    workflowId,
    hours: signal<number>(24),
    loading: signal(false),
    error: signal<string | null>(null),
    failuresError: signal<string | null>(null),
  };
  let seq = 0;
  async function load() {
    const mine = ++seq;
    const wf = workflowId.peek();
    view.loading.value = true;
    try {
      const [stats, failures] = await Promise.all([
        api.runStats({ hours: view.hours.peek(), workflow_id: wf || undefined }).catch((err: unknown) => {
          if (mine === seq) view.error.value = `Could not load the runs per hour: ${describeError(err)}`;
          return null;
        }),
        wf
          ? api.stepFailures(wf, view.hours.peek()).catch((err: unknown) => {
              if (mine === seq) view.failuresError.value = `Could not load the failures per step: ${describeError(err)}`;
              return null;
            })
          : Promise.resolve(null),
      ]);
      if (mine !== seq) return;
      if (stats) view.error.value = null;
      if (failures || !wf) view.failuresError.value = null;
      data.stats.value = stats;
      data.failures.value = failures;
    } finally {
      if (mine === seq) view.loading.value = false;
    }
  }
  loadWhileSignedIn(
    () => void load(),
    () => void [workflowId.value, view.hours.value],
  );
  return {
    data,
    view,
    refresh: () => load(),
    setHours(hours: number) {
      view.hours.value = hours;
    },
  };
});
