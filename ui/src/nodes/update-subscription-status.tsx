import { SelectField } from "../components/common/fields";
import type { ConfigOf } from "../lib/catalog";
import { EntityChangeView, TargetField, textOf } from "./entity-change";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

type Status = ConfigOf<"update_subscription_status">["status"];
/** In lifecycle order (worker/entities/subscription-lifecycle.ts). */
const STATUSES = ["pending", "delivered", "engaged", "converted", "completed", "cancelled"] as const satisfies readonly Status[];
/** Fails to compile when the worker adds a status this list does not offer. */
const everyStatus: [Exclude<Status, (typeof STATUSES)[number]>] extends [never] ? true : never = true;
void everyStatus;

const LABELS: Record<Status, string> = {
  pending: "Pending (waiting for stock)",
  delivered: "Delivered (notified; stamps notified_at)",
  engaged: "Engaged (clicked)",
  converted: "Converted (bought)",
  completed: "Completed (final)",
  cancelled: "Cancelled (final)",
};

function StatusForm(props: NodeFormProps) {
  const { b } = props;
  return (
    <>
      <SelectField b={b} path={["config", "status"]} label="New status" options={STATUSES.map((s) => ({ value: s, label: LABELS[s] }))} />
      <TargetField {...props} kind="subscription" />
      <p class="hint">
        Legal changes: pending → delivered → engaged → converted → completed, delivered → converted, and any status but completed → cancelled. Any other change
        fails the step; the status it already has changes nothing. The change starts no workflow, and a newer event from the platform replaces it.
      </p>
    </>
  );
}

function StatusChange(props: NodeRunDetailProps) {
  return (
    <EntityChangeView
      {...props}
      describe={(o) => (o.from === o.to ? `Subscription ${textOf(o.subscription_id)} already was ${textOf(o.to)}: nothing changed.` : `Subscription ${textOf(o.subscription_id)}: ${textOf(o.from)} → ${textOf(o.to)}.`)}
    />
  );
}

export const updateSubscriptionStatus: NodeUi<"update_subscription_status"> = {
  label: "Update subscription status",
  hint: "Move a back-in-stock subscription along its lifecycle",
  idBase: "status",
  outputs: ["subscription_id", "from", "to"],
  colour: "#6a4bc4",
  action: true,
  defaultConfig: () => ({ status: "delivered" }),
  summary: (c) => `Subscription ${c.subscription ? `${c.subscription} ` : ""}→ ${c.status ?? "?"}`,
  Form: StatusForm,
  RunDetail: StatusChange,
};
