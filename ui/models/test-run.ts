import { computed, effect, signal } from "@preact/signals";
import { api, describeError, LIVE_RUN_STATUSES, type EntitySnapshot, type EventKind, type RunDetail } from "../src/api";
import { ENTITY_FIELDS, type TriggerInput } from "../src/lib/catalog";
import { pretty } from "../src/lib/util";

/** What the user typed into the test panel; carried over when saving a new workflow first. */
export interface TestForm {
  query: string;
  results: EntitySnapshot[] | null;
  picked: EntitySnapshot | null;
  kind: EventKind;
  entityId: string;
  dataText: string;
  previousText: string;
}

interface Deps {
  workflowId(): string | null;
  trigger(): TriggerInput;
  dirty(): boolean;
  save(form: TestForm): Promise<boolean>;
}

const POLL_MS = 1000;

/**
 * Test from the builder: find an entity in the mirror, turn it into an event, start a test run
 * of the saved version, and follow it until it ends. Lives inside the builder model.
 */
export function createTestRun(deps: Deps) {
  const data = {
    results: signal<EntitySnapshot[] | null>(null),
    picked: signal<EntitySnapshot | null>(null),
    run: signal<RunDetail | null>(null),
  };
  const view = {
    query: signal(""),
    searching: signal(false),
    searchError: signal<string | null>(null),
    kind: signal<EventKind>("updated"),
    entityId: signal(""),
    dataText: signal(""),
    previousText: signal(""),
    formError: signal<string | null>(null),
    starting: signal(false),
    startError: signal<string | null>(null),
    runId: signal<string | null>(null),
    runError: signal<string | null>(null),
    /** Moves after every answer (or failure) so that polling re-arms. */
    tick: signal(0),
  };
  const live = computed(() => {
    const r = data.run.value;
    return view.runId.value !== null && (r === null || LIVE_RUN_STATUSES.includes(r.status));
  });

  async function fetchRun(id: string) {
    try {
      const run = await api.getRun(id);
      if (view.runId.peek() !== id) return;
      data.run.value = run;
      view.runError.value = null;
    } catch (err) {
      if (view.runId.peek() === id) view.runError.value = `Could not load the test run: ${describeError(err)}`;
    } finally {
      view.tick.value++;
    }
  }

  // Follow the run while it is live; the timer is re-armed after each answer, never stacked.
  effect(() => {
    const id = view.runId.value;
    if (!id || !live.value) return;
    void view.tick.value;
    const timer = setTimeout(() => void fetchRun(id), data.run.peek() ? POLL_MS : 300);
    return () => clearTimeout(timer);
  });

  function parseJson(text: string, what: string, optional: boolean): { ok: true; value: unknown } | { ok: false; error: string } {
    if (text.trim() === "") return optional ? { ok: true, value: undefined } : { ok: false, error: `Give the ${what} as JSON` };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, error: `The ${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  return {
    data,
    view,
    live,
    async search() {
      const entity = deps.trigger().entity;
      view.searching.value = true;
      view.searchError.value = null;
      try {
        const page = await api.listEntities(entity, { q: view.query.peek().trim() || undefined, limit: 20 });
        data.results.value = page.items;
      } catch (err) {
        view.searchError.value = `Could not search ${entity.replaceAll("_", " ")} entities: ${describeError(err)}`;
      } finally {
        view.searching.value = false;
      }
    },
    pick(entity: EntitySnapshot) {
      data.picked.value = entity;
      view.entityId.value = entity.id;
      view.dataText.value = pretty(entity);
      view.previousText.value = "";
      const events = deps.trigger().events ?? ["created", "updated"];
      // A back_in_stock trigger (derived by the consumer, never sent) is tested with an updated event.
      const kinds = events.filter((k): k is EventKind => k !== "back_in_stock");
      view.kind.value = kinds.includes("updated") ? "updated" : (kinds[0] ?? "updated");
      view.formError.value = null;
    },
    /** An event from scratch, for a mirror that does not hold the entity yet. */
    blank() {
      const entity = deps.trigger().entity;
      const fields = Object.fromEntries(ENTITY_FIELDS[entity].map((f) => [f, ""]));
      data.picked.value = null;
      view.entityId.value = "";
      view.dataText.value = pretty({ id: "", tags: deps.trigger().tags?.include ?? [], ...fields });
      view.previousText.value = "";
    },
    async start() {
      view.formError.value = null;
      view.startError.value = null;
      const entity = deps.trigger().entity;
      const parsed = parseJson(view.dataText.peek(), "entity data", false);
      if (!parsed.ok) return void (view.formError.value = parsed.error);
      const previous = parseJson(view.previousText.peek(), "previous snapshot", true);
      if (!previous.ok) return void (view.formError.value = previous.error);
      const fromData = parsed.value && typeof parsed.value === "object" ? (parsed.value as { id?: unknown }).id : undefined;
      const entityId = view.entityId.peek().trim() || (typeof fromData === "string" ? fromData : "");
      if (!entityId) return void (view.formError.value = "Give the entity id (pick an entity or type one)");
      if (deps.dirty() || !deps.workflowId()) {
        // A test runs the saved version; save first so it runs what the user sees.
        const form: TestForm = {
          query: view.query.peek(),
          results: data.results.peek(),
          picked: data.picked.peek(),
          kind: view.kind.peek(),
          entityId: view.entityId.peek(),
          dataText: view.dataText.peek(),
          previousText: view.previousText.peek(),
        };
        if (!(await deps.save(form))) {
          view.startError.value = "The workflow must be saved before a test run; see the message above.";
          return;
        }
      }
      // A new workflow's page takes over from here (it starts the test with this form).
      const id = deps.workflowId();
      if (!id) return;
      view.starting.value = true;
      try {
        const res = await api.startTest(id, {
          type: `${entity}.${view.kind.peek()}`,
          entity_id: entityId,
          data: parsed.value,
          ...(previous.value !== undefined ? { previous: previous.value } : {}),
        });
        data.run.value = null;
        view.runError.value = null;
        view.runId.value = res.id;
      } catch (err) {
        view.startError.value = `The test run did not start: ${describeError(err)}`;
      } finally {
        view.starting.value = false;
      }
    },
    /** The panel's text fields and event kind, as the user types. */
    edit<K extends "query" | "entityId" | "dataText" | "previousText" | "kind">(field: K, value: (typeof view)[K]["value"]) {
      (view[field] as { value: typeof value }).value = value;
    },
    restore(form: TestForm) {
      view.query.value = form.query;
      data.results.value = form.results;
      data.picked.value = form.picked;
      view.kind.value = form.kind;
      view.entityId.value = form.entityId;
      view.dataText.value = form.dataText;
      view.previousText.value = form.previousText;
    },
    refresh() {
      const id = view.runId.peek();
      if (id) void fetchRun(id);
    },
    clear() {
      view.runId.value = null;
      data.run.value = null;
    },
  };
}
