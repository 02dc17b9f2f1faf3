import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { pathId, type PathKey } from "../../lib/util";
import { insertAt, VariablePicker, type VarGroup } from "./variable-picker";

export type { VarGroup, VarItem } from "./variable-picker";


/**
 * Connects form fields to one part of the draft: reads and writes by path, lists the API's
 * issues at a path, names element ids (so an issue can focus its field), and offers variables.
 */
export interface Binder {
  prefix: string;
  get(path: readonly PathKey[]): unknown;
  set(path: readonly PathKey[], value: unknown): void;
  /** Issues at the path; with `exact`, not those of fields below it. */
  issues(path: readonly PathKey[], exact?: boolean): string[];
  /** Warnings at the path (they block nothing), the same way. */
  warnings(path: readonly PathKey[], exact?: boolean): string[];
  vars: VarGroup[];
  localError(id: string, message: string | null): void;
}

export const fieldId = (b: Binder, path: readonly PathKey[]) => pathId(b.prefix, path);

interface ShellProps {
  b: Binder;
  path: readonly PathKey[];
  label: string;
  hint?: ComponentChildren;
  local?: string | null;
  children: (p: { id: string; "aria-invalid": boolean; "aria-describedby": string | undefined }) => ComponentChildren;
  extra?: ComponentChildren;
  class?: string;
}

