import { computed, createModel, signal } from "@preact/signals";
import { api, describeError, type WorkflowListItem } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

/** The workflows list: rows and paging (domain) apart from filter, progress and messages (view). */
export const WorkflowsModel = createModel(() => {
  const status = computed(() => router.query.value.get("status") ?? "");
  const list = pagedList<WorkflowListItem>("workflows", (cursor) => api.listWorkflows({ status: status.peek() || undefined, limit: 50, cursor }));
  const data = list.data;
  const view = {
    status,
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
    () => void view.status.value,
  );

  return {
    data,
    view,
    reload: () => load(),
    loadMore: () => load(true),
    setStatus(status: string) {
      router.setQuery({ status: status || null });
    },
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
    askArchive(item: WorkflowListItem | null) {
      view.confirmArchive.value = item;
    },
    async archive(item: WorkflowListItem) {
      view.confirmArchive.value = null;
      view.busyId.value = item.id;
      view.notice.value = null;
      view.error.value = null;
      try {
        await api.setStatus(item.id, "archived");
        view.notice.value = { text: `Archived “${item.name}”. It no longer starts runs.` };
        await load();
      } catch (err) {
        view.error.value = `Could not archive “${item.name}”: ${describeError(err)}`;
      } finally {
        view.busyId.value = null;
      }
    },
  };
});
