import { computed, createModel, signal } from "@preact/signals";
import { api, describeError, type DeadEvent, type RefusedEvent, type StaleEvent } from "../src/api";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";

/*
 * The events the engine could not use (issue 14): dead letters (the consumer gave up on them; they
 * can be replayed), requests the intake refused (kept with their reason, never replayable: what was
 * sent is not kept), and stale events (older than the snapshot the mirror held; no run started).
 * The list shown lives in the URL (?show=dead|refused|stale).
 */

export const EVENT_VIEWS = [
  { value: "dead", label: "Dead letters" },
  { value: "refused", label: "Refused" },
  { value: "stale", label: "Stale" },
] as const;
export type EventView = (typeof EVENT_VIEWS)[number]["value"];

const isView = (v: string | null): v is EventView => EVENT_VIEWS.some((x) => x.value === v);

/** A string field of a JSON value read from the API, or null. */
function text(value: unknown, key: string): string | null {
  if (value === null || typeof value !== "object") return null;
  const v: unknown = Reflect.get(value, key);
  return typeof v === "string" ? v : null;
}

/** What a dead letter is about: its event's id, type and entity, when the letter kept the event. */
export function deadSubject(d: DeadEvent): { type: string | null; entityId: string | null } {
  const entity = text(d.event, "entity");
  const kind = text(d.event, "kind");
  return { type: text(d.event, "type") ?? (entity && kind ? `${entity}.${kind}` : null), entityId: text(d.event, "entity_id") };
}

export const EventsModel = createModel(() => {
  const show = computed<EventView>(() => {
    const v = router.query.value.get("show");
    return isView(v) ? v : "dead";
  });
  const lists = {
    dead: pagedList<DeadEvent>("dead letters", (cursor) => api.listDeadEvents(cursor)),
    refused: pagedList<RefusedEvent>("refused requests", (cursor) => api.listRefusedEvents(cursor)),
    stale: pagedList<StaleEvent>("stale events", (cursor) => api.listStaleEvents(cursor)),
  };
  const view = {
    /** The dead letter the replay dialog asks about. */
    confirmReplay: signal<DeadEvent | null>(null),
    busyId: signal<string | null>(null),
    notice: signal<string | null>(null),
    actionError: signal<string | null>(null),
  };

  loadWhileSignedIn(
    () => void lists[show.peek()].load(),
    () => void show.value,
  );

  return {
    show,
    lists,
    view,
    refresh: () => lists[show.peek()].load(),
    loadMore: () => lists[show.peek()].load(true),
    setShow(value: EventView) {
      view.notice.value = null;
      view.actionError.value = null;
      router.setQuery({ show: value === "dead" ? null : value });
    },
    askReplay(d: DeadEvent | null) {
      view.confirmReplay.value = d;
    },
    /** Sends the dead letter's event through the intake again; it leaves the list once queued. */
    async replay(d: DeadEvent) {
      view.confirmReplay.value = null;
      view.busyId.value = d.id;
      view.notice.value = null;
      view.actionError.value = null;
      try {
        const done = await api.replayDeadEvent(d.id);
        view.notice.value = `Replayed ${done.event_id}: it is queued again, and the workflows it matches start their runs.`;
        await lists.dead.load();
      } catch (err) {
        view.actionError.value = `Could not replay ${d.event_id ?? d.id}: ${describeError(err)}`;
      } finally {
        view.busyId.value = null;
      }
    },
  };
});
