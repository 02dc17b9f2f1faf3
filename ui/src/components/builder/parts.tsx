/** Editors shared by several forms: DateSpec, shop scope, tag filter, condition groups, node settings. */
import { useEffect, useRef, useState } from "preact/hooks";
import { CONDITION_OPS, LIST_OPS, OP_LABELS, UNARY_OPS } from "../../lib/catalog";
import { formatOperand, parseOperand, type PathKey } from "../../lib/util";
import { ChipsField } from "../common/collection-fields";
import { CheckboxField, FieldShell, GroupIssues, NumberField, RadioField, SelectField, TextField, fieldId, type Binder } from "../common/fields";
import { insertAt, VariablePicker } from "../common/variable-picker";

const RETRY_DEFAULTS = { max_attempts: 3, backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 300000, jitter: true };

type DateType = "absolute" | "relative" | "interpolated";

/** A DateSpec: a calendar date, days after the run, or a date read from a value (± days). */
export function DateSpecEditor({ b, path, label, optional, hint }: { b: Binder; path: readonly PathKey[]; label: string; optional?: boolean; hint?: string }) {
  const spec = b.get(path) as { type?: DateType; date?: string } | undefined;
  const type = spec?.type ?? "";
  const options = [
    ...(optional ? [{ value: "" as const, label: "No date" }] : []),
    { value: "relative" as const, label: "Days after the run starts" },
    { value: "absolute" as const, label: "On a calendar date" },
    { value: "interpolated" as const, label: "From a value in the run (± days)" },
  ];
  const switchTo = (t: DateType | "") => {
    if (t === "") b.set(path, undefined);
    else if (t === "absolute") b.set(path, { type: t, date: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10) });
    else if (t === "relative") b.set(path, { type: t, days: 7 });
    else b.set(path, { type: t, value: "", offset_days: 0 });
  };
  return (
    <fieldset class="group">
      <legend>{label}</legend>
      {hint && <p class="hint">{hint}</p>}
      <GroupIssues b={b} path={path} />
      <SelectField b={b} path={[...path, "type"]} label="How the date is set" value={type} options={options} onSelect={switchTo} />
      {type === "absolute" && (
        <FieldShell b={b} path={[...path, "date"]} label="Date (UTC)">
          {(a) => <input {...a} type="date" value={spec?.date ?? ""} onInput={(e) => b.set([...path, "date"], e.currentTarget.value)} />}
        </FieldShell>
      )}
      {type === "relative" && <NumberField b={b} path={[...path, "days"]} label="Days after the run starts" min={-3650} max={3650} hint="0 is the day the run starts; negative counts back." />}
      {type === "interpolated" && (
        <>
          <TextField b={b} path={[...path, "value"]} label="Date value" vars placeholder="e.g. {{steps.plan.output.deadline}}" hint="A template that gives a date (YYYY-MM-DD) or a timestamp." />
          <NumberField b={b} path={[...path, "offset_days"]} label="Then add days" min={-3650} max={3650} hint="Negative moves it earlier, e.g. -3 for three days before." />
        </>
      )}
    </fieldset>
  );
}

export function ShopScopeEditor({ b, path, label }: { b: Binder; path: readonly PathKey[]; label: string }) {
  const scope = b.get(path) as { mode?: string; ids?: string[] } | undefined;
  const mode = scope?.mode ?? "all";
  return (
    <fieldset class="group">
      <legend>{label}</legend>
      <GroupIssues b={b} path={path} />
      <SelectField
        b={b}
        path={[...path, "mode"]}
        label="Shops"
        value={mode}
        options={[
          { value: "all", label: "All shops" },
          { value: "specific", label: "Specific shops" },
          { value: "from_trigger", label: "The trigger's shop" },
        ]}
        onSelect={(v) => b.set(path, { mode: v, ids: v === "specific" ? (scope?.ids ?? []) : [] })}
      />
      {mode === "specific" && <ChipsField b={b} path={[...path, "ids"]} label="Shop ids" placeholder="e.g. shop_1" />}
    </fieldset>
  );
}

