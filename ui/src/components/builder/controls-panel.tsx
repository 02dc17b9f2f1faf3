/** The inspector of flow control (SPEC §14): the controls as sentences with numbers to fill, and what they did. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { capRows, capText, CAP_KINDS, CAP_LABELS, describeControls, keyIssue, keyNoun, statsTotals, throttleIssue, type ControlsInput } from "../../../models/controls";
import { ENTITY_FIELDS } from "../../lib/catalog";
import { type PathKey } from "../../lib/util";
import { FieldShell, fieldId, GroupIssues, IssueList, NumberField, SelectField, type Binder } from "../common/fields";
import { ErrorNote, Inspector, Loading } from "../common/ui";
import { insertAt, VariablePicker } from "../common/variable-picker";
import { rootBinder, triggerVars, type Builder } from "./binders";

const C = "controls";
/** Trigger fields that hold lists or objects: no use as a key. */
const NOT_KEYS = new Set(["tags", "lines", "push_subscriptions"]);
const CUSTOM = "custom";

/** A number inside a sentence ("At most [5] runs at a time"): its label is hidden, the sentence is the text around it. */
function Amount({ b, path, name, min, max }: { b: Binder; path: readonly PathKey[]; name: string; min: number; max: number }) {
  const raw = b.get(path);
  const [text, setText] = useState(raw === undefined || raw === null ? "" : String(raw));
  // Follow outside changes (an import, a restored version) without fighting the user's typing.
  useEffect(() => {
    const shown = text.trim() === "" ? undefined : Number(text);
    if (shown !== raw && !(shown === undefined && (raw === undefined || raw === null))) setText(raw === undefined || raw === null ? "" : String(raw));
  }, [raw]);
  const id = fieldId(b, path);
  const issues = b.issues(path).length > 0;
  return (
    <>
      <label for={id} class="visually-hidden">
        {name}
      </label>
      <input
        id={id}
        class="amount"
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        step={1}
        value={text}
        placeholder="off"
        aria-invalid={issues}
        aria-describedby={issues ? `${id}-issues` : undefined}
        onInput={(e) => {
          const t = e.currentTarget.value;
          setText(t);
          if (t.trim() === "") b.set(path, undefined);
          else if (Number.isFinite(Number(t))) b.set(path, Number(t));
        }}
      />
    </>
  );
}

/** One control as a sentence, its hint, and the issues of each of its paths (each list has the id its field points to). */
function Sentence({ b, paths, hint, local, children }: { b: Binder; paths: readonly (readonly PathKey[])[]; hint: string; local?: string | undefined; children: ComponentChildren }) {
  // A problem found here, in the form's words, stands in for the check's at the same place.
  const issues = paths.map((p, n) => (local && n === 0 ? [local] : local ? [] : b.issues(p, true)));
  return (
    <div class={`field sentence ${issues.some((i) => i.length > 0) ? "has-issue" : ""}`}>
      <p class="sentence-text">{children}</p>
      <p class="hint">{hint}</p>
      {paths.map((p, n) => (
        <IssueList key={n} issues={issues[n] ?? []} id={`${fieldId(b, p)}-issues`} />
      ))}
    </div>
  );
}

/**
 * The key: one of the trigger's fields from a list, or any template of the trigger's data
 * ("Something else"), with the variable picker limited to the trigger's data.
 */
