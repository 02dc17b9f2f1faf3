import { signal } from "@preact/signals";
import { api, describeError, type EntitySnapshot, type PreviewAnswer, type PreviewRequest } from "../src/api";
import type { TriggerInput } from "../src/lib/catalog";

interface Deps {
  workflowId(): string | null;
  trigger(): TriggerInput;
  dirty(): boolean;
  save(): Promise<boolean>;
}

export type PreviewMode = "entity" | "matching";

/** The most runs a "everything that matches now" preview asks for by default (the API allows 1000). */
export const DEFAULT_MATCHING_LIMIT = 200;

/**
 * Preview from the builder (SPEC §13): pick a mirrored entity of the trigger's kind (or ask for
 * everything that matches now) and show what a run of the saved version would do, writing
 * nothing. Lives inside the builder model; the answer is dropped when the request changes so
 * that what is shown always belongs to what is picked.
 */
export function createPreview(deps: Deps) {
  const data = {
    /** The trigger entity the results (and the pick) are of: they are dropped when the trigger's entity changes. */
    searchedFor: signal<string | null>(null),
    results: signal<EntitySnapshot[] | null>(null),
    picked: signal<EntitySnapshot | null>(null),
    answer: signal<PreviewAnswer | null>(null),
  };
  const view = {
    mode: signal<PreviewMode>("entity"),
    query: signal(""),
    searching: signal(false),
    searchError: signal<string | null>(null),
    limit: signal(DEFAULT_MATCHING_LIMIT),
    running: signal(false),
    error: signal<string | null>(null),
  };
  /** Moves with every request, so that a late answer to an older one is ignored. */
  let ticket = 0;

  return {
    data,
    view,
    async search() {
      const entity = deps.trigger().entity;
      view.searching.value = true;
      view.searchError.value = null;
      try {
        const page = await api.listEntities(entity, { q: view.query.peek().trim() || undefined, limit: 20 });
        data.results.value = page.items;
        if (data.searchedFor.peek() !== entity) data.picked.value = null;
        data.searchedFor.value = entity;
      } catch (err) {
        view.searchError.value = `Could not search ${entity.replaceAll("_", " ")} entities: ${describeError(err)}`;
      } finally {
        view.searching.value = false;
      }
    },
    setQuery(q: string) {
      view.query.value = q;
    },
    pick(entity: EntitySnapshot) {
      data.picked.value = entity;
      data.answer.value = null;
      view.error.value = null;
    },
    setMode(mode: PreviewMode) {
      view.mode.value = mode;
      data.answer.value = null;
      view.error.value = null;
    },
    setLimit(n: number) {
      view.limit.value = Number.isInteger(n) ? Math.min(1000, Math.max(1, n)) : DEFAULT_MATCHING_LIMIT;
    },
    async run() {
      view.error.value = null;
      const mode = view.mode.peek();
      const picked = data.searchedFor.peek() === deps.trigger().entity ? data.picked.peek() : null;
      if (mode === "entity" && !picked) return void (view.error.value = `Pick ${deps.trigger().entity.replaceAll("_", " ")} to preview on`);
      if (deps.dirty() || !deps.workflowId()) {
        // A preview runs a saved version; save first so it shows what the editor shows.
        if (!(await deps.save())) return void (view.error.value = "The workflow must be saved before a preview; see the message above.");
      }
      const id = deps.workflowId();
      if (!id) return;
      const body: PreviewRequest =
        mode === "matching" || !picked ? { matching_now: true, limit: view.limit.peek() } : { entity: deps.trigger().entity, entity_id: picked.id };
      const mine = ++ticket;
      view.running.value = true;
      data.answer.value = null;
      try {
        const answer = await api.previewWorkflow(id, body);
        if (mine === ticket) data.answer.value = answer;
      } catch (err) {
        if (mine === ticket) view.error.value = `The preview failed: ${describeError(err)}`;
      } finally {
        if (mine === ticket) view.running.value = false;
      }
    },
  };
}

export type Preview = ReturnType<typeof createPreview>;
