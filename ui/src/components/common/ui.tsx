import type { AnchorHTMLAttributes, ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { router } from "../../../models/router";

/** An in-app link: a real <a href> (keyboard, new tab, copy link) that routes without reloading. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        router.navigate(href);
      }}
    />
  );
}

const STATUS_TONE: Record<string, string> = {
  draft: "neutral",
  active: "good",
  paused: "warn",
  archived: "muted",
  pending: "neutral",
  running: "info",
  completed: "good",
  succeeded: "good",
  failed: "bad",
  cancelled: "muted",
  skipped: "muted",
  open: "info",
  approved: "good",
};

/** A status in words (colour only repeats what the word says). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return (
    <span class={`badge tone-${STATUS_TONE[status] ?? "neutral"}`} data-status={status}>
      {label ?? status}
    </span>
  );
}

/** A request error, in words; announced to screen readers. */
export function ErrorNote({ error, onRetry }: { error: string | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div class="note note-error" role="alert">
      <span>{error}</span>
      {onRetry && (
        <button type="button" class="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ kind = "ok", children }: { kind?: "ok" | "error" | "info"; children: ComponentChildren }) {
  return (
    <div class={`note note-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      {label}
    </p>
  );
}

/** A modal <dialog>: the browser traps focus and closes it on Escape. */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; wide?: boolean; labelId?: string; required?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  const id = props.labelId ?? `dlg-${props.title.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <dialog
      ref={ref}
      class={props.wide ? "dialog dialog-wide" : "dialog"}
      aria-labelledby={id}
      onClose={() => props.open && props.onClose()}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      {props.open && (
        <>
          <header class="dialog-head">
            <h2 id={id}>{props.title}</h2>
            {!props.required && (
              <button type="button" class="btn btn-icon" aria-label="Close" onClick={props.onClose}>
                ×
              </button>
            )}
          </header>
          <div class="dialog-body">{props.children}</div>
        </>
      )}
    </dialog>
  );
}

export function ConfirmDialog(props: { open: boolean; title: string; text: ComponentChildren; action: string; cancel?: string; danger?: boolean; onConfirm: () => void; onClose: () => void }) {
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose}>
      {typeof props.text === "string" ? <p>{props.text}</p> : props.text}
      <div class="row-actions end">
        <button type="button" class="btn" onClick={props.onClose}>
          {props.cancel ?? "Keep it"}
        </button>
        <button type="button" class={props.danger === false ? "btn btn-primary" : "btn btn-danger"} onClick={props.onConfirm}>
          {props.action}
        </button>
      </div>
    </Dialog>
  );
}

/** JSON shown as text; long values scroll inside their box. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const text = value === undefined ? "—" : JSON.stringify(value, null, 2);
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {text}
    </pre>
  );
}

export function Time({ iso, relative }: { iso: string | null | undefined; relative: string }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {relative}
    </time>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-head">
      <h1>{title}</h1>
      <div class="page-actions">{children}</div>
    </header>
  );
}

/** A list filter: a labelled select whose first choice ("") means no filter. */
export function FilterSelect(props: { id: string; label: string; value: string; all: string; options: readonly (string | { value: string; label: string })[]; onChange: (value: string) => void }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        <option value="">{props.all}</option>
        {props.options.map((o) => {
          const { value, label } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </>
  );
}

/**
 * The content of a side panel, labelled by its title: what it is (eyebrow), the title, a hint,
 * and actions beside them. `focusable` titles take focus when a card is chosen by keyboard.
 */
export function Inspector(props: {
  eyebrow: ComponentChildren;
  title: ComponentChildren;
  titleId: string;
  hint?: ComponentChildren;
  focusable?: boolean;
  actions?: ComponentChildren;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <section class={props.class ? `inspector ${props.class}` : "inspector"} aria-labelledby={props.titleId}>
      <header class="inspector-head">
        <div>
          <p class="eyebrow">{props.eyebrow}</p>
          <h2 id={props.titleId} tabIndex={props.focusable ? -1 : undefined}>
            {props.title}
          </h2>
          {props.hint && <p class="hint">{props.hint}</p>}
        </div>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}
