import { useEffect, useMemo } from "preact/hooks";
import { createScheduleTimes, CRON_PRESETS, DEFAULT_SCHEDULE, eachLabel, formatUtc, type Each } from "../../../models/schedule";
import { fieldId, GroupIssues, TextField } from "../common/fields";
import { rootBinder, type Builder } from "./binders";

/**
 * The trigger's schedule (SPEC §15): switched on, the workflow runs at the minutes of a UTC cron
 * expression instead of on events — one run per matching entity, or one per tick — and the
 * next five times are listed as the worker computes them.
 */
export function ScheduleFields({ m }: { m: Builder }) {
  const b = rootBinder(m);
  const trigger = m.data.draft.value.trigger;
  const schedule = trigger.schedule;
  const times = useMemo(createScheduleTimes, []);
  const cron = schedule?.cron ?? "";
  useEffect(() => {
    if (!schedule) return;
    // Asked once the typing pauses; a later answer replaces an earlier one.
    const t = setTimeout(() => void times.load(cron), 300);
    return () => clearTimeout(t);
  }, [cron, schedule !== undefined]);
  const each: Each = schedule?.each ?? "entity";
  const setEach = (next: Each) => {
    m.setRoot(["trigger", "schedule", "each"], next);
    // Tags and conditions filter entities: a schedule that runs once per tick has none.
    if (next === "tick") {
      m.setRoot(["trigger", "tags"], undefined);
      m.setRoot(["trigger", "conditions"], undefined);
    }
  };
  const shown = times.data.cron.value === cron.trim();
  return (
    <fieldset class="group" id={fieldId(b, ["trigger", "schedule"])}>
      <legend>Schedule</legend>
      <label class="check">
        <input type="checkbox" checked={schedule !== undefined} onChange={(e) => m.setRoot(["trigger", "schedule"], e.currentTarget.checked ? { ...DEFAULT_SCHEDULE } : undefined)} />
        Run on a schedule instead of on events
      </label>
      {schedule !== undefined && (
        <>
          <TextField
            b={b}
            path={["trigger", "schedule", "cron"]}
            label="When (cron, UTC)"
            mono
            placeholder="0 6 * * 1"
            hint="Five fields: minute hour day-of-month month day-of-week, in UTC. At most once a minute."
          />
          <div class="checks-inline" role="group" aria-label="Common schedules">
            {CRON_PRESETS.map((p) => (
              <button key={p.cron} type="button" class="btn btn-small" aria-pressed={cron === p.cron} onClick={() => m.setRoot(["trigger", "schedule", "cron"], p.cron)}>
                {p.label}
              </button>
            ))}
          </div>
          <fieldset class="bare">
            <legend>Each time</legend>
            {(["entity", "tick"] as const).map((e) => (
              <label key={e} class="check">
                <input type="radio" name="schedule-each" checked={each === e} onChange={() => setEach(e)} /> {eachLabel(e, trigger.entity)}
              </label>
            ))}
          </fieldset>
          <div aria-live="polite">
            {shown && times.view.problem.value && <p class="hint">{times.view.problem.value}</p>}
            {shown && times.data.times.value.length > 0 && (
              <>
                <p class="hint">Next runs:</p>
                <ol class="schedule-times">
                  {times.data.times.value.map((t) => (
                    <li key={t}>
                      <time dateTime={t}>{formatUtc(t)}</time>
                    </li>
                  ))}
                </ol>
              </>
            )}
          </div>
          <GroupIssues b={b} path={["trigger", "schedule"]} />
        </>
      )}
    </fieldset>
  );
}
