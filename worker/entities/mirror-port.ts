import { issuesText } from "../lib/issues";
import { track } from "../lib/metrics";
import { sourceEventId, type ChangeResult, type MirrorPort, type SnapshotSource } from "./port";
import { entitySchema, type EntityKind, type EntitySnapshot } from "./registry";
import { changeStatements, getEntity, MAX_SNAPSHOT_BYTES, preparedRow, snapshotTooLarge, SnapshotRowSchema, type SnapshotRow } from "./store";

/**
 * How often a change is computed again because an event landed between reading the snapshot and
 * writing it. Events for one entity are rare; a change that loses this often is retried as a step.
 */
const MAX_ROUNDS = 4;

const tagsOf = (data: Record<string, unknown>): string[] => (Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : []);
const snapshotOf = (id: string, row: SnapshotRow): EntitySnapshot => ({ ...row.data, id, tags: tagsOf(row.data) });

/**
 * When a run's change occurred, for the mirror's order: the run's time, but always after the
 * snapshot it replaces (a platform clock ahead of ours must not make the change look stale).
 */
function occurredAt(at: Date, held: string): Date {
  return new Date(Math.max(at.getTime(), Date.parse(held) + 1));
}

/** The mirror port on a D1 database: what the entity nodes get as `deps.mirror`. */
export function mirrorPort(d1: D1Database): MirrorPort {
  return {
    async read(kind, id) {
      const row = await getEntity(d1, kind, id);
      return row && !row.deleted ? snapshotOf(id, row) : undefined;
    },

    async change(kind: EntityKind, id, change, source): Promise<ChangeResult> {
      let row = await getEntity(d1, kind, id);
      const eventId = sourceEventId(source);
      const mark: SnapshotSource = { run_id: source.runId, workflow_id: source.workflowId, node_id: source.nodeId, test: source.test };
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (!row || row.deleted) return { status: "missing" };
        const current = snapshotOf(id, row);
        const decided = change(current);
        if ("refused" in decided) return { status: "refused", reason: decided.refused, current };
        if (decided.next === null) {
          // This very step wrote it (an attempt whose answer was lost): answer the change it made.
          if (row.event_id === eventId && row.previous) return { status: "written", before: { ...row.previous, id, tags: tagsOf(row.previous) }, after: current };
          return { status: "unchanged", current };
        }
        const parsed = entitySchema(kind).safeParse({ ...decided.next, id, _source: mark });
        if (!parsed.success) return { status: "refused", reason: `The changed ${kind} is not valid: ${issuesText(parsed.error)}`, current };
        if (snapshotTooLarge(parsed.data)) return { status: "refused", reason: `The changed ${kind} is over ${MAX_SNAPSHOT_BYTES / 1024} KiB of JSON`, current };
        const next = preparedRow(parsed.data, occurredAt(source.at, row.occurred_at), eventId);
        const results = track(await d1.batch(changeStatements(d1, kind, row, next)));
        const raw = results.at(-1)?.results[0];
        row = raw === undefined ? undefined : SnapshotRowSchema.parse(raw);
        if (row && !row.deleted && row.occurred_at === next.o && row.event_id === next.e) return { status: "written", before: current, after: snapshotOf(id, row) };
      }
      throw new Error(`The ${kind} ${id} changed ${MAX_ROUNDS} times while this step changed it; try again`);
    },
  };
}
