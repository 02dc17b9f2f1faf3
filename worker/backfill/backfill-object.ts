import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { config } from "../config";
import { BACKFILL_STATUSES } from "../contract/backfill";
import { db } from "../db/sql";
import { log, logError } from "../log";
import { getDefinitions, getWorkflow } from "../workflows/store";
import { sweepPage, SweepSpecSchema, type SweepSpec } from "./sweep";

/*
 * One sweep (sweep.ts) with durable progress: a Durable Object named by the backfill id, or by the
 * schedule tick (scheduleSweepName), that walks the mirror a page per alarm and keeps its counts
 * and cursor in its storage after every page. A page is the unit of work: an alarm that dies in a
 * page does it again, and the runs it had started are found by their event ids (duplicates, not
 * new runs). Every call goes through one chain, so an alarm the runtime fires and one a test runs
 * never walk the same page at once.
 *
 * running → done | cancelled | failed. A finished sweep keeps its record (GET answers it) for
 * RETENTION_DAYS (a backfill) or SCHEDULE_KEEP_MS (a tick), then deletes its storage.
 */

export const SweepProgressSchema = SweepSpecSchema.extend({
  status: z.enum(BACKFILL_STATUSES),
  /** The last entity id walked; null before the first page. */
  cursor: z.string().nullable(),
  examined: z.int(),
  matched: z.int(),
  started: z.int(),
  duplicates: z.int(),
  errors: z.int(),
  /** More entities matched than the limit allowed. */
  limit_reached: z.boolean(),
  created_at: z.iso.datetime(),
  finished_at: z.iso.datetime().nullable(),
  /** Why a sweep ended before walking every entity. */
  reason: z.string().nullable(),
  /** Pages that failed in a row (the mirror could not be read): each waits longer. */
  failures: z.int(),
});
export type SweepProgress = z.infer<typeof SweepProgressSchema>;

const STATE = "sweep";
const DAY_MS = 86_400_000;
/** A schedule tick's record is kept this long: a tick fired again in that time finds it. */
export const SCHEDULE_KEEP_MS = 2 * DAY_MS;
/** Failed pages in a row after which the sweep gives up (started again, it starts only what is missing). */
const MAX_FAILURES = 8;
const backoffMs = (failures: number) => Math.min(5 * 60_000, 1_000 * 2 ** failures);

export class BackfillObject extends DurableObject<Env> {
  private readonly kv = this.ctx.storage.kv;
  private chain: Promise<unknown> = Promise.resolve();
  /** Time as an input: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now() };

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private read(): SweepProgress | null {
    const raw = this.kv.get(STATE);
    return raw === undefined ? null : SweepProgressSchema.parse(raw);
  }

  private write(p: SweepProgress): void {
    this.kv.put(STATE, p);
  }

  /** Starts the sweep, unless this object holds one already (the same backfill or tick asked again). */
  async begin(raw: z.input<typeof SweepSpecSchema>): Promise<{ progress: SweepProgress; created: boolean }> {
    return this.serial(async () => {
      const held = this.read();
      if (held) return { progress: held, created: false };
      const spec: SweepSpec = SweepSpecSchema.parse(raw);
      const now = this.clock.now();
      const progress: SweepProgress = {
        ...spec,
        status: "running",
        cursor: null,
        examined: 0,
        matched: 0,
        started: 0,
        duplicates: 0,
        errors: 0,
        limit_reached: false,
        created_at: new Date(now).toISOString(),
        finished_at: null,
        reason: null,
        failures: 0,
      };
      this.write(progress);
      await this.ctx.storage.setAlarm(now);
      log("sweep", { sweep: spec.id, sweep_kind: spec.kind, workflow_id: spec.workflow_id, version: spec.version, status: "running", limit: spec.limit });
      return { progress, created: true };
    });
  }

  /** The sweep's progress, once a page in flight has been written; null when this object holds none. */
  async progress(): Promise<SweepProgress | null> {
    return this.serial(async () => this.read());
  }

  /** Stops starting runs (runs already started go on). A finished sweep stays as it is. */
  async cancel(): Promise<SweepProgress | null> {
    return this.serial(async () => {
      const p = this.read();
      if (!p || p.status !== "running") return p;
      return this.finish(p, "cancelled", "Cancelled");
    });
  }

  override async alarm(): Promise<void> {
    await this.serial(() => this.step());
  }

  private async step(): Promise<void> {
    const p = this.read();
    if (!p) return;
    const now = this.clock.now();
    if (p.status !== "running") {
      const expiry = this.expiry(p);
      if (now >= expiry) await this.ctx.storage.deleteAll();
      else await this.ctx.storage.setAlarm(expiry);
      return;
    }
    try {
      const wf = await getWorkflow(db(this.env.DB), p.workflow_id);
      if (!wf || wf.status !== "active") {
        await this.finish(p, "cancelled", `The workflow is ${wf ? wf.status : "gone"}: runs start only while it is active`);
        return;
      }
      const def = (await getDefinitions(this.env.DB, [{ workflowId: p.workflow_id, version: p.version }])).get(`${p.workflow_id}@${p.version}`);
      if (def === undefined || def instanceof Error) {
        await this.finish(p, "failed", def?.message ?? `Workflow ${p.workflow_id} has no version ${p.version}`);
        return;
      }
      const page = await sweepPage(this.env, def, p, p.cursor, p.limit - p.matched);
      const next: SweepProgress = {
        ...p,
        cursor: page.cursor ?? p.cursor,
        examined: p.examined + page.examined,
        matched: p.matched + page.matched,
        started: p.started + page.started,
        duplicates: p.duplicates + page.duplicates,
        errors: p.errors + page.errors,
        limit_reached: page.limited,
        failures: 0,
      };
      if (page.limited || page.cursor === null || next.matched >= next.limit) {
        await this.finish(next, "done", null);
        return;
      }
      this.write(next);
      await this.ctx.storage.setAlarm(now);
    } catch (err) {
      const failures = p.failures + 1;
      logError("sweep_page", err, { sweep: p.id, workflow_id: p.workflow_id, failures });
      if (failures >= MAX_FAILURES) {
        await this.finish({ ...p, failures }, "failed", `Reading the mirror failed ${failures} times in a row: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      this.write({ ...p, failures });
      await this.ctx.storage.setAlarm(now + backoffMs(failures));
    }
  }

  private expiry(p: SweepProgress): number {
    const keep = p.kind === "backfill" ? config(this.env).RETENTION_DAYS * DAY_MS : SCHEDULE_KEEP_MS;
    return Date.parse(p.finished_at ?? p.created_at) + keep;
  }

  private async finish(p: SweepProgress, status: Exclude<SweepProgress["status"], "running">, reason: string | null): Promise<SweepProgress> {
    const done: SweepProgress = { ...p, status, reason, finished_at: new Date(this.clock.now()).toISOString() };
    this.write(done);
    await this.ctx.storage.setAlarm(this.expiry(done));
    log("sweep", {
      sweep: p.id,
      sweep_kind: p.kind,
      workflow_id: p.workflow_id,
      status,
      examined: done.examined,
      matched: done.matched,
      started: done.started,
      duplicates: done.duplicates,
      errors: done.errors,
      reason,
    });
    return done;
  }
}
