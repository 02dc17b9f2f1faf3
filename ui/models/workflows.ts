import { computed, createModel, signal } from "@preact/signals";
import { api, describeError, type WorkflowListItem, type WorkflowStatus } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

/** How long typing pauses before the search is sent. */
const SEARCH_DELAY_MS = 300;

/** The workflows list: rows and paging (domain) apart from filters, progress and messages (view). */
export const WorkflowsModel = createModel(() => {
  const status = computed(() => router.query.value.get("status") ?? "");
  /** The name search the list shows (?q=), sent to the API. */
  const q = computed(() => router.query.value.get("q") ?? "");
  const list = pagedList<WorkflowListItem>("workflows", (cursor) => api.listWorkflows({ status: status.peek() || undefined, q: q.peek() || undefined, limit: 50, cursor }));
  const data = list.data;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const view = {
    status,
    q,
    /** What is typed in the search box; it becomes `q` once typing pauses, or at once on Enter. */
    searchText: signal(q.peek()),
    loading: list.loading,
    error: list.error,
    /** Outcome of the last row action, in words. */
    notice: signal<{ text: string; href?: string } | null>(null),
    /** The row an action is running on. */
    busyId: signal<string | null>(null),
    confirmArchive: signal<WorkflowListItem | null>(null),
  };
  const load = list.load;

  loadWhileSignedIn(
    () => void load(),
    () => {
      void view.status.value;
      void view.q.value;
    },
  );

  /** Runs a status change of a row, saying what it did, or why not. */
  async function change(item: WorkflowListItem, to: WorkflowStatus, done: string, failed: string, href?: string) {
    view.busyId.value = item.id;
    view.notice.value = null;
    view.error.value = null;
    try {
      await api.setStatus(item.id, to);
      view.notice.value = { text: done, ...(href ? { href } : {}) };
      await load();
    } catch (err) {
      view.error.value = `${failed}: ${describeError(err)}`;
    } finally {
      view.busyId.value = null;
    }
  }

  return {
    data,
    view,
    reload: () => load(),
    loadMore: () => load(true),
    setStatus(status: string) {
      router.setQuery({ status: status || null });
    },
    /** Typing: the search goes to the URL (and the API) once typing pauses. */
    typeSearch(text: string) {
      view.searchText.value = text;
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => router.setQuery({ q: text.trim() || null }), SEARCH_DELAY_MS);
    },
    search(text = view.searchText.peek()) {
      clearTimeout(searchTimer);
      view.searchText.value = text;
      router.setQuery({ q: text.trim() || null });
    },
    /** Matching events start runs from now on (a draft, or a workflow a person paused). */
    activate: (item: WorkflowListItem) =>
      change(item, "active", `Activated “${item.name}”: matching events now start runs.`, `Could not activate “${item.name}”`),
    /** No new runs until it is activated again; runs under way go on. */
    pause: (item: WorkflowListItem) => change(item, "paused", `Paused “${item.name}”: it starts no new runs until you activate it; runs under way go on.`, `Could not pause “${item.name}”`),
    async duplicate(item: WorkflowListItem) {
      view.busyId.value = item.id;
      view.notice.value = null;
      view.error.value = null;
      try {
        const wf = await api.getWorkflow(item.id);
        const copy = await api.createWorkflow({ ...wf.definition, name: `Copy of ${wf.definition.name}`.slice(0, 200) });
        view.notice.value = { text: `Created “${copy.name}” as a draft.`, href: `/workflows/${copy.id}` };
        await load();
      } catch (err) {
        view.error.value = `Could not duplicate “${item.name}”: ${describeError(err)}`;
      } finally {
        view.busyId.value = null;
      }
    },
    /** Activates a workflow the engine paused (a daily cap): the user's decision, SPEC §14. */
    resume: (item: WorkflowListItem) =>
      change(item, "active", `Resumed “${item.name}”: matching events start runs again. Today's caps still apply.`, `Could not resume “${item.name}”`, `/workflows/${item.id}?show=controls`),
    askArchive(item: WorkflowListItem | null) {
      view.confirmArchive.value = item;
    },
    archive(item: WorkflowListItem) {
      view.confirmArchive.value = null;
      return change(item, "archived", `Archived “${item.name}”. It no longer starts runs.`, `Could not archive “${item.name}”`);
    },
  };
});