function KeyField({ m, b }: { m: Builder; b: Binder }) {
  const trigger = m.data.draft.value.trigger;
  const key = (b.get([C, "key"]) as string | undefined) ?? "";
  const fields = ["id", ...ENTITY_FIELDS[trigger.entity]].filter((f) => !NOT_KEYS.has(f));
  const preset = fields.find((f) => key === `{{trigger.data.${f}}}`);
  const [custom, setCustom] = useState(false);
  // A key no preset matches (typed, imported, or of another trigger entity) shows as typed.
  const mode = custom || (key !== "" && preset === undefined) ? CUSTOM : (preset ?? "");
  const ref = useRef<HTMLInputElement>(null);
  const setKey = (v: string) => b.set([C, "key"], v === "" ? undefined : v);
  // Shown at once while typing; once the check has run, its own issue at the same place is shown instead.
  const local = key !== "" && b.issues([C, "key"]).length === 0 ? (keyIssue(key) ?? null) : null;
  const dataVars = triggerVars(trigger, true).slice(0, 1);
  return (
    <fieldset class="group key-group">
      <legend>Count separately for each…</legend>
      <SelectField
        b={{ ...b, issues: () => [], warnings: () => [] }}
        path={[C, "key-choice"]}
        label="Key"
        value={mode}
        hint={mode === "" ? "One count for the whole workflow: the limits below apply to all its runs together." : undefined}
        options={[
          { value: "", label: "Nothing (one count for all)" },
          ...fields.map((f) => ({ value: f, label: `${f.replace(/_id$/, "").replaceAll("_", " ")} (${f})` })),
          { value: CUSTOM, label: "Something else…" },
        ]}
        onSelect={(v) => {
          setCustom(v === CUSTOM);
          if (v !== CUSTOM) setKey(v === "" ? "" : `{{trigger.data.${v}}}`);
        }}
      />
      {mode === CUSTOM ? (
        <FieldShell
          b={b}
          path={[C, "key"]}
          label="Key template"
          local={local}
          hint="E.g. {{trigger.data.shop_id}}-{{trigger.data.variant_id}}: a separate count for each shop and size."
          extra={
            <VariablePicker
              groups={dataVars}
              label="Key template"
              onPick={(token) => setKey(insertAt(ref.current, key, token).value)}
            />
          }
        >
          {(a) => <input {...a} ref={ref} class="mono" value={key} placeholder="e.g. {{trigger.data.shop_id}}" onInput={(e) => setKey(e.currentTarget.value)} />}
        </FieldShell>
      ) : (
        <>
          {key !== "" && <p class="hint">Each {keyNoun(key)} has its own count: a busy one does not hold up the others.</p>}
          <IssueList issues={b.issues([C, "key"])} id={`${fieldId(b, [C, "key"])}-issues`} />
        </>
      )}
    </fieldset>
  );
}

function Stats({ m }: { m: Builder }) {
  const wf = m.data.workflow.value;
  const s = m.flowStats;
  const stats = s.data.stats.value;
  useEffect(() => {
    if (wf) void s.load();
  }, [wf?.id, wf?.version]);
  if (!wf) return <p class="hint">Save the workflow to see what flow control does: runs started, held back and ignored per day.</p>;
  const caps = stats ? capRows(stats.caps) : [];
  const totals = stats ? statsTotals(stats.days) : null;
  return (
    <section class="flow-stats" aria-labelledby="flow-stats-title">
      <div class="flow-stats-head">
        <h3 id="flow-stats-title">What it did, last 14 days</h3>
        <button type="button" class="btn btn-small" disabled={s.view.loading.value} onClick={() => void s.load()}>
          Refresh
        </button>
      </div>
      <ErrorNote error={s.view.error.value} onRetry={() => void s.load()} />
      {!stats && s.view.loading.value && <Loading label="Loading…" />}
      {stats && (
        <>
          <h4>Daily safety caps today ({stats.caps.day}, UTC)</h4>
          {caps.length === 0 ? (
            <p class="hint">No caps set, and nothing counted today.</p>
          ) : (
            <ul class="cap-usage">
              {caps.map((r) => (
                <li key={r.kind} class={r.full ? "full" : ""} data-cap={r.kind}>
                  <span class="cap-name">{r.label}</span>
                  <span class="cap-value">{capText(r)}</span>
                  {r.share !== null && (
                    <span class="cap-bar" aria-hidden="true">
                      <span style={{ width: `${Math.round(r.share * 100)}%` }} />
                    </span>
                  )}
                  {r.full && <span class="cap-note">used up: the next one pauses the workflow</span>}
                </li>
              ))}
            </ul>
          )}
          <h4>Runs per day</h4>
          {stats.days.length === 0 ? (
            <p class="hint">No runs, held back or ignored events in the last 14 days.</p>
          ) : (
            <div class="table-scroll">
              <table class="table compact flow-days">
                <caption class="visually-hidden">Runs started, events ignored, runs delayed and runs waiting, per day</caption>
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    <th scope="col" class="num" title="Runs that began executing">
                      Started
                    </th>
                    <th scope="col" class="num" title="Events that started no run: in a cooldown, or replaced by a later event while debouncing">
                      Ignored
                    </th>
                    <th scope="col" class="num" title="Runs the throttle moved to a later period">
                      Delayed
                    </th>
                    <th scope="col" class="num" title="Runs waiting at the day's last count">
                      Waiting
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {stats.days.map((d) => (
                    <tr key={d.day}>
                      <th scope="row">{d.day}</th>
                      <td class="num">{d.started}</td>
                      <td class="num">{d.suppressed}</td>
                      <td class="num">{d.delayed}</td>
                      <td class="num">{d.waiting}</td>
                    </tr>
                  ))}
                </tbody>
                {totals && stats.days.length > 1 && (
                  <tfoot>
                    <tr>
                      <th scope="row">Total</th>
                      <td class="num">{totals.started}</td>
                      <td class="num">{totals.suppressed}</td>
                      <td class="num">{totals.delayed}</td>
                      <td class="num" />
                    </tr>
                  </tfoot>
                )}
              </table>
            </div>
          )}
          <p class="hint">Ignored: events in a cooldown, or replaced by a later one while waiting for quiet. Delayed: runs the limit per period moved on.</p>
        </>
      )}
    </section>
  );
}

