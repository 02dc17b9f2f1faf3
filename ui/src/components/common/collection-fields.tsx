/** Fields that edit a list or a record: chips for short strings, name/value rows. */
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";
import type { PathKey } from "../../lib/util";
import { FieldShell, IssueList, fieldId, type Binder } from "./fields";
import { VariablePicker } from "./variable-picker";

/** A list of short strings as removable chips; Enter or comma adds, Backspace on empty removes. */
export function ChipsField(props: { b: Binder; path: readonly PathKey[]; label: string; hint?: ComponentChildren; placeholder?: string; vars?: boolean }) {
  const { b, path } = props;
  const raw = b.get(path);
  const items = Array.isArray(raw) ? raw.map((x) => String(x)) : [];
  const [text, setText] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);
  const commit = (t: string) => {
    const parts = t
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p && !items.includes(p));
    if (parts.length) b.set(path, [...items, ...parts]);
    setText("");
  };
  const issues = items.map((_, i) => b.issues([...path, i])).flat();
  return (
    <FieldShell
      b={b}
      path={path}
      label={props.label}
      hint={props.hint ?? "Press Enter or comma to add."}
      local={issues.length ? issues.join("; ") : null}
      extra={props.vars && b.vars.length > 0 ? <VariablePicker groups={b.vars} onPick={(t) => setText(text + t)} label={props.label} /> : null}
    >
      {(a) => (
        <div class="chips" onClick={() => inputRef.current?.focus()}>
          <ul class="chip-list" aria-label={`${props.label}: ${items.length} ${items.length === 1 ? "entry" : "entries"}`}>
            {items.map((item, i) => (
              <li key={item} class="chip">
                <span>{item}</span>
                <button type="button" class="chip-x" aria-label={`Remove ${item} from ${props.label}`} onClick={() => b.set(path, items.filter((_, j) => j !== i))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
          <input
            ref={inputRef}
            {...a}
            value={text}
            placeholder={props.placeholder ?? "Type and press Enter"}
            onInput={(e) => {
              const v = e.currentTarget.value;
              if (v.includes(",")) commit(v);
              else setText(v);
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