export function TagFilterEditor({ b, path, label, hint }: { b: Binder; path: readonly PathKey[]; label: string; hint?: string }) {
  return (
    <fieldset class="group">
      <legend>{label}</legend>
      {hint && <p class="hint">{hint}</p>}
      <GroupIssues b={b} path={path} />
      <ChipsField b={b} path={[...path, "include"]} label="Has tags" hint="Leave empty to accept any tags. Press Enter or comma to add." placeholder="e.g. sneakers" />
      <RadioField
        b={b}
        path={[...path, "match"]}
        label="Match"
        fallback="any"
        options={[
          { value: "any", label: "Any of these tags" },
          { value: "all", label: "All of these tags" },
        ]}
      />
      <ChipsField b={b} path={[...path, "exclude"]} label="Does not have tags" hint="An entity with any of these is left out." placeholder="e.g. discontinued" />
    </fieldset>
  );
}

/** A condition operand typed as text: numbers, true/false and lists keep their type. */
function OperandInput({ b, path, label, asList }: { b: Binder; path: readonly PathKey[]; label: string; asList: boolean }) {
  const value = b.get(path);
  const [text, setText] = useState(formatOperand(value));
  useEffect(() => {
    const parsed = parseOperand(text, asList);
    if (JSON.stringify(parsed) !== JSON.stringify(value)) setText(formatOperand(value));
  }, [value, asList]);
  const ref = useRef<HTMLInputElement>(null);
  const apply = (t: string) => {
    setText(t);
    b.set(path, parseOperand(t, asList));
  };
  return (
    <FieldShell
      b={b}
      path={path}
      label={label}
      hint={asList ? "Separate values with commas." : undefined}
      extra={
        b.vars.length > 0 ? (
          <VariablePicker
            groups={b.vars}
            label={label}
            onPick={(token) => apply(insertAt(ref.current, text, token).value)}
          />
        ) : null
      }
    >
      {(a) => (
        <input
          {...a}
          ref={ref}
          value={text}
          onInput={(e) => apply(e.currentTarget.value)}
        />
      )}
    </FieldShell>
  );
}

/** `{all: [...], any: [...]}`: conditions that must all hold, and alternatives of which one must. */
export function ConditionGroupEditor({ b, path, emptyRemoves }: { b: Binder; path: readonly PathKey[]; emptyRemoves?: boolean }) {
  const group = (b.get(path) ?? {}) as { all?: { left?: unknown; op: string; right?: unknown }[]; any?: { left?: unknown; op: string; right?: unknown }[] };
  const write = (key: "all" | "any", list: { left?: unknown; op: string; right?: unknown }[]) => {
    const next = { ...group, [key]: list };
    if (list.length === 0) delete next[key];
    const empty = !next.all?.length && !next.any?.length;
    b.set(path, empty && emptyRemoves ? undefined : next);
  };
  const section = (key: "all" | "any", title: string, addLabel: string) => {
    const list = group[key] ?? [];
    return (
      <div class="cond-section">
        {list.length > 0 && <p class="cond-title">{title}</p>}
        <GroupIssues b={b} path={[...path, key]} />
        {list.map((c, i) => {
          const at = [...path, key, i];
          const unary = UNARY_OPS.includes(c.op as never);
          return (
            <div class="cond-row" key={i} role="group" aria-label={`${key === "all" ? "Condition" : "Alternative"} ${i + 1}`}>
              <OperandInput b={b} path={[...at, "left"]} label={`Value ${i + 1}`} asList={false} />
              <SelectField
                b={b}
                path={[...at, "op"]}
                label="Test"
                options={CONDITION_OPS.map((op) => ({ value: op, label: OP_LABELS[op] }))}
                onSelect={(op) => {
                  const nextCond: { left?: unknown; op: string; right?: unknown } = { ...c, op };
                  if (UNARY_OPS.includes(op)) delete nextCond.right;
                  else if (LIST_OPS.includes(op) && !Array.isArray(c.right)) nextCond.right = c.right === undefined || c.right === "" ? [] : [c.right];
                  else if (!LIST_OPS.includes(op) && Array.isArray(c.right)) nextCond.right = c.right[0] ?? "";
                  else if (nextCond.right === undefined) nextCond.right = "";
                  write(key, list.map((x, j) => (j === i ? nextCond : x)));
                }}
              />
              {!unary && <OperandInput b={b} path={[...at, "right"]} label={`Compare with ${i + 1}`} asList={LIST_OPS.includes(c.op as never)} />}
              <button type="button" class="btn btn-icon cond-x" aria-label={`Remove ${key === "all" ? "condition" : "alternative"} ${i + 1}`} onClick={() => write(key, list.filter((_, j) => j !== i))}>
                ×
              </button>
            </div>
          );
        })}
        <button type="button" class="btn btn-small" id={fieldId(b, [...path, key, "add"])} onClick={() => write(key, [...list, { left: "", op: "eq", right: "" }])}>
          {addLabel}
        </button>
      </div>
    );
  };
  return (
    <div class="cond-group">
      <GroupIssues b={b} path={path} />
      {section("all", "All of these must be true", "+ Condition (must be true)")}
      {section("any", group.all?.length ? "And at least one of these" : "At least one of these must be true", "+ Alternative (one of them is enough)")}
    </div>
  );
}

