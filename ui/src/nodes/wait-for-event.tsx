import { ConditionGroupEditor } from "../components/builder/parts";
import { GroupIssues, NumberField, SelectField } from "../components/common/fields";
import { Notice } from "../components/common/ui";
import { EVENT_KINDS, TRIGGER_ENTITIES } from "../lib/catalog";
import { conditionText } from "../lib/summary";
import { formatDateTime, relativeTime } from "../lib/util";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

const EVENT_TYPES = TRIGGER_ENTITIES.flatMap((entity) => EVENT_KINDS.map((kind) => `${entity}.${kind}`));

function WaitForEventForm({ b }: NodeFormProps) {
  const event = (b.get(["config", "event"]) as string | undefined) ?? "";
  return (
    <>
      <SelectField
        b={b}
        path={["config", "event"]}
        label="Wait for"
        value={event}
        options={(EVENT_TYPES.includes(event) || event === "" ? EVENT_TYPES : [event, ...EVENT_TYPES]).map((t) => ({ value: t, label: t }))}
      />
      <fieldset class="group">
        <legend>When the event matches</legend>
        <ConditionGroupEditor b={b} path={["config", "match"]} emptyRemoves />
        <p class="hint">
          Compare the event, <code>{"{{event.data.customer_id}}"}</code>, with the run, <code>{"{{trigger.entity_id}}"}</code>. Without conditions any {event || "event"} counts.
          An event counts from the second the wait begins.
        </p>
      </fieldset>
      <fieldset class="group">
        <legend>Give up after</legend>
        <GroupIssues b={b} path={["config", "timeout"]} />
        <div class="grid-3">
          <NumberField b={b} path={["config", "timeout", "days"]} label="Days" min={0} integer={false} />
          <NumberField b={b} path={["config", "timeout", "hours"]} label="Hours" min={0} integer={false} />
          <NumberField b={b} path={["config", "timeout", "minutes"]} label="Minutes" min={0} integer={false} />
        </div>
        <p class="hint">The run waits, costing nothing, until a matching event arrives (“If it arrives”) or this time is up (“If not in time”).</p>
      </fieldset>
    </>
  );
}

interface WaitForEventOutput {
  waiting?: boolean;
  event?: string | { id: string; type: string; entity_id: string; occurred_at: string } | null;
  until?: string;
  received_at?: string;
  timed_out_at?: string;
}

/** The run view: what the step waits for and until when, the event that ended it, or that none came in time. */
function WaitForEventRunView({ step }: NodeRunDetailProps) {
  const out = (step.output ?? {}) as WaitForEventOutput;
  if (out.waiting && typeof out.event === "string") {
    return (
      <Notice kind="info">
        Waiting for {out.event} until {formatDateTime(out.until)} ({relativeTime(out.until)}).
      </Notice>
    );
  }
  if (out.event && typeof out.event === "object") {
    return (
      <p class="wait-event-verdict">
        Got <strong>{out.event.type}</strong> {out.event.id} (about {out.event.entity_id}, occurred {formatDateTime(out.event.occurred_at)}) on {formatDateTime(out.received_at)}.
      </p>
    );
  }
  if (out.timed_out_at) return <p class="wait-event-verdict">No matching event by {formatDateTime(out.timed_out_at)}.</p>;
  return null;
}

export const waitForEvent: NodeUi<"wait_for_event"> = {
  label: "Wait for an event",
  hint: "Wait until an event arrives (an order…), or give up after a while",
  idBase: "wait_event",
  outputs: ["event.id", "event.entity_id", "event.occurred_at", "event.data", "received_at", "timed_out_at"],
  colour: "#0e7490",
  action: false,
  branches: true,
  branchLabels: { then: "If it arrives", else: "If not in time" },
  defaultConfig: () => ({
    event: "order.created",
    match: { all: [{ left: "{{event.data.customer_id}}", op: "eq", right: "{{trigger.entity_id}}" }] },
    timeout: { days: 7 },
  }),
  summary(c) {
    const t = c.timeout ?? {};
    const within = [t.days ? `${t.days} d` : "", t.hours ? `${t.hours} h` : "", t.minutes ? `${t.minutes} min` : ""].filter(Boolean).join(" ") || "0";
    const conditions = [...(c.match?.all ?? []).map(conditionText), ...(c.match?.any?.length ? [`any of (${c.match.any.map(conditionText).join("; ")})`] : [])];
    return `Wait up to ${within} for ${c.event || "an event"}${conditions.length ? ` where ${conditions.join(" and ")}` : ""}`;
  },
  Form: WaitForEventForm,
  RunDetail: WaitForEventRunView,
};
