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
 *   "index"            the mark of the last D1 index row written (see index-writer.ts)
 */

const RUN = "run";
const INDEX_MARK = "index";
const stepKey = (nodeId: string) => `step:${nodeId}`;
const artifactKey = (nodeId: string, name: string) => `artifact:${nodeId}:${name}`;

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
    return { ...state, rev: state.rev ?? 0 }; // rows written before revisions existed
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

  putIndexMark(mark: IndexMark) {
    this.kv.put(INDEX_MARK, mark);
    count("run_storage_rows_written");
  }
}
