import { z } from "zod";
import { MAX_SWEEP_RUNS, scheduleEventPrefix, type SweepSpec } from "../backfill/sweep";
import type { Definition } from "../contract/definition";
import { SCHEDULE_INDEX_ENTITY, type Schedule } from "../definition/trigger";
import type { TriggerInfo } from "../engine/run-state";
import { startRun } from "../flow/admit";
import { cronMatches, parseCron, type Cron } from "../lib/cron";
import { pool } from "../lib/pool";
import { log, logError } from "../log";
import { getDefinitions } from "../workflows/store";

/*
 * The schedules of SPEC §15 at one minute tick of the Worker's Cron Trigger (worker/scheduled.ts).
 * The active scheduled workflows are one read of the trigger index (SCHEDULE_INDEX_ENTITY); those
 * whose cron names the tick's minute start:
 *   - `each: "tick"`: one run, event id `sched:<workflow>:<minute>`;
 *   - `each: "entity"`: a sweep of the mirror (backfill/sweep.ts) in the BackfillObject named
 *     `sched:<workflow>:<minute>`, which starts one run per matching entity with event id
 *     `sched:<workflow>:<minute>:<entity id>`, a page per alarm, however many entities there are.
 * Both names come from the workflow and the minute only, so a tick fired twice (or retried after a
 * failure) starts nothing twice: startRun and the sweep object are idempotent by name. A tick that
 * never fires is not caught up.
 */

/** Due workflows one tick handles: each is one subrequest (a start, or a sweep object), of the 1,000 an invocation may make. */
export const MAX_DUE_PER_TICK = 500;
const CONCURRENCY = 16;

const IndexRowSchema = z.object({ workflow_id: z.string(), version: z.int() });

/** The tick's minute as an ISO timestamp: every name and event id of the tick uses it. */
export const tickMinute = (scheduledTime: number) => new Date(Math.floor(scheduledTime / 60_000) * 60_000).toISOString();

export const scheduleSweepName = (workflowId: string, minute: string) => `sched:${workflowId}:${minute}`;

/** The trigger of an `each: "tick"` run: the tick itself. */
export function tickTrigger(workflowId: string, minute: string, schedule: Schedule): TriggerInfo {
  return {
    id: scheduleSweepName(workflowId, minute),
    type: "schedule.tick",
    entity: "schedule",
    entity_id: minute,
    occurred_at: minute,
    data: { id: minute, scheduled_at: minute, cron: schedule.cron },
    previous: null,
  };
}

/** Parsed crons by expression: an isolate parses each once. */
const crons = new Map<string, Cron>();
function cronOf(expression: string): Cron {
  let cron = crons.get(expression);
  if (!cron) {
    cron = parseCron(expression);
    if (crons.size > 1000) crons.clear();
    crons.set(expression, cron);
  }
  return cron;
}

export interface TickResult {
  /** Active scheduled workflows. */
  scheduled: number;
  /** Of those, the ones whose cron names this minute. */
  due: number;
  /** Runs started (`each: "tick"`) and sweeps begun (`each: "entity"`) now; not the ones found from a first firing. */
  runs: number;
  sweeps: number;
  failed: number;
}

/** Handles the tick at `scheduledTime` (epoch ms); throws when the index cannot be read, so the tick shows failed. */
export async function runSchedules(env: Env, scheduledTime: number): Promise<TickResult> {
  const minute = tickMinute(scheduledTime);
  const at = new Date(minute);
  const rows = z
    .array(IndexRowSchema)
    .parse((await env.DB.prepare("SELECT workflow_id, version FROM trigger_index WHERE entity = ?").bind(SCHEDULE_INDEX_ENTITY).all()).results);
  const result: TickResult = { scheduled: rows.length, due: 0, runs: 0, sweeps: 0, failed: 0 };
  if (rows.length === 0) return result;
  const defs = await getDefinitions(env.DB, rows.map((r) => ({ workflowId: r.workflow_id, version: r.version })));
  const due: { workflowId: string; version: number; def: Definition; schedule: Schedule }[] = [];
  for (const r of rows) {
    const def = defs.get(`${r.workflow_id}@${r.version}`);
    if (def === undefined) continue;
    if (def instanceof Error) {
      logError("schedule_definition", def, { workflow_id: r.workflow_id, minute });
      result.failed += 1;
      continue;
    }
    const schedule = def.trigger.schedule;
    if (schedule && cronMatches(cronOf(schedule.cron), at)) due.push({ workflowId: r.workflow_id, version: r.version, def, schedule });
  }
  result.due = due.length;
  // Oldest workflows first (ids sort by creation time), so a bound reached always drops the same ones.
  due.sort((a, b) => (a.workflowId < b.workflowId ? -1 : 1));
  if (due.length > MAX_DUE_PER_TICK) {
    logError("schedule_overflow", new Error(`${due.length} scheduled workflows are due in one minute; ${MAX_DUE_PER_TICK} start`), { minute, due: due.length });
    result.failed += due.length - MAX_DUE_PER_TICK;
    due.length = MAX_DUE_PER_TICK;
  }
  await pool(due, CONCURRENCY, async ({ workflowId, version, def, schedule }) => {
    try {
      if (schedule.each === "tick") {
        const { created } = await startRun(env, { workflowId, version, controls: def.controls, trigger: tickTrigger(workflowId, minute, schedule) });
        if (created) result.runs += 1;
        return;
      }
      const name = scheduleSweepName(workflowId, minute);
      const spec: SweepSpec = {
        id: name,
        kind: "schedule",
        workflow_id: workflowId,
        version,
        entity: def.trigger.entity,
        event_prefix: scheduleEventPrefix(workflowId, minute),
        at: minute,
        limit: MAX_SWEEP_RUNS,
      };
      const { created } = await env.BACKFILLS.get(env.BACKFILLS.idFromName(name)).begin(spec);
      if (created) result.sweeps += 1;
    } catch (err) {
      result.failed += 1;
      logError("schedule_start", err, { workflow_id: workflowId, minute });
    }
  });
  if (result.due > 0 || result.failed > 0) log("schedules", { minute, ...result });
  if (result.failed > 0) throw new Error(`${result.failed} scheduled workflows could not start at ${minute}`);
  return result;
}
