import { signal } from "@preact/signals";
import { api, describeError, type Backfill } from "../src/api";

/*
 * A backfill from the builder (SPEC §15): start one, follow its progress until its runs have
 * ended, cancel it. The last backfill of each workflow is remembered for the browser tab, so the
 * bar is there again when the panel is opened again. `backfillProgress` and `pollDelay` are pure.
 */

export interface BackfillProgress {
  /** Runs that ended (completed, failed or cancelled), of `max`. */
  value: number;
  /** Runs started so far; null while none has been: the bar then shows no amount. */
  max: number | null;
  /** 0–100, or null with `max`. */
  percent: number | null;
  /** One sentence of where it stands. */
  label: string;
  /** Whether it still moves: entities being walked, or started runs not ended. */
  live: boolean;
}

const plural = (n: number, word: string, words = `${word}s`) => `${n.toLocaleString("en")} ${n === 1 ? word : words}`;

/** Where a backfill stands: the bar fills as its started runs end, and grows as more start. */
export function backfillProgress(b: Backfill): BackfillProgress {
  const ended = b.completed + b.failed + b.cancelled;
  const walking = b.status === "running";
  const live = walking || (b.status !== "failed" && ended < b.started);
  const max = b.started > 0 ? b.started : walking ? null : 1;
  const value = b.started > 0 ? Math.min(ended, b.started) : walking ? 0 : 1;
  // Rounded down: 100% only once every started run ended.
  const percent = max === null ? null : Math.floor((100 * value) / max);
  const runs = `${plural(b.started, "run")} started${b.duplicates > 0 ? ` (${plural(b.duplicates, "entity", "entities")} had run before)` : ""}`;
  const outcome = `${b.completed.toLocaleString("en")} completed, ${b.failed.toLocaleString("en")} failed`;
  let label: string;
  if (walking) label = `Walking the mirror: ${plural(b.examined, "entity", "entities")} examined, ${b.matched.toLocaleString("en")} matched; ${runs}; ${outcome}.`;
  else if (b.status === "done" && b.started === 0) label = `Nothing to start: ${plural(b.matched, "entity", "entities")} matched${b.duplicates > 0 ? ", and each had its run already" : ""}.`;
  else if (b.status === "done") label = `${runs}${b.limit_reached ? ` (the limit of ${b.limit.toLocaleString("en")})` : ""}; ${outcome}${live ? "; the others are still going" : ""}.`;
  else if (b.status === "cancelled") label = `${b.reason ?? "Cancelled"}. ${runs} before; ${outcome}.`;
  else label = `Stopped: ${b.reason ?? "it failed"}. ${runs}; ${outcome}.`;
  if (b.errors > 0) label += ` ${plural(b.errors, "run")} could not start: backfill again to start just those.`;
  return { value, max, percent, label, live };
}

/** Milliseconds before the next poll: 2 s for the first polls, then longer, up to 30 s. */
export const pollDelay = (polls: number) => Math.min(30_000, Math.round(2_000 * 1.25 ** Math.max(0, polls - 8)));

const memoryKey = (workflowId: string) => `backfill:${workflowId}`;

/** Where the last backfill id of each workflow is kept: the tab's sessionStorage in the browser. */
export interface Memory {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
const tabMemory = (): Memory | null => (globalThis as { sessionStorage?: Memory }).sessionStorage ?? null;

export function createBackfill(workflowId: () => string | null, memory: Memory | null = tabMemory()) {
  const data = { backfill: signal<Backfill | null>(null) };
  const view = {
    busy: signal<"starting" | "cancelling" | null>(null),
    error: signal<string | null>(null),
    /** The most runs to start; null: no limit but the API's. */
    limit: signal<number | null>(null),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let polls = 0;
  let stopped = false;

  const clear = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  function show(b: Backfill) {
    data.backfill.value = b;
    clear();
    if (!stopped && backfillProgress(b).live) timer = setTimeout(() => void poll(), pollDelay(polls++));
  }

  async function poll() {
    const id = workflowId();
    const b = data.backfill.peek();
    if (!id || !b) return;
    try {
      show(await api.getBackfill(id, b.id));
      view.error.value = null;
    } catch (err) {
      view.error.value = `Could not read the backfill's progress: ${describeError(err)}`;
    }
  }

  return {
    data,
    view,
    /** Shows the workflow's last backfill of this tab, if any, and follows it. */
    resume() {
      stopped = false;
      const id = workflowId();
      const known = id ? memory?.getItem(memoryKey(id)) : null;
      if (!id || !known || data.backfill.peek()) return;
      data.backfill.value = null;
      void api.getBackfill(id, known).then(show, () => undefined);
    },
    /** Stops polling (the panel closed). */
    stop() {
      stopped = true;
      clear();
    },
    setLimit(n: number | null) {
      view.limit.value = n !== null && Number.isInteger(n) && n >= 1 ? n : null;
    },
    async start() {
      const id = workflowId();
      if (!id) return;
      view.busy.value = "starting";
      view.error.value = null;
      try {
        const b = await api.startBackfill(id, view.limit.peek() ?? undefined);
        memory?.setItem(memoryKey(id), b.id);
        polls = 0;
        stopped = false;
        show(b);
      } catch (err) {
        view.error.value = `The backfill did not start: ${describeError(err)}`;
      } finally {
        view.busy.value = null;
      }
    },
    async cancel() {
      const id = workflowId();
      const b = data.backfill.peek();
      if (!id || !b) return;
      view.busy.value = "cancelling";
      try {
        show(await api.cancelBackfill(id, b.id));
      } catch (err) {
        view.error.value = `Could not cancel: ${describeError(err)}`;
        void poll();
      } finally {
        view.busy.value = null;
      }
    },
  };
}
export type BackfillModel = ReturnType<typeof createBackfill>;
