import { createModel, signal } from "@preact/signals";
import { api, describeError, type RetryAnswer } from "../src/api";
import { router } from "./router";

/*
 * "Retry from here" (SPEC §15): the plan first (a dry run: where the new run starts and the side
 * effects the original already made, which it will not make again), then the new run, on the
 * pinned version or the latest; the page then moves to it.
 */
export const RetryModel = createModel((runId: string, nodeId: string) => {
  const view = {
    open: signal(false),
    version: signal<"pinned" | "latest">("pinned"),
    loading: signal(false),
    starting: signal(false),
    error: signal<string | null>(null),
  };
  const data = { plan: signal<RetryAnswer | null>(null) };
  let seq = 0;

  async function plan() {
    const mine = ++seq;
    view.loading.value = true;
    view.error.value = null;
    data.plan.value = null;
    try {
      const answer = await api.retryRun(runId, { from: nodeId, version: view.version.peek(), dry_run: true });
      if (mine === seq) data.plan.value = answer;
    } catch (err) {
      if (mine === seq) view.error.value = `A retry from “${nodeId}” is not possible: ${describeError(err)}`;
    } finally {
      if (mine === seq) view.loading.value = false;
    }
  }

  return {
    data,
    view,
    ask() {
      view.open.value = true;
      void plan();
    },
    close() {
      view.open.value = false;
    },
    setVersion(version: "pinned" | "latest") {
      view.version.value = version;
      void plan();
    },
    async start() {
      view.starting.value = true;
      view.error.value = null;
      try {
        const answer = await api.retryRun(runId, { from: nodeId, version: view.version.peek() });
        view.open.value = false;
        if (answer.run_id) router.navigate(`/runs/${encodeURIComponent(answer.run_id)}`);
      } catch (err) {
        view.error.value = `The retry did not start: ${describeError(err)}`;
      } finally {
        view.starting.value = false;
      }
    },
  };
});
