import { createModel, signal, useModel } from "@preact/signals";
import type { TrackedLink } from "../../../worker/contract";
import { api, describeError } from "../api";
import { ErrorNote, Loading } from "../components/common/ui";
import { count } from "../lib/util";

/** The clicks on a step's tracked links, loaded when asked (clicks come in after the run). */
const Clicks = createModel((runId: string, nodeId: string) => {
  const links = signal<TrackedLink[] | null>(null);
  const loading = signal(false);
  const error = signal<string | null>(null);
  return {
    links,
    loading,
    error,
    async load() {
      loading.value = true;
      error.value = null;
      try {
        links.value = (await api.runClicks(runId)).data.filter((l) => l.node_id === nodeId);
      } catch (err) {
        error.value = `Could not load the clicks: ${describeError(err)}`;
      } finally {
        loading.value = false;
      }
    },
  };
});

/** For a step with `track_links`: each link, where it leads, and how often it was clicked. */
export function TrackedLinksView({ runId, nodeId }: { runId: string; nodeId: string }) {
  const m = useModel(() => new Clicks(runId, nodeId));
  const links = m.links.value;
  return (
    <div class="tracked-links">
      <div class="row-actions">
        <button type="button" class="btn btn-small" onClick={() => void m.load()}>
          {links === null ? "Show link clicks" : "Refresh link clicks"}
        </button>
      </div>
      {m.loading.value && <Loading label="Loading the clicks…" />}
      <ErrorNote error={m.error.value} />
      {links !== null &&
        (links.length === 0 ? (
          <p class="hint">No tracked links in this step.</p>
        ) : (
          <ul>
            {links.map((l) => (
              <li key={l.url}>
                <code>{l.url}</code>: {count(l.clicks, "click")}
                {l.first_click_at && ` (first ${new Date(l.first_click_at).toLocaleString()})`}
                {l.test && <span class="badge tone-warn">Test data</span>}
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}
