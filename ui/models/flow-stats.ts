import { signal } from "@preact/signals";
import { api, describeError, type FlowStats } from "../src/api";

/**
 * What flow control did for one saved workflow (GET /api/workflows/{id}/stats): the stats
 * (domain) apart from progress and the error in words (view). A later load wins.
 */
export function createFlowStats(workflowId: () => string | null) {
  const data = { stats: signal<FlowStats | null>(null) };
  const view = { loading: signal(false), error: signal<string | null>(null) };
  let seq = 0;
  async function load() {
    const id = workflowId();
    if (id === null) return;
    const mine = ++seq;
    view.loading.value = true;
    view.error.value = null;
    try {
      const stats = await api.flowStats(id);
      if (mine === seq) data.stats.value = stats;
    } catch (err) {
      if (mine === seq) view.error.value = `Could not load what flow control did: ${describeError(err)}`;
    } finally {
      if (mine === seq) view.loading.value = false;
    }
  }
  return { data, view, load };
}