/** Label, control, hint and issues, wired with for/id and aria-describedby. */
export function FieldShell({ b, path, label, hint, local, children, extra, class: cls }: ShellProps) {
  const id = fieldId(b, path);
  const issues = [...b.issues(path), ...(local ? [local] : [])];
  const warnings = b.warnings(path);
  const described = [hint ? `${id}-hint` : "", issues.length ? `${id}-issues` : "", warnings.length ? `${id}-warnings` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field ${issues.length ? "has-issue" : ""} ${cls ?? ""}`}>
      <label for={id}>{label}</label>
      <div class="control-row">
        {children({ id, "aria-invalid": issues.length > 0, "aria-describedby": described })}
        {extra}
      </div>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <IssueList issues={issues} id={`${id}-issues`} />
      <IssueList issues={warnings} id={`${id}-warnings`} warning />
    </div>
  );
}

/** Issues that belong to a group of fields (e.g. a strategy object), shown above them. */
export function GroupIssues({ b, path }: { b: Binder; path: readonly PathKey[] }) {
  return (
    <>
      <IssueList issues={b.issues(path, true)} id={`${fieldId(b, path)}-group`} focusable />
      <IssueList issues={b.warnings(path, true)} warning />
    </>
  );
}

/**
 * Problems with a field or group, in words; nothing when there are none. Warnings (`warning`)
 * are things to look at that block nothing, shown calmer than problems.
 */
export function IssueList({ issues, id, focusable, warning }: { issues: readonly string[]; id?: string; focusable?: boolean; warning?: boolean }) {
  if (issues.length === 0) return null;
  return (
    <ul class={warning ? "issues warnings" : "issues"} id={id} tabIndex={focusable ? -1 : undefined}>
      {issues.map((m, i) => (
        <li key={i}>{m}</li>
      ))}
    </ul>
  );
}

export function TextField(props: {
  b: Binder;
  path: readonly PathKey[];
  label: string;
  hint?: ComponentChildren;
  placeholder?: string;
  multiline?: boolean;
  rows?: number;
  vars?: boolean;
  /** Turns "" into a removed key (optional fields). */
  optional?: boolean;
  mono?: boolean;
}) {
  const { b, path } = props;
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const raw = b.get(path);
  const value = typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : JSON.stringify(raw);
  const set = (v: string) => b.set(path, v === "" && props.optional ? undefined : v);
  const caret = useRef<number | null>(null);
  useEffect(() => {
    if (caret.current !== null && ref.current) {
      ref.current.focus();
      ref.current.setSelectionRange(caret.current, caret.current);
      caret.current = null;
    }
  });
  const insert = (token: string) => {
    const r = insertAt(ref.current, value, token);
    caret.current = r.caret;
    set(r.value);
  };
  return (
    <FieldShell b={b} path={path} label={props.label} hint={props.hint} extra={props.vars && b.vars.length > 0 ? <VariablePicker groups={b.vars} onPick={insert} label={props.label} /> : null}>
      {(a) =>
        props.multiline ? (
          <textarea ref={ref} {...a} class={props.mono ? "mono" : ""} rows={props.rows ?? 4} value={value} placeholder={props.placeholder} onInput={(e) => set(e.currentTarget.value)} />
        ) : (
          <input ref={ref} {...a} type="text" class={props.mono ? "mono" : ""} value={value} placeholder={props.placeholder} onInput={(e) => set(e.currentTarget.value)} />
        )
      }
    </FieldShell>
  );
}

export function NumberField(props: { b: Binder; path: readonly PathKey[]; label: string; hint?: ComponentChildren; min?: number; max?: number; step?: number | "any"; placeholder?: string; integer?: boolean }) {
  const { b, path } = props;
  const raw = b.get(path);
  const [text, setText] = useState(raw === undefined || raw === null ? "" : String(raw));
  // Follow outside changes (a strategy switch, an import) without fighting the user's typing.
  useEffect(() => {
    const shown = text.trim() === "" ? undefined : Number(text);
    if (shown !== raw && !(shown === undefined && (raw === undefined || raw === null))) setText(raw === undefined || raw === null ? "" : String(raw));
  }, [raw]);
  return (
    <FieldShell b={b} path={path} label={props.label} hint={props.hint}>
      {(a) => (
        <input
          {...a}
          type="number"
          inputMode={props.integer === false ? "decimal" : "numeric"}
          min={props.min}
          max={props.max}
          step={props.step ?? (props.integer === false ? "any" : 1)}
          value={text}
          placeholder={props.placeholder}
          onInput={(e) => {
            const t = e.currentTarget.value;
            setText(t);
            if (t.trim() === "") b.set(path, undefined);
            else if (Number.isFinite(Number(t))) b.set(path, Number(t));
          }}
        />
      )}
    </FieldShell>
  );
}

export function SelectField<T extends string>(props: {
  b: Binder;
  path: readonly PathKey[];
  label: string;
  hint?: ComponentChildren;
  options: readonly { value: T; label: string }[];
  /** Replaces the default write (e.g. a strategy switch rewrites its whole object). */
  onSelect?: (value: T) => void;
  value?: T;
}) {
  const { b, path } = props;
  const value = props.value ?? (b.get(path) as T | undefined) ?? "";
  return (
    <FieldShell b={b} path={path} label={props.label} hint={props.hint}>
      {(a) => (
        <select
          {...a}
          value={value}
          onChange={(e) => {
            const v = e.currentTarget.value as T;
            if (props.onSelect) props.onSelect(v);
            else b.set(path, v);
          }}
        >
          {!props.options.some((o) => o.value === value) && <option value={value}>{value || "Choose…"}</option>}
          {props.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </FieldShell>
  );
}

export function CheckboxField(props: { b: Binder; path: readonly PathKey[]; label: string; hint?: ComponentChildren }) {
  const { b, path } = props;
  const id = fieldId(b, path);
  const issues = b.issues(path);
  return (
    <div class={`field field-check ${issues.length ? "has-issue" : ""}`}>
      <input
        id={id}
        type="checkbox"
        checked={b.get(path) === true}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        aria-invalid={issues.length > 0}
        onChange={(e) => b.set(path, e.currentTarget.checked)}
      />
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      <IssueList issues={issues} />
      <IssueList issues={b.warnings(path)} warning />
    </div>
  );
}

/** A radio group (few, visible choices such as any/all). */
export function RadioField<T extends string>(props: { b: Binder; path: readonly PathKey[]; label: string; options: readonly { value: T; label: string }[]; fallback: T }) {
  const { b, path } = props;
  const id = fieldId(b, path);
  const value = (b.get(path) as T | undefined) ?? props.fallback;
  return (
    <fieldset class="field radios" id={id}>
      <legend>{props.label}</legend>
      {props.options.map((o) => (
        <label key={o.value} class="radio">
          <input type="radio" name={id} value={o.value} checked={value === o.value} onChange={() => b.set(path, o.value)} />
          {o.label}
        </label>
      ))}
      <GroupIssues b={b} path={path} />
    </fieldset>
  );
}

/** Text the browser parses before it is stored (JSON, status lists); a parse error blocks saving. */
export function ParsedField(props: {
  b: Binder;
  path: readonly PathKey[];
  label: string;
  hint?: ComponentChildren;
  format: (v: unknown) => string;
  parse: (text: string) => { ok: true; value: unknown } | { ok: false; error: string };
  multiline?: boolean;
  vars?: boolean;
}) {
  const { b, path } = props;
  const id = fieldId(b, path);
  const value = b.get(path);
  const [text, setText] = useState(() => props.format(value));
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const last = useRef(value);
  useEffect(() => {
    // Re-read when the value changes from outside (import, restore), not from our own writes.
    if (value !== last.current) {
      last.current = value;
      setText(props.format(value));
      setError(null);
      b.localError(id, null);
    }
  }, [value]);
  useEffect(() => () => b.localError(id, null), []);
  const apply = (t: string) => {
    setText(t);
    const r = props.parse(t);
    if (r.ok) {
      setError(null);
      b.localError(id, null);
      last.current = r.value;
      b.set(path, r.value);
    } else {
      setError(r.error);
      b.localError(id, `${props.label}: ${r.error}`);
    }
  };
  return (
    <FieldShell
      b={b}
      path={path}
      label={props.label}
      hint={props.hint}
      local={error}
      extra={
        props.vars && b.vars.length > 0 ? (
          <VariablePicker
            groups={b.vars}
            label={props.label}
            onPick={(token) => {
              const r = insertAt(ref.current, text, token);
              apply(r.value);
            }}
          />
        ) : null
      }
    >
      {(a) =>
        props.multiline ? (
          <textarea ref={ref} {...a} class="mono" rows={6} value={text} onInput={(e) => apply(e.currentTarget.value)} />
        ) : (
          <input ref={ref} {...a} class="mono" value={text} onInput={(e) => apply(e.currentTarget.value)} />
        )
      }
    </FieldShell>
  );
}
