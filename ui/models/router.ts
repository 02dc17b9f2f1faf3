import { computed, signal } from "@preact/signals";

/** Path-based routing: the Worker serves index.html for every non-/api path. */
function createRouter() {
  const location = signal({ path: window.location.pathname, search: window.location.search });
  const query = computed(() => new URLSearchParams(location.value.search));


  /**
   * Asked before moving to another page. It answers true to hold the move: it then asks the
   * user in its own (in-app) dialog and calls `proceed` to move after all.
   */
  let guardFn: ((proceed: () => void) => boolean) | null = null;
  function guard(fn: (proceed: () => void) => boolean): () => void {
    guardFn = fn;
    return () => {
      if (guardFn === fn) guardFn = null;
    };
  }

  function navigate(href: string, opts: { replace?: boolean } = {}) {
    const url = new URL(href, window.location.origin);
    if (url.pathname !== location.peek().path && guardFn) {
      const held = guardFn(() => {
        guardFn = null;
        navigate(href, opts);
      });
      if (held) return;
      guardFn = null;
    }
    if (opts.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    location.value = { path: url.pathname, search: url.search };
    if (!opts.replace) window.scrollTo(0, 0);
  }

  /** Rewrites the query string in place (filters), keeping the page in history once. */
  function setQuery(params: Record<string, string | undefined | null>) {
    const next = new URLSearchParams(location.peek().search);
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    const qs = next.toString();
    navigate(`${location.peek().path}${qs ? `?${qs}` : ""}`, { replace: true });
  }

  window.addEventListener("popstate", () => {
    const next = { path: window.location.pathname, search: window.location.search };
    const prev = location.peek();
    if (next.path !== prev.path && guardFn) {
      const held = guardFn(() => {
        guardFn = null;
        navigate(`${next.path}${next.search}`);
      });
      if (held) {
        // Stay until the user decides: put the page we are on back on top of the history.
        history.pushState(null, "", `${prev.path}${prev.search}`);
        return;
      }
      guardFn = null;
    }
    location.value = next;
  });

  return { location, query, navigate, setQuery, guard };
}

export const router = createRouter();

/** Matches "/workflows/:id" style patterns; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const a = path.split("/").filter(Boolean);
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(a[i]!);
    else if (seg !== a[i]) return null;
  }
  return params;
}
