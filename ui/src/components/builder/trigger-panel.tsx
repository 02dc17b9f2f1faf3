import { EVENT_KINDS, humanize, TRIGGER_ENTITIES } from "../../lib/catalog";
import { fieldId, GroupIssues, SelectField, TextField } from "../common/fields";
import { Inspector } from "../common/ui";
import { rootBinder, type Builder } from "./binders";
import { ConditionGroupEditor, TagFilterEditor } from "./parts";

/** The inspector of the trigger: which entity events start a run, and the description. */
export function TriggerPanel({ m }: { m: Builder }) {
  const b = rootBinder(m);
  const trigger = m.data.draft.value.trigger;
  const events = trigger.events ?? ["created", "updated"];
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
      <fieldset class="group" id={fieldId(b, ["trigger", "events"])}>
        <legend>Event kinds</legend>
        <div class="checks-inline">
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
