import { upsertRunStatement } from "../db/run-index";
import { stepStatuses, type RunState } from "../engine/run-state";
import { track } from "../lib/metrics";
import { logError } from "../log";
import type { RunStorage } from "./storage";

/*
 * The run's row in the D1 index (lists, filters, counts). It lags the run's own state: written a
 * moment into a busy step, and whenever the run comes to rest (sleeps or ends) with a status or
 * step statuses the row does not show yet. The mark in storage says what the row last carried.
 */

/** A run still busy after this long gets its "running" row in the D1 index. */
export const INDEX_DELAY_MS = 1_000;
/** How soon to try again when writing the D1 index did not happen or failed. */
export const INDEX_RETRY_MS = 5_000;

/** What the row shows of a run; a state with the same key needs no new row. */
const contentKey = (state: RunState) => `${state.status}|${JSON.stringify(stepStatuses(state))}`;

export class IndexWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly storage: RunStorage,
    private readonly db: D1Database,
  ) {}

  /** Whether the row already shows this state. */
  isCurrent(state: RunState): boolean {
    return this.storage.indexMark()?.key === contentKey(state);
  }

  /**
   * Unless the row already shows the run, or a write is pending: writes it in INDEX_DELAY_MS, of
   * the state `current()` returns then.
   */
  writeSoon(current: () => RunState | null) {
    const state = current();
    if (!state || this.isCurrent(state)) return;
    this.timer ??= setTimeout(() => {
      const state = current();
      if (state) void this.write(state);
    }, INDEX_DELAY_MS);
  }

  /**
   * Writes the run's row when it changed; false when D1 refused. Two writes may be in flight at
   * once and finish in any order: the row and the mark both keep the newest revision, never the
   * last to arrive.
   */
  async write(state: RunState): Promise<boolean> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const key = contentKey(state);
    if (this.storage.indexMark()?.key === key) return true;
    try {
      track(
        await upsertRunStatement(this.db, {
          id: state.id,
          rev: state.rev,
          workflow_id: state.workflow_id,
          workflow_version: state.workflow_version,
          status: state.status,
          test: state.test,
          event_id: state.test ? null : state.trigger.id,
          entity: state.trigger.entity,
          entity_id: state.trigger.entity_id,
          started_at: Date.parse(state.started_at),
          finished_at: state.finished_at ? Date.parse(state.finished_at) : null,
          error: state.error,
          summary: state.summary,
          steps: stepStatuses(state),
        }).run(),
      );
      const mark = this.storage.indexMark();
      if (!mark || mark.rev < state.rev) this.storage.putIndexMark({ rev: state.rev, key });
      return true;
    } catch (err) {
      logError("run_index", err, { run_id: state.id });
      return false;
    }
  }
}
