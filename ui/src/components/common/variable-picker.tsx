/** The {x} button beside a templated field: a filterable list of variables to insert at the caret. */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface VarItem {
  path: string;
  hint?: string;
}
export interface VarGroup {
  label: string;
  items: VarItem[];
}

/** `token` typed into `current` at the caret of `el` (replacing a selection); where the caret goes after. */
export function insertAt(el: HTMLInputElement | HTMLTextAreaElement | null, current: string, token: string): { value: string; caret: number } {
  const start = el?.selectionStart ?? current.length;
  const end = el?.selectionEnd ?? current.length;
  return { value: current.slice(0, start) + token + current.slice(end), caret: start + token.length };
}

/**
 * Where the list goes: fixed to the viewport beside its button, so no scrolling panel clips it —
 * below the button when there is room, else above, never wider or taller than the window.
 */
function placeBeside(button: HTMLElement): Record<string, string> {
  const r = button.getBoundingClientRect();
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const margin = 8;
  const width = Math.min(352, vw - 2 * margin);
  const left = Math.min(Math.max(margin, r.right - width), vw - width - margin);
  const below = vh - r.bottom - margin;
  const above = r.top - margin;
  const style: Record<string, string> = { position: "fixed", left: `${left}px`, right: "auto", width: `${width}px` };
  if (below >= 240 || below >= above) {
    style.top = `${r.bottom + 4}px`;
    style.maxHeight = `${Math.min(352, below - 4)}px`;
  } else {
    style.top = "auto";
    style.bottom = `${vh - r.top + 4}px`;
    style.maxHeight = `${Math.min(352, above - 4)}px`;
  }
  return style;
}

/** A button that opens a filterable list of {{paths}}; picking one inserts it at the caret. */
export function VariablePicker({ groups, onPick, label }: { groups: VarGroup[]; onPick: (token: string) => void; label: string }) {
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState("");
  const [place, setPlace] = useState<Record<string, string>>({});
  const button = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const filterRef = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    if (!open) return;
    // Follow the button while the page or panel scrolls, or the window resizes.
    const follow = () => button.current && setPlace(placeBeside(button.current));
    follow();
    window.addEventListener("scroll", follow, true);
    window.addEventListener("resize", follow);
    return () => {
      window.removeEventListener("scroll", follow, true);
      window.removeEventListener("resize", follow);
    };
  }, [open]);
  useEffect(() => {
    if (!open) return;
    filterRef.current?.focus();
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node) && e.target !== button.current) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const f = filter.trim().toLowerCase();
  const shown = groups.map((g) => ({ ...g, items: g.items.filter((i) => !f || i.path.toLowerCase().includes(f)) })).filter((g) => g.items.length > 0);
  return (
    <div class="var-picker">
      <button
        ref={button}
        type="button"
        class="btn btn-small var-btn"
        aria-haspopup="true"
        aria-expanded={open}
        aria-label={`Insert a variable into ${label}`}
        title="Insert a variable"
        onClick={() => setOpen(!open)}
      >
        {"{x}"}
      </button>
      {open && (
        <div
          ref={box}
          class="var-pop"
          style={place}
          role="group"
          aria-label={`Variables for ${label}`}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.stopPropagation();
              e.preventDefault();
              close();
            }
          }}
        >
          <input ref={filterRef} class="var-filter" aria-label="Filter variables" placeholder="Filter variables" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          <div class="var-groups">
            {shown.length === 0 && <p class="hint">No variable matches.</p>}
            {shown.map((g) => (
              <div key={g.label} class="var-group">
                <p class="var-group-label">{g.label}</p>
                {g.items.map((i) => (
                  <button
                    key={i.path}
                    type="button"
                    class="var-item"
                    onClick={() => {
                      setOpen(false);
                      onPick(`{{${i.path}}}`);
                    }}
                  >
                    <code>{`{{${i.path}}}`}</code>
                    {i.hint && <span class="hint">{i.hint}</span>}
                  </button>
                ))}
              </div>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
