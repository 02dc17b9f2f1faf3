import type { RunState, StepState } from "../engine/run-state";
import { count } from "../lib/metrics";

/*
 * The storage layout of one run in its Durable Object's key-value storage. Every write here is
 * synchronous: made in the turn that decided it, it commits with the rest of that turn before
 * any effect leaves the object (the output gate holds it until the write is durable).
 *
 *   "run"              the whole state (layout "single"), or the state without its steps and
 *                      the ids of its steps in order (layout "split")
 *   "step:<node id>"   one step, in the split layout only
 *   "artifact:<node id>:<name>"  a large by-product of a step (the raw email), served on its own
 *   "index"            the mark of the last D1 index row written, as runs before 2026-11-29 kept it
 *                      (index-writer.ts now keeps it in memory: it is read, never written)
 *   "gate_released"    true once the run's flow-control gate knows the run ended (worker/flow/)
 *   "queued:<node id>:<event id>"  an event delivered while the step was still subscribing
 *                      (wait_for_event), kept until the step awaits or ends
 */

const RUN = "run";
const INDEX_MARK = "index";
const GATE_RELEASED = "gate_released";
const stepKey = (nodeId: string) => `step:${nodeId}`;
const artifactKey = (nodeId: string, name: string) => `artifact:${nodeId}:${name}`;
const queuedPrefix = (nodeId: string) => `queued:${nodeId}:`;
/** Events kept per step while it subscribes: a retried subscription's look-back finds any beyond. */
export const MAX_QUEUED = 100;

/**
 * A stored value may hold 2 MB. The runtime stores a string's code units in one byte each, or in
 * two each as soon as the string holds one character beyond Latin-1: so a state of `n` UTF-16 code
 * units (what `.length` counts) takes at most `2n` bytes, whatever its text. A run moves to a row
 * per step once that bound passes this limit, which leaves room below 2 MB for the value's framing.
 */
export const SINGLE_ROW_LIMIT = 1.5 * 1024 * 1024;
/** The most bytes a JSON text of this many code units can take in storage. */
export const storedBytesBound = (json: string) => 2 * json.length;

type Stored = (RunState & { layout?: "single" }) | (Omit<RunState, "steps"> & { layout: "split"; step_ids: string[] });

export interface Artifact {
  content_type: string;
  content: string;
}

/** The last D1 index row written: the run's revision and the content (status, step statuses) it carried. */
export interface IndexMark {
  rev: number;
  key: string;
}

export class RunStorage {
  /** One row for the whole run until it outgrows SINGLE_ROW_LIMIT; then a row per step, for good. */
  private layout: "single" | "split" = "single";

  constructor(private readonly kv: SyncKvStorage) {}

  /** The stored run, or null when this object holds none. */
  read(): RunState | null {
    const stored = this.kv.get<Stored>(RUN);
    if (!stored) return null;
    let state: RunState;
    if (stored.layout === "split") {
      const { layout: _layout, step_ids, ...rest } = stored;
      state = { ...rest, steps: step_ids.map((id) => this.kv.get<StepState>(stepKey(id))!) };
      this.layout = "split";
    } else {
      const { layout: _layout, ...rest } = stored;
      state = rest;
    }
    // Rows written before revisions, flow control and retries existed.
    return { ...state, rev: state.rev ?? 0, waiting_for: state.waiting_for ?? null, flow_key: state.flow_key ?? null, retry_of: state.retry_of ?? null, retried_by: state.retried_by ?? [], ended_early: state.ended_early ?? null };
  }

  /**
   * Writes `state`, which follows `from`. In the split layout only the steps that changed (a new
   * object: the engine never mutates a step) are written again. Throws when storage refuses the
   * write; nothing of it is then kept.
   */
  write(state: RunState, from: RunState) {
    if (this.layout === "single") {
      if (storedBytesBound(JSON.stringify(state)) <= SINGLE_ROW_LIMIT) {
        this.kv.put(RUN, { ...state, layout: "single" });
        count("run_storage_rows_written");
        return;
      }
      this.layout = "split";
      from = { ...from, steps: [] }; // every step is written below
    }
    const { steps, ...run } = state;
    this.kv.put(RUN, { ...run, layout: "split", step_ids: steps.map((s) => s.node_id) });
    let rows = 1;
    steps.forEach((st, i) => {
      if (from.steps[i] !== st) {
        this.kv.put(stepKey(st.node_id), st);
        rows += 1;
      }
    });
    count("run_storage_rows_written", rows);
  }

  putArtifact(nodeId: string, name: string, artifact: Artifact) {
    this.kv.put(artifactKey(nodeId, name), artifact);
  }

  artifact(nodeId: string, name: string): Artifact | null {
    return this.kv.get<Artifact>(artifactKey(nodeId, name)) ?? null;
  }

  indexMark(): IndexMark | undefined {
    return this.kv.get<IndexMark>(INDEX_MARK);
  }

  /** Whether the run's flow-control gate has acknowledged that the run ended. */
  gateReleased(): boolean {
    return this.kv.get<boolean>(GATE_RELEASED) === true;
  }

  putGateReleased() {
    this.kv.put(GATE_RELEASED, true);
    count("run_storage_rows_written");
  }


  /** Keeps an event for a step that is still subscribing; false when MAX_QUEUED are kept already. The same event twice is kept once. */
  queue(nodeId: string, eventId: string, event: unknown): boolean {
    if (this.queued(nodeId).length >= MAX_QUEUED) return false;
    this.kv.put(`${queuedPrefix(nodeId)}${eventId}`, event);
    count("run_storage_rows_written");
    return true;
  }

  /** The events kept for a step, in event id order. */
  queued(nodeId: string): unknown[] {
    return [...this.kv.list({ prefix: queuedPrefix(nodeId) })].map(([, v]) => v);
  }

  dropQueued(nodeId: string) {
    for (const [key] of this.kv.list({ prefix: queuedPrefix(nodeId) })) this.kv.delete(key);
  }
}
