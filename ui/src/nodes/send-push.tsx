import { CheckboxField, NumberField, SelectField, TextField } from "../components/common/fields";
import type { ConfigOf } from "../lib/catalog";
import { count } from "../lib/util";
import { plural } from "../lib/plural";
import { TargetField } from "./entity-change";
import { TrackedLinksView } from "./tracked-links";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

type Urgency = NonNullable<ConfigOf<"send_push">["urgency"]>;
const URGENCY_LABELS: Record<Urgency, string> = {
  "very-low": "Very low (delivered when the device is on power and Wi-Fi)",
  low: "Low (delivered when the device is on power or Wi-Fi)",
  normal: "Normal",
  high: "High (may wake the device)",
};
const URGENCIES = Object.keys(URGENCY_LABELS) as Urgency[];
const pushes = (n: number) => plural(n, "push", "pushes");

function PushForm(props: NodeFormProps) {
  const { b } = props;
  return (
    <>
      <TextField b={b} path={["config", "title"]} label="Title" vars placeholder="e.g. Your size is back" />
      <TextField b={b} path={["config", "body"]} label="Text" multiline rows={3} vars placeholder="e.g. {{trigger.related.product.name}}, size {{trigger.related.product_variant.size}}, is in stock again." />
      <div class="grid-2">
        <TextField b={b} path={["config", "url"]} label="Opens (optional)" optional vars mono placeholder="e.g. https://shop.example.com/products/42" />
        <TextField b={b} path={["config", "icon"]} label="Icon (optional)" optional vars mono placeholder="e.g. https://shop.example.com/icon.png" />
      </div>
      <div class="grid-2">
        <NumberField b={b} path={["config", "ttl_seconds"]} label="Keep for an offline browser (seconds)" min={0} max={2_419_200} placeholder="86400 (a day)" />
        <SelectField b={b} path={["config", "urgency"]} label="Urgency" value={(b.get(["config", "urgency"]) as Urgency | undefined) ?? "normal"} options={URGENCIES.map((u) => ({ value: u, label: URGENCY_LABELS[u] }))} />
      </div>
      <CheckboxField
        b={b}
        path={["config", "track_links"]}
        label="Track the link"
        hint="An http(s) link opens through /l/… : a click is counted and moves the trigger's subscription from delivered to engaged."
      />
      <TargetField {...props} kind="customer" />
      <p class="hint">
        Sent to every browser the customer allowed notifications in (its <code>push_subscriptions</code>), encrypted for each one. A browser the push service reports
        gone (404 or 410) is removed from the customer; a busy push service (429, 5xx) is retried, and a retry never notifies a browser twice. A customer without push
        subscriptions fails the step. Title, text and links together are at most about 3,900 bytes.
      </p>
    </>
  );
}

const OutputView = ({ run, step }: NodeRunDetailProps) => {
  const out = step.output;
  if (!out || typeof out !== "object") return null;
  const n = (k: string) => {
    const v = (out as Record<string, unknown>)[k];
    return typeof v === "number" ? v : 0;
  };
  return (
    <>
      <p>
        Pushed to {count(n("sent"), "browser")}; {count(n("removed"), "gone subscription")} removed from the customer; {n("failed")} refused.
      </p>
      {step.input !== null && typeof step.input === "object" && "track_links" in step.input && step.input.track_links === true && (
        <TrackedLinksView runId={run.id} nodeId={step.node_id} />
      )}
    </>
  );
};

export const sendPush: NodeUi<"send_push"> = {
  label: "Send push notification",
  hint: "Notify the customer's browsers (Web Push)",
  idBase: "push",
  outputs: ["sent", "removed", "failed"],
  colour: "#c0392b",
  action: true,
  defaultConfig: () => ({ title: "", body: "" }),
  summary: (c) => `Push${c.customer ? ` to ${c.customer}` : ""}: ${c.title || "(no title)"}`,
  Form: PushForm,
  RunDetail: OutputView,
  counters: [{ key: "pushes_sent", text: (n) => `${pushes(n)} sent`, short: pushes }],
};
