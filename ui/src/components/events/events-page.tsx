import { useModel } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { deadSubject, EVENT_VIEWS, EventsModel } from "../../../models/events";
import type { DeadEvent, RefusedEvent, StaleEvent } from "../../api";
import { plural } from "../../lib/plural";
import { formatDateTime, relativeTime } from "../../lib/util";
import { ConfirmDialog, ErrorNote, JsonBlock, Link, Loading, Notice, PageHeader, Time } from "../common/ui";

type Events = InstanceType<typeof EventsModel>;

/** When, in words, with the exact time on hover and in the text for screen readers. */
const When = ({ iso }: { iso: string }) => <Time iso={iso} relative={`${relativeTime(iso)} (${formatDateTime(iso)})`} />;

const INTRO = {
  dead: "Events the queue consumer gave up on, after its retries or at once when they could never be processed. Fix what the reason names, then replay: the event goes through the intake again.",
  refused: "Requests to POST /api/events the intake refused: a wrong signature, events that are not valid, or a full backlog. The sender got the same answer and nothing was recorded, so there is nothing to replay: the sender sends them again once the cause is fixed. The last 500 are kept.",
  stale: "Events that arrived after a newer one for the same entity: the mirror kept the newer snapshot, and the workflows they matched started no run (unless their trigger opts in to stale events).",
} as const;

const EMPTY = {
  dead: "No dead letters: every event the intake accepted was processed.",
  refused: "No refused requests: every request to POST /api/events was accepted.",
  stale: "No stale events: every event arrived in order.",
} as const;

function DeadCard({ m, d }: { m: Events; d: DeadEvent }) {
  const { type, entityId } = deadSubject(d);
  const titleId = `dead-${d.id.replace(/[^\w-]/g, "_")}`;
  return (
    <li class="event-card" data-kind="dead" data-event-id={d.event_id ?? ""} aria-labelledby={titleId}>
      <div class="event-head">
        <h2 id={titleId}>
          {type ?? "Event not kept"} {entityId && <span class="mono">{entityId}</span>}
        </h2>
        <span class="badge tone-bad">dead after {plural(d.attempts, "attempt")}</span>
      </div>
      <p class="event-reason">{d.error}</p>
      <p class="hint">
        Event <span class="mono">{d.event_id ?? "without an id"}</span> · given up <When iso={d.dead_at} />
      </p>
      {d.event === null ? (
        <p class="hint">Too large or too deep to keep, or not an event at all: it cannot be replayed. The platform can send it again.</p>
      ) : (
        <details class="event-data">
          <summary>The event</summary>
          <JsonBlock value={d.event} label={`The dead event ${d.event_id ?? d.id}`} />
        </details>
      )}
      {d.event !== null && (
        <div class="row-actions">
          <button type="button" class="btn btn-primary btn-small" disabled={m.view.busyId.value !== null} onClick={() => m.askReplay(d)} aria-label={`Replay ${d.event_id ?? d.id}`}>
            {m.view.busyId.value === d.id ? "Replaying…" : "Replay"}
          </button>
        </div>
      )}
    </li>
  );
}

function RefusedCard({ r }: { r: RefusedEvent }) {
  const titleId = `refused-${r.id}`;
  return (
    <li class="event-card" data-kind="refused" aria-labelledby={titleId}>
      <div class="event-head">
        <h2 id={titleId}>
          {r.status} {r.code.replaceAll("_", " ")}
        </h2>
        <span class={`badge ${r.signed ? "tone-warn" : "tone-muted"}`}>{r.signed ? "signed" : "not signed"}</span>
      </div>
      <p class="event-reason">{r.reason}</p>
      {r.issues.length > 0 && (
        <ul class="event-issues">
          {r.issues.map((i, n) => (
            <li key={n}>
              {i.path && <span class="mono">{i.path}</span>} {i.message}
            </li>
          ))}
        </ul>
      )}
      {r.events.length > 0 && (
        <p class="hint">
          {plural(r.event_count ?? r.events.length, "event")}:{" "}
          {r.events.map((e, n) => (
            <span key={n} class="event-named">
              <span class="mono">{e.id ?? "no id"}</span> {e.type ?? "no type"} <span class="mono">{e.entity_id ?? ""}</span>
            </span>
          ))}
          {r.event_count !== null && r.event_count > r.events.length && ` … and ${r.event_count - r.events.length} more`}
        </p>
      )}
      <p class="hint">
        Refused <When iso={r.refused_at} /> · {plural(r.body_bytes, "byte")}
        {r.webhook_id && (
          <>
            {" "}
            · webhook-id <span class="mono">{r.webhook_id}</span>
          </>
        )}
        {!r.signed && " · not signed with EVENTS_SECRET, so nothing it sent is kept"}
      </p>
      {r.excerpt !== null && (
        <details class="event-data">
          <summary>The start of the body</summary>
          <pre class="json" tabIndex={0} aria-label="The start of the refused body">
            {r.excerpt}
          </pre>
        </details>
      )}
    </li>
  );
}