export function ControlsPanel({ m }: { m: Builder }) {
  const b = rootBinder(m);
  const controls = m.data.draft.value.controls as ControlsInput | undefined;
  const per = controls?.key ? ` per ${keyNoun(controls.key)}` : "";
  const phrases = describeControls(controls);
  return (
    <Inspector
      eyebrow="Flow control"
      title="How many runs, how often"
      titleId="inspector-controls"
      focusable
      hint="Limits that keep a burst of events from flooding shops, customers and partners. Leave a number empty to switch that limit off."
    >
      <GroupIssues b={b} path={[C]} />
      <div class="controls-words">
        <p class="eyebrow">In plain words</p>
        {phrases.length === 0 ? (
          <p>No limits: every matching event starts a run right away.</p>
        ) : (
          <ul>
            {phrases.map((p) => (
              <li key={p}>{p.charAt(0).toUpperCase() + p.slice(1)}</li>
            ))}
          </ul>
        )}
      </div>
      <KeyField m={m} b={b} />
      <fieldset class="group">
        <legend>Limits{per}</legend>
        <Sentence b={b} paths={[[C, "concurrency"]]} hint="The others wait their turn, first in, first out.">
          At most <Amount b={b} path={[C, "concurrency"]} name="Runs at a time" min={1} max={1000} /> runs at a time{per}
        </Sentence>
        <Sentence
          b={b}
          paths={[[C, "throttle"], [C, "throttle", "limit"], [C, "throttle", "period_minutes"]]}
          local={throttleIssue(controls)}
          hint="Runs past the limit start in a later period; none is dropped."
        >
          At most <Amount b={b} path={[C, "throttle", "limit"]} name="Starts per period" min={1} max={100000} /> starts every{" "}
          <Amount b={b} path={[C, "throttle", "period_minutes"]} name="Period in minutes" min={1} max={10080} /> minutes{per}
        </Sentence>
        <Sentence b={b} paths={[[C, "debounce_minutes"]]} hint="A burst of events becomes one run. Each new event starts the wait again.">
          Wait for <Amount b={b} path={[C, "debounce_minutes"]} name="Quiet minutes before a run" min={1} max={1440} /> minutes of quiet, then run once with the latest event
        </Sentence>
        <Sentence b={b} paths={[[C, "cooldown_minutes"]]} hint="Ignored events are counted (see below), never silently lost. 1440 minutes is a day.">
          After a run starts, ignore new events for <Amount b={b} path={[C, "cooldown_minutes"]} name="Cooldown minutes after a run starts" min={1} max={43200} /> minutes
        </Sentence>
      </fieldset>
      <fieldset class="group">
        <legend>Daily safety caps (whole workflow)</legend>
        <p class="hint">Past a cap the action fails, the workflow pauses itself and the team gets an email. Counted per UTC day; you decide when it resumes.</p>
        <GroupIssues b={b} path={[C, "caps"]} />
        <div class="caps-grid">
          {CAP_KINDS.map((k) => (
            <NumberField key={k} b={b} path={[C, "caps", "per_day", k]} label={`${CAP_LABELS[k]} per day`} min={0} placeholder="No cap" />
          ))}
        </div>
      </fieldset>
      <Stats m={m} />
    </Inspector>
  );
}
