import { z } from "zod";
import { MAX_BACKFILL_RUNS } from "../contract/backfill";
import type { Definition } from "../contract/definition";
import { utcDate } from "../definition/date-spec";
import { matchesTrigger } from "../engine/trigger-match";
import type { TriggerInfo } from "../engine/run-state";
import { EntityKindSchema, type EntityKind } from "../entities";
import { readRelated } from "../entities/related-read";
import { listEntities } from "../entities/store";
import { startRun } from "../flow/admit";
import { pool } from "../lib/pool";
import { logError } from "../log";

/*
 * A sweep starts one run per mirrored entity that matches a workflow's trigger, walking the mirror
 * a page at a time: a backfill (SPEC §15: "the entities that match now") and the tick of a
 * schedule with `each: "entity"` are both sweeps, driven by a BackfillObject's alarm. Every run
 * starts through startRun, so the workflow's flow controls bound a sweep like any event; and every
 * run's event id is derived from the sweep and the entity, so a page done twice (an alarm repeated
 * after a crash, a sweep started twice) starts nothing twice.
 */

/** Entities read per page; each matching one costs a start call (a subrequest, of 1,000 an invocation may make). */
export const PAGE_ENTITIES = 250;
/** Start calls in flight at once. */
const START_CONCURRENCY = 16;
/** The most runs one sweep starts. */
export const MAX_SWEEP_RUNS = MAX_BACKFILL_RUNS;

export const SWEEP_KINDS = ["backfill", "schedule"] as const;

/** What a sweep is asked to do; stored by its object as given. */
export const SweepSpecSchema = z.object({
  /** The backfill id, or the schedule tick's name (scheduleSweepName). */
  id: z.string().min(1),
  kind: z.enum(SWEEP_KINDS),
  workflow_id: z.string().min(1),
  version: z.int().min(1),
  entity: EntityKindSchema,
  /** Each run's event id is this prefix and the entity id. */
  event_prefix: z.string().min(1),
  /** The sweep's "now": the tick's minute, or when the backfill was asked; conditions see it as {{now}}. */
  at: z.iso.datetime(),
  limit: z.int().min(1).max(MAX_SWEEP_RUNS),
});
export type SweepSpec = z.infer<typeof SweepSpecSchema>;

/**
 * A backfill's runs are one per entity and workflow VERSION: a second backfill of the same version,
 * minutes or days later, starts runs only for entities that match now and were not started before
 * (new ones, or ones the first did not reach); after the workflow is saved as a new version, a
 * backfill runs the new version over everything that matches again — the deliberate "run my
 * changed workflow over what matches" a user asks for (the builder previews the count first). Run
 * objects are deleted with their runs after RETENTION_DAYS, and with them that memory.
 */
export const backfillEventPrefix = (workflowId: string, version: number) => `backfill:${workflowId}:v${version}:`;
/** A schedule tick's runs: one per entity and tick minute. */
export const scheduleEventPrefix = (workflowId: string, minute: string) => `sched:${workflowId}:${minute}:`;

/** The trigger type of a sweep's runs: `inventory_item.backfill`, `product.scheduled`. */
export const sweepTriggerType = (spec: Pick<SweepSpec, "kind" | "entity">) => `${spec.entity}.${spec.kind === "backfill" ? "backfill" : "scheduled"}`;

/** What one page did. */
export interface PageResult {
  examined: number;
  matched: number;
  started: number;
  duplicates: number;
  errors: number;
  /** The last entity id read, where the next page starts; null when the mirror has no more. */
  cursor: string | null;
  /** An entity matched beyond the sweep's limit: the sweep ends with matches left out. */
  limited: boolean;
}

const tagsOf = (data: Record<string, unknown>): string[] => (Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : []);

/**
 * The tag whose index a sweep reads through: one that every matching entity carries. Without one,
 * every live entity of the kind is read.
 */
function indexTag(t: Definition["trigger"]): string | undefined {
  return t.tags.include.length === 1 || (t.tags.match === "all" && t.tags.include.length > 0) ? t.tags.include[0] : undefined;
}

/** The trigger of one entity's run in a sweep. */
export function sweepTrigger(spec: SweepSpec, entityId: string, data: Record<string, unknown>, related: TriggerInfo["related"]): TriggerInfo {
  return {
    id: `${spec.event_prefix}${entityId}`,
    type: sweepTriggerType(spec),
    entity: spec.entity,
    entity_id: entityId,
    occurred_at: spec.at,
    data: { ...data, id: entityId },
    previous: null,
    related,
  };
}

/**
 * Whether an entity's snapshot matches the trigger's tags and conditions at the sweep's time. A
 * sweep is no event: the trigger's event kinds do not filter it; it is seen as an `updated` one,
 * as the preview of "matching now" sees it (SPEC §13).
 */
export function sweepMatches(def: Definition, spec: SweepSpec, trigger: TriggerInfo): boolean {
  const at = new Date(spec.at);
  const scope = {
    trigger,
    steps: {},
    workflow: { id: spec.workflow_id, name: def.name, version: spec.version },
    run: { id: "" },
    now: at.toISOString(),
    today: utcDate(at),
  };
  const data = trigger.data as Record<string, unknown>;
  return matchesTrigger({ ...def.trigger, events: ["updated"] }, { entity: spec.entity, kind: "updated", tags: tagsOf(data), scope });
}

/**
 * One page of a sweep from `cursor`: reads up to PAGE_ENTITIES entities and their related ones
 * (two D1 round trips), starts a run for each that matches, up to `remaining`. A start that fails
 * is counted in `errors` and logged, and the sweep goes on: started again, a sweep starts just what
 * is missing. Throws when the mirror cannot be read (the page is then tried again).
 */
export async function sweepPage(env: Env, def: Definition, spec: SweepSpec, cursor: string | null, remaining: number): Promise<PageResult> {
  const entity: EntityKind = spec.entity;
  const rows = await listEntities(env.DB, entity, { tag: indexTag(def.trigger), limit: PAGE_ENTITIES, after: cursor ?? undefined });
  const out: PageResult = { examined: 0, matched: 0, started: 0, duplicates: 0, errors: 0, cursor: rows.length < PAGE_ENTITIES ? null : rows.at(-1)!.id, limited: false };
  if (rows.length === 0) return out;
  const related = await readRelated(env.DB, rows.map((r) => ({ entity, data: { ...r.data, id: r.id } })));
  const starts: TriggerInfo[] = [];
  for (const [i, row] of rows.entries()) {
    const trigger = sweepTrigger(spec, row.id, row.data, related[i]);
    const matches = sweepMatches(def, spec, trigger);
    if (!matches) {
      out.examined += 1;
      continue;
    }
    if (starts.length >= remaining) {
      // One match past the limit: the sweep ends here, with more left that matched.
      out.limited = true;
      break;
    }
    out.examined += 1;
    starts.push(trigger);
  }
  out.matched = starts.length;
  await pool(starts, START_CONCURRENCY, async (trigger) => {
    try {
      const { created } = await startRun(env, { workflowId: spec.workflow_id, version: spec.version, controls: def.controls, trigger });
      if (created) out.started += 1;
      else out.duplicates += 1;
    } catch (err) {
      out.errors += 1;
      logError("sweep_start", err, { sweep: spec.id, workflow_id: spec.workflow_id, event_id: trigger.id });
    }
  });
  return out;
}
