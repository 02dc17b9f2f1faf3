import { DateSpecEditor } from "../components/builder/parts";
import { CheckboxField, GroupIssues, NumberField, SelectField } from "../components/common/fields";
import { dateText } from "../lib/summary";
import type { NodeFormProps, NodeUi } from "./types";

function WaitForm({ b }: NodeFormProps) {
  const config = b.get(["config"]) as { duration?: unknown; until?: unknown; recheck_trigger?: boolean };
  const mode = config.until !== undefined ? "until" : "duration";
  const recheck = config.recheck_trigger === true ? { recheck_trigger: true } : {};
  return (
    <>
      <SelectField
        b={b}
        path={["config", "mode"]}
        label="Wait"
        value={mode}
        options={[
          { value: "duration", label: "For a while" },
          { value: "until", label: "Until a date" },
        ]}
        onSelect={(v) => b.set(["config"], v === "duration" ? { duration: { hours: 1 }, ...recheck } : { until: { type: "relative", days: 1 }, ...recheck })}
      />
      {mode === "duration" ? (
        <fieldset class="group">
          <legend>Duration</legend>
          <GroupIssues b={b} path={["config", "duration"]} />
          <div class="grid-3">
            <NumberField b={b} path={["config", "duration", "days"]} label="Days" min={0} integer={false} />
            <NumberField b={b} path={["config", "duration", "hours"]} label="Hours" min={0} integer={false} />
            <NumberField b={b} path={["config", "duration", "minutes"]} label="Minutes" min={0} integer={false} />
          </div>
          <p class="hint">At most 365 days. The run sleeps and costs nothing while it waits.</p>
        </fieldset>
      ) : (
        <DateSpecEditor b={b} path={["config", "until"]} label="Wait until (start of the day, UTC)" />
      )}
      <CheckboxField
        b={b}
        path={["config", "recheck_trigger"]}
        label="When the wait ends, check the trigger again"
        hint="The entity is read again; if the trigger’s tags and conditions no longer hold (say the item is back in stock), the run ends here and the steps after are skipped."
      />
    </>
  );
}

export const wait: NodeUi<"wait"> = {
  label: "Wait",
  hint: "Pause the run for a while or until a date",
  idBase: "wait",
  outputs: [],
  colour: "#6b7585",
  action: false,
  defaultConfig: () => ({ duration: { hours: 1 } }),
  summary(config) {
    const c = config as { duration?: { minutes?: number; hours?: number; days?: number }; until?: unknown; recheck_trigger?: boolean };
    const then = c.recheck_trigger ? ", then re-check the trigger" : "";
    if (c.duration) {
      const d = c.duration;
      const bits = [d.days ? `${d.days} d` : "", d.hours ? `${d.hours} h` : "", d.minutes ? `${d.minutes} min` : ""].filter(Boolean);
      return `Wait ${bits.join(" ") || "0"}${then}`;
    }
    return `Wait until ${dateText(c.until)}${then}`;
  },
  Form: WaitForm,
};