function StaleCard({ s }: { s: StaleEvent }) {
  const titleId = `stale-${s.event_id.replace(/[^\w-]/g, "_")}`;
  return (
    <li class="event-card" data-kind="stale" data-event-id={s.event_id} aria-labelledby={titleId}>
      <div class="event-head">
        <h2 id={titleId}>
          {s.type} <span class="mono">{s.entity_id}</span>
        </h2>
        <span class="badge tone-muted">stale</span>
      </div>
      <p class="event-reason">
        It occurred at {formatDateTime(s.occurred_at)}, before <span class="mono">{s.held_event_id}</span> ({formatDateTime(s.held_occurred_at)}), whose snapshot the mirror
        holds. {s.skipped_count === 0 ? "It matched no workflow." : `${plural(s.skipped_count, "workflow")} it matched started no run:`}
      </p>
      {s.skipped_workflows.length > 0 && (
        <ul class="event-issues">
          {s.skipped_workflows.map((id) => (
            <li key={id}>
              <Link href={`/workflows/${encodeURIComponent(id)}`} class="mono">
                {id}
              </Link>
            </li>
          ))}
          {s.skipped_count > s.skipped_workflows.length && <li>… and {s.skipped_count - s.skipped_workflows.length} more</li>}
        </ul>
      )}
      <p class="hint">
        Event <span class="mono">{s.event_id}</span> · recorded <When iso={s.recorded_at} />
      </p>
    </li>
  );
}

export function EventsPage() {
  const m = useModel(EventsModel);
  const show = m.show.value;
  const list = m.lists[show];
  const { items, loaded, nextCursor } = list.data;
  const label = EVENT_VIEWS.find((v) => v.value === show)!.label;
  useEffect(() => {
    document.title = `Events · ${label}`;
  }, [label]);
  const confirm = m.view.confirmReplay.value;
  return (
    <main class="page" id="main">
      <PageHeader title="Events">
        <button type="button" class="btn" onClick={() => void m.refresh()} disabled={list.loading.value}>
          Refresh
        </button>
      </PageHeader>
      <div class="filters">
        <div class="segmented" role="group" aria-label="Show">
          {EVENT_VIEWS.map((v) => (
            <button key={v.value} type="button" class={`btn btn-small ${show === v.value ? "btn-on" : ""}`} aria-pressed={show === v.value} onClick={() => m.setShow(v.value)}>
              {v.label}
            </button>
          ))}
        </div>
      </div>
      <p class="hint events-intro">{INTRO[show]}</p>
      {m.view.notice.value && (
        <Notice>
          {m.view.notice.value} <Link href="/runs">See the runs</Link>
        </Notice>
      )}
      <ErrorNote error={m.view.actionError.value} />
      <ErrorNote error={list.error.value} onRetry={() => void m.refresh()} />
      {!loaded.value && list.loading.value && <Loading label={`Loading ${label.toLowerCase()}…`} />}
      {loaded.value && items.value.length === 0 && !list.error.value && <p class="empty">{EMPTY[show]}</p>}
      {items.value.length > 0 && (
        <ul class="event-list" aria-label={label}>
          {show === "dead" && m.lists.dead.data.items.value.map((d) => <DeadCard key={d.id} m={m} d={d} />)}
          {show === "refused" && m.lists.refused.data.items.value.map((r) => <RefusedCard key={r.id} r={r} />)}
          {show === "stale" && m.lists.stale.data.items.value.map((s) => <StaleCard key={s.event_id} s={s} />)}
        </ul>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" disabled={list.loading.value} onClick={() => void m.loadMore()}>
          Load more
        </button>
      )}
      <ConfirmDialog
        open={confirm !== null}
        title="Replay this event?"
        text={
          <p>
            <span class="mono">{confirm?.event_id ?? confirm?.id}</span> goes through the intake again, as if the platform sent it now: the mirror takes its snapshot (unless a newer one is held) and the
            workflows it matches start their runs — each at most once for this event.
          </p>
        }
        action="Replay"
        cancel="Cancel"
        danger={false}
        onConfirm={() => confirm && void m.replay(confirm)}
        onClose={() => m.askReplay(null)}
      />
    </main>
  );
}
