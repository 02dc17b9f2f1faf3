import { EVENT_KINDS, humanize, TRIGGER_ENTITIES } from "../../lib/catalog";
import { fieldId, GroupIssues, NumberField, SelectField, TextField } from "../common/fields";
import { Inspector } from "../common/ui";
import { rootBinder, type Builder } from "./binders";
import { ConditionGroupEditor, TagFilterEditor } from "./parts";
import { ScheduleFields } from "./schedule-fields";

/** The inspector of the trigger: which entity events start a run, and the description. */
export function TriggerPanel({ m }: { m: Builder }) {
  const b = rootBinder(m);
  const trigger = m.data.draft.value.trigger;
  const events = trigger.events ?? ["created", "updated"];
  // Back in stock (SPEC §12) is a subscription trigger of its own: derived from restocks, never combined with other kinds.
  const backInStock = events.includes("back_in_stock");
  const setBackInStock = (on: boolean) => {
    m.setRoot(["trigger", "events"], on ? ["back_in_stock"] : ["created"]);
    m.setRoot(["trigger", "restock"], on ? { min_stock: 1, wave_minutes: 60 } : undefined);
  };
  return (
    <Inspector eyebrow="Trigger" title="When this workflow starts" titleId="inspector-trigger" focusable hint="A run starts for each matching event while the workflow is active.">
      <GroupIssues b={b} path={["trigger"]} />
      <SelectField
        b={b}
        path={["trigger", "entity"]}
        label="Entity"
        options={TRIGGER_ENTITIES.map((e) => ({ value: e, label: humanize(e) }))}
        onSelect={(v) => m.setRoot(["trigger", "entity"], v)}
      />
      <ScheduleFields m={m} />
      <fieldset class="group" id={fieldId(b, ["trigger", "events"])} hidden={trigger.schedule !== undefined}>
        <legend>Event kinds</legend>
        {trigger.entity === "subscription" && (
          <label class="check">
            <input type="checkbox" checked={backInStock} onChange={(e) => setBackInStock(e.currentTarget.checked)} />
            back in stock (the subscription's size is restocked)
          </label>
        )}
        <div class="checks-inline" hidden={backInStock}>
          {EVENT_KINDS.map((k) => (
            <label key={k} class="check">
              <input
                type="checkbox"
                checked={events.includes(k)}
                onChange={(e) => m.setRoot(["trigger", "events"], e.currentTarget.checked ? EVENT_KINDS.filter((x) => x === k || events.includes(x)) : events.filter((x) => x !== k))}
              />
              {k}
            </label>
          ))}
        </div>
        <GroupIssues b={b} path={["trigger", "events"]} />
      </fieldset>
      {backInStock && (
        <fieldset class="group" id={fieldId(b, ["trigger", "restock"])}>
          <legend>Restock waves</legend>
          <p class="hint">When the variant's available stock rises to the minimum, its waiting subscriptions are notified, oldest first.</p>
          <NumberField b={b} path={["trigger", "restock", "min_stock"]} label="Minimum stock" min={1} hint="Available units (in the subscription's shop, or all shops) that start a restock." />
          <NumberField
            b={b}
            path={["trigger", "restock", "per_unit"]}
            label="Subscriptions per unit and wave (optional)"
            min={0}
            step="any"
            integer={false}
            placeholder="Everyone at once"
            hint="E.g. 2: 10 units notify 20 subscriptions, then the stock is counted again before the next wave."
          />
          <NumberField b={b} path={["trigger", "restock", "wave_minutes"]} label="Minutes between waves" min={1} />
          <GroupIssues b={b} path={["trigger", "restock"]} />
        </fieldset>
      )}
      <TagFilterEditor b={b} path={["trigger", "tags"]} label="Tags" hint="Only entities with these tags start a run." />
      <fieldset class="group">
        <legend>Conditions (optional)</legend>
        <p class="hint">Compare the entity's values, e.g. {"{{trigger.data.on_hand}}"} is less than 5.</p>
        <ConditionGroupEditor b={b} path={["trigger", "conditions"]} emptyRemoves />
      </fieldset>
      <TextField b={b} path={["description"]} label="Description (optional)" multiline rows={3} optional />
    </Inspector>
  );
}
