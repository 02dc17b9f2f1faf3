import type { EntityKind, EntitySnapshot } from "./registry";

/*
 * The entity mirror as the nodes reach it (binding-free): a port, so that a node changes an
 * entity without knowing D1. worker/entities/mirror-port.ts implements it on D1; tests may stand
 * in for it.
 */

/**
 * Who made a change: a step of a run. The mirror row records it as its event id,
 * `run:<run id>:<node id>` (`test:…` for a test run), and the snapshot carries it as `_source`.
 */
export interface ChangeSource {
  runId: string;
  workflowId: string;
  nodeId: string;
  /** A test run's change is test data: its snapshot says so. */
  test: boolean;
  /** When the change is made (the run's clock). */
  at: Date;
}

/** What a snapshot carries after a run changed it; a later platform snapshot has none. */
export interface SnapshotSource {
  run_id: string;
  workflow_id: string;
  node_id: string;
  test: boolean;
}

/**
 * What a change makes of the current snapshot: the next one, `null` when the snapshot already is
 * what the change asks for (nothing is written), or a refusal (the step fails, not retried).
 * It may be called more than once, each time with a fresher snapshot: it must be pure.
 */
export type Change = (current: EntitySnapshot) => { next: EntitySnapshot | null } | { refused: string };

export type ChangeResult =
  /** The mirror holds no live entity with this id. */
  | { status: "missing" }
  | { status: "refused"; reason: string; current: EntitySnapshot }
  | { status: "unchanged"; current: EntitySnapshot }
  | { status: "written"; before: EntitySnapshot; after: EntitySnapshot };

export interface MirrorPort {
  /** The live snapshot of an entity; undefined when the mirror holds none or a deleted one. */
  read(kind: EntityKind, id: string): Promise<EntitySnapshot | undefined>;
  /**
   * Applies a change to the snapshot the mirror holds now, with the run as its source. The write
   * starts no workflow, and orders like a platform event that occurred at `source.at` (or just
   * after the held snapshot, if that one is later): a platform event with a newer `occurred_at`
   * overwrites it, an older one is stale. The change is applied only to the snapshot it was
   * computed from; when an event lands in between, it is computed again on the new one. A step
   * that runs again after its own write (its answer was lost) finds nothing to change and gets
   * the change it made, as `written`. Throws when D1 fails (a transient failure: the step retries).
   */
  change(kind: EntityKind, id: string, change: Change, source: ChangeSource): Promise<ChangeResult>;
}

/** The mirror's event id for a change a run made. */
export const sourceEventId = (s: Pick<ChangeSource, "runId" | "nodeId" | "test">) => `${s.test ? "test" : "run"}:${s.runId}:${s.nodeId}`;
