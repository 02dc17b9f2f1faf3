/** Fields that edit a list or a record: chips for short strings, name/value rows. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { plural } from "../../lib/plural";
import type { PathKey } from "../../lib/util";
import { FieldShell, IssueList, fieldId, type Binder } from "./fields";
import { VariablePicker } from "./variable-picker";

/**
 * A list of short strings as removable chips; Enter or comma adds, Backspace on empty removes.
 * With `validate`, an entry is checked as it is added: a bad one is refused at once and stays
 * in the input with its problem beside it (a local error, so saving waits for it).
 */
export function ChipsField(props: {
  b: Binder;
  path: readonly PathKey[];
  label: string;
  hint?: ComponentChildren;
  placeholder?: string;
  vars?: boolean;
  validate?: (item: string) => string | null;
}) {
  const { b, path } = props;
  const raw = b.get(path);
  const items = Array.isArray(raw) ? raw.map((x) => String(x)) : [];
  const [text, setText] = useState("");
  const [refused, setRefused] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const id = fieldId(b, path);
  const refuse = (problem: string | null) => {
    setRefused(problem);
    b.localError(id, problem === null ? null : `${props.label}: ${problem}`);
  };
  useEffect(() => () => b.localError(id, null), []);
  const commit = (t: string) => {
    const parts = t
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p && !items.includes(p));
    const bad = props.validate ? parts.filter((p) => props.validate!(p) !== null) : [];
    const good = parts.filter((p) => !bad.includes(p));
    if (good.length) b.set(path, [...items, ...good]);
    setText(bad.join(", "));
    refuse(bad.length ? props.validate!(bad[0]!) : null);
  };
  return (
    <FieldShell
      b={b}
      path={path}
      label={props.label}
      hint={props.hint ?? "Press Enter or comma to add."}
      // The API's issues about entries are listed once, by the shell; a refused entry is ours.
      local={refused}
      extra={props.vars && b.vars.length > 0 ? <VariablePicker groups={b.vars} onPick={(t) => setText(text + t)} label={props.label} /> : null}
    >
      {(a) => (
        <div class="chips" onClick={() => inputRef.current?.focus()}>
          <ul class="chip-list" aria-label={`${props.label}: ${plural(items.length, "entry", "entries")}`}>
            {items.map((item, i) => {
              const wrong = b.issues([...path, i]).length > 0;
              return (
                <li key={item} class={wrong ? "chip chip-bad" : "chip"} title={wrong ? b.issues([...path, i]).join("; ") : undefined}>
                  <span>{item}</span>
                  <button type="button" class="chip-x" aria-label={`Remove ${item} from ${props.label}`} onClick={() => b.set(path, items.filter((_, j) => j !== i))}>
                    ×
                  </button>
                </li>
              );
            })}
          </ul>
          <input
            ref={inputRef}
            {...a}
            value={text}
            placeholder={props.placeholder ?? "Type and press Enter"}
            onInput={(e) => {
              const v = e.currentTarget.value;
              if (v.includes(",")) commit(v);
              else {
                setText(v);
                // A refused entry being corrected is judged again when it is added.
                if (refused) refuse(null);
              }
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                commit(text);
              } else if (e.key === "Backspace" && text === "" && items.length > 0) {
                b.set(path, items.slice(0, -1));
              }
            }}
            onBlur={() => text.trim() && commit(text)}
          />
        </div>
      )}
    </FieldShell>
  );
}

/** Name/value rows for headers, query parameters and form bodies. */
export function KeyValueField(props: { b: Binder; path: readonly PathKey[]; label: string; hint?: ComponentChildren; keyLabel?: string; valueLabel?: string }) {
  const { b, path } = props;
  const raw = b.get(path);
  const record = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  // Rows are kept locally so that a half-typed or duplicate name is not lost while typing.
  const [rows, setRows] = useState<[string, string][]>(() => Object.entries(record).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const id = fieldId(b, path);
  const issues = b.issues(path);
  const write = (next: [string, string][]) => {
    setRows(next);
    const obj: Record<string, string> = {};
    for (const [k, v] of next) if (k.trim()) obj[k.trim()] = v;
    b.set(path, obj);
  };
  return (
    <fieldset class={`field kv ${issues.length ? "has-issue" : ""}`} id={id}>
      <legend>{props.label}</legend>
      {props.hint && <p class="hint">{props.hint}</p>}
      {rows.map(([k, v], i) => (
        <div class="kv-row" key={i}>
          <input aria-label={`${props.keyLabel ?? "Name"} ${i + 1}`} value={k} placeholder={props.keyLabel ?? "Name"} onInput={(e) => write(rows.map((r, j) => (j === i ? [e.currentTarget.value, r[1]] : r)))} />
          <input aria-label={`${props.valueLabel ?? "Value"} ${i + 1}`} value={v} placeholder={props.valueLabel ?? "Value"} onInput={(e) => write(rows.map((r, j) => (j === i ? [r[0], e.currentTarget.value] : r)))} />
          <button type="button" class="btn btn-icon" aria-label={`Remove ${props.keyLabel ?? "row"} ${k || i + 1}`} onClick={() => write(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" class="btn btn-small" onClick={() => setRows([...rows, ["", ""]])}>
        + Add {(props.keyLabel ?? "row").toLowerCase()}
      </button>
      <IssueList issues={issues} />
      <IssueList issues={b.warnings(path)} warning />
    </fieldset>
  );
}