/** Retry, timeout and on-error settings of an action node. */
export function NodeSettings({ b, action }: { b: Binder; action: boolean }) {
  const retry = b.get(["retry"]) as Record<string, unknown> | undefined;
  const hasAny = retry !== undefined || b.get(["timeout_ms"]) !== undefined || b.get(["on_error"]) === "continue";
  if (!action && !hasAny) return null;
  return (
    <fieldset class="group">
      <legend>When this step fails</legend>
      <SelectField
        b={b}
        path={["on_error"]}
        label="If it still fails after retries"
        value={(b.get(["on_error"]) as string | undefined) ?? "fail"}
        options={[
          { value: "fail", label: "Stop the run (the run fails)" },
          { value: "continue", label: "Mark the step failed and go on" },
        ]}
      />
      <NumberField b={b} path={["timeout_ms"]} label="Time limit per attempt (ms)" min={100} max={900000} placeholder="No limit set" hint="Leave empty for the default." />
      <div class="field field-check">
        <input
          id={fieldId(b, ["retry"])}
          type="checkbox"
          checked={retry !== undefined}
          aria-describedby={retry ? undefined : `${fieldId(b, ["retry"])}-hint`}
          onChange={(e) => b.set(["retry"], e.currentTarget.checked ? { ...RETRY_DEFAULTS } : undefined)}
        />
        <label for={fieldId(b, ["retry"])}>Custom retry policy</label>
        {!retry && (
          <p class="hint" id={`${fieldId(b, ["retry"])}-hint`}>
            Default: 3 attempts, exponential back-off from 1 s up to 5 min, with jitter.
          </p>
        )}
        <GroupIssues b={b} path={["retry"]} />
      </div>
      {retry && (
        <div class="grid-2">
          <NumberField b={b} path={["retry", "max_attempts"]} label="Attempts (including the first)" min={1} max={25} />
          <SelectField
            b={b}
            path={["retry", "backoff"]}
            label="Back-off"
            value={(retry.backoff as string | undefined) ?? "exponential"}
            options={[
              { value: "exponential", label: "Exponential (doubles each time)" },
              { value: "fixed", label: "Fixed delay" },
            ]}
          />
          <NumberField b={b} path={["retry", "initial_delay_ms"]} label="First delay (ms)" min={0} />
          <NumberField b={b} path={["retry", "max_delay_ms"]} label="Longest delay (ms)" min={0} />
          <CheckboxField b={b} path={["retry", "jitter"]} label="Add jitter (spread retries randomly)" />
        </div>
      )}
    </fieldset>
  );
}
