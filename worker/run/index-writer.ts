import { upsertApprovalStatement } from "../db/approvals";
import { upsertRunStatement } from "../db/run-index";
import { stepStatuses, type RunState } from "../engine/run-state";
import { track } from "../lib/metrics";
import { logError } from "../log";
import { approvalRows, approvalsKey } from "./approvals";
import type { IndexMark, RunStorage } from "./storage";

/*
 * The run's row in the D1 index (lists, filters, counts). It lags the run's own state: written a
 * moment into a busy step, and whenever the run comes to rest (sleeps or ends) with a status or
 * step statuses the row does not show yet. The mark (in memory) says what the row last carried.
 * The run's approval rows (the inbox, run/approvals.ts) are written with it, in one batch.
 */

/** A run still busy after this long gets its "running" row in the D1 index. */
export const INDEX_DELAY_MS = 1_000;
/** How soon to try again when writing the D1 index did not happen or failed. */
export const INDEX_RETRY_MS = 5_000;

/** What the rows show of a run; a state with the same key needs no new rows. */
const contentKey = (state: RunState) => `${state.status}|${state.waiting_for ?? ""}|${state.trigger.id}|${JSON.stringify(stepStatuses(state))}|${approvalsKey(state)}`;

export class IndexWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * What the row last carried, in memory: persisting it would cost a storage write per run. A new
   * instance starts from the mark rows written before this change left in storage, else from
   * nothing, and then writes the row once more (an upsert of the same revision changes nothing).
   */
  private mark: IndexMark | undefined | null = null;

  constructor(
    private readonly storage: RunStorage,
    private readonly db: D1Database,
  ) {}

  /** Whether the row already shows this state. */
  isCurrent(state: RunState): boolean {
    return this.current()?.key === contentKey(state);
  }

  private current(): IndexMark | undefined {
    if (this.mark === null) this.mark = this.storage.indexMark();
    return this.mark;
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
    if (this.current()?.key === key) return true;
    try {
      const run = upsertRunStatement(this.db, {
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
        waiting_for: state.waiting_for,
        flow_key: state.flow_key,
      });
      track(await this.db.batch([run, ...approvalRows(state).map((row) => upsertApprovalStatement(this.db, row))]));
      const mark = this.current();
      if (!mark || mark.rev < state.rev) this.mark = { rev: state.rev, key };
      return true;
    } catch (err) {
      logError("run_index", err, { run_id: state.id });
      return false;
    }
  }
}
