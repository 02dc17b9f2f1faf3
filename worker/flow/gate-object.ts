import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { utcDate } from "../definition/date-spec";
import { ControlsSchema, gateName, WAITING_FOR, type Controls, type WaitingFor } from "../definition/controls";
import { TriggerInfoSchema, type TriggerInfo } from "../engine/run-state";
import { count } from "../lib/metrics";
import { log, logError } from "../log";
import { admit, arrive, throttleWindow } from "./gate-rules";

/*
 * The flow-control gate of one workflow and key (SPEC §14): a Durable Object named by
 * `gateName(workflow, key)`, the one place that decides when runs of that key start.
 *
 * Every event of a gated workflow is offered here; the gate answers once its decision is in its
 * own storage, so the consumer can acknowledge the event: from then on the gate owns it. A run
 * exists from the moment the gate accepts its event (status pending, `waiting_for` saying why), so
 * the runs list shows it; the gate tells the run object when to start (`RunObject.gate`) and the
 * run tells the gate when it ended (`finished`). Both calls are idempotent and retried until they
 * land: the gate retries from its alarm, the run from its own, so a kill between the two never
 * leaks a slot. As a last resort, a slot held longer than LEASE_MS is checked with the run itself.
 *
 * Entries: debounce → queued → starting → running → done. `shown` is the reason the run object
 * was last told (null: not yet told, or told something else since).
 */

/** How long a run may hold a slot before the gate asks the run whether it ended. */
export const LEASE_MS = 5 * 60_000;
/** A call to a run object that failed is tried again after this long. */
const RETRY_MS = 1_000;
/** The day counts reach D1 at most this often. */
const FLUSH_MS = 1_000;
/** Entries and folded events are kept this long after they ended, so a redelivered event is known. */
const KEEP_MS = 7 * 86_400_000;

export { gateName };

export const OfferSchema = z.object({
  workflow_id: z.string().min(1),
  workflow_version: z.int().min(1),
  key: z.string(),
  controls: ControlsSchema,
  /** The run object's name for this event: the same event always names the same run. */
  run_name: z.string().min(1),
  trigger: TriggerInfoSchema,
});
export type Offer = z.input<typeof OfferSchema>;

export type OfferAnswer = { outcome: "accepted" | "suppressed" | "folded" | "duplicate"; run_name: string | null };

type Cursor = SqlStorageCursor<Record<string, SqlStorageValue>>;
const rowsOf = <T>(schema: z.ZodType<T>, cursor: Cursor): T[] => cursor.toArray().map((row) => schema.parse(row));

const STATES = ["debounce", "queued", "starting", "running", "done"] as const;
type State = (typeof STATES)[number];

const EntrySchema = z.object({
  seq: z.int(),
  run_name: z.string(),
  run_id: z.string(),
  state: z.enum(STATES),
  reason: z.enum(WAITING_FOR).nullable(),
  shown: z.string().nullable(),
  not_before: z.int(),
  version: z.int(),
  trigger: z.string(),
  trigger_dirty: z.int(),
  delayed: z.int(),
  checked_at: z.int(),
});
type Entry = z.infer<typeof EntrySchema>;
const MetaSchema = z.object({ v: z.string() });
const CountSchema = z.object({ n: z.int() });
const DaySchema = z.object({ day: z.string(), started: z.int(), suppressed: z.int(), delayed: z.int() });

export class GateObject extends DurableObject<Env> {
  private readonly sql = this.ctx.storage.sql;
  /** Time as an input: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now() };
  private syncing: Promise<void> | null = null;
  /** The alarm this instance last set; undefined until known. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS entries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL UNIQUE,
      run_name TEXT NOT NULL,
      run_id TEXT NOT NULL UNIQUE,
      state TEXT NOT NULL,
      reason TEXT,
      shown TEXT,
      not_before INTEGER NOT NULL DEFAULT 0,
      version INTEGER NOT NULL,
      trigger TEXT NOT NULL,
      trigger_dirty INTEGER NOT NULL DEFAULT 0,
      delayed INTEGER NOT NULL DEFAULT 0,
      checked_at INTEGER NOT NULL DEFAULT 0,
      at INTEGER NOT NULL,
      ended_at INTEGER
    )`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS entries_state ON entries (state, seq)");
    // Events that started no run of their own: suppressed by a cooldown, or folded by debounce.
    this.sql.exec("CREATE TABLE IF NOT EXISTS folded (event_id TEXT PRIMARY KEY, into_seq INTEGER, at INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, started INTEGER NOT NULL DEFAULT 0, suppressed INTEGER NOT NULL DEFAULT 0, delayed INTEGER NOT NULL DEFAULT 0)");
  }

  /** Takes one event of the gate's key; answers once the decision is stored. Idempotent per event. */
  async offer(raw: Offer): Promise<OfferAnswer> {
    count("gate_rpc");
    const input = OfferSchema.parse(raw);
    const now = this.clock.now();
    const eventId = input.trigger.id;
    const known = this.known(eventId);
    if (known) {
      this.kick(); // an earlier delivery may have stored its decision and died before telling the run
      return { outcome: "duplicate", run_name: known };
    }
    this.putMeta("workflow_id", input.workflow_id);
    this.putMeta("key", input.key);
    this.putMeta("controls", JSON.stringify(input.controls));
    const controls = input.controls;
    const debouncing = rowsOf(EntrySchema, this.sql.exec("SELECT * FROM entries WHERE state = 'debounce' ORDER BY seq DESC LIMIT 1"))[0];
    const decision = arrive(controls, { now, lastAccept: Number(this.meta("last_accept") ?? 0), debouncing: debouncing !== undefined });
    let answer: OfferAnswer;
    switch (decision.kind) {
      case "suppress":
        this.sql.exec("INSERT INTO folded (event_id, into_seq, at) VALUES (?, NULL, ?)", eventId, now);
        this.bump(now, "suppressed");
        answer = { outcome: "suppressed", run_name: null };
        break;
      case "fold":
        // The waiting run takes the newer event and waits for a new quiet window.
        this.sql.exec(
          "UPDATE entries SET trigger = ?, trigger_dirty = 1, not_before = ?, version = ? WHERE seq = ?",
          JSON.stringify(input.trigger),
          decision.until,
          input.workflow_version,
          debouncing!.seq,
        );
        this.sql.exec("INSERT INTO folded (event_id, into_seq, at) VALUES (?, ?, ?)", eventId, debouncing!.seq, now);
        this.bump(now, "suppressed");
        answer = { outcome: "folded", run_name: debouncing!.run_name };
        break;
      case "debounce":
      case "queue": {
        const runId = this.env.RUNS.idFromName(input.run_name).toString();
        this.sql.exec(
          `INSERT INTO entries (event_id, run_name, run_id, state, reason, not_before, version, trigger, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          eventId,
          input.run_name,
          runId,
          decision.kind === "debounce" ? "debounce" : "queued",
          decision.kind === "debounce" ? "debounce" : null,
          decision.kind === "debounce" ? decision.until : 0,
          input.workflow_version,
          JSON.stringify(input.trigger),
          now,
        );
        this.putMeta("last_accept", String(now));
        answer = { outcome: "accepted", run_name: input.run_name };
        break;
      }
    }
    this.pump(controls, now);
    await this.sync();
    return answer;
  }

  /** A run of this gate ended (its object says so, again after a restart): its slot is free. */
  async finished(runId: string): Promise<void> {
    count("gate_rpc");
    const now = this.clock.now();
    this.sql.exec("UPDATE entries SET state = 'done', ended_at = ? WHERE run_id = ? AND state != 'done'", now, runId);
    const controls = this.controls();
    if (controls) this.pump(controls, now);
    await this.sync();
  }

  /** What the gate holds now, for tests and the stats route. */
  async snapshot(): Promise<{ key: string | null; waiting: number; running: number; by_state: Record<string, number> }> {
    const byState: Record<string, number> = {};
    for (const row of rowsOf(z.object({ state: z.string(), n: z.int() }), this.sql.exec("SELECT state, count(*) AS n FROM entries GROUP BY state"))) byState[row.state] = row.n;
    return {
      key: this.meta("key"),
      waiting: (byState.debounce ?? 0) + (byState.queued ?? 0),
      running: (byState.starting ?? 0) + (byState.running ?? 0),
      by_state: byState,
    };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = undefined; // the alarm that fired is gone
    try {
      const now = this.clock.now();
      const controls = this.controls();
      if (controls) this.pump(controls, now);
      await this.checkLeases(now);
      await this.sync();
      await this.flush();
      this.prune(now);
    } catch (err) {
      logError("gate_alarm", err, { gate: this.meta("key") });
    } finally {
      this.arm();
    }
  }

  // ------------------------------------------------------------------ decisions

  /**
   * Moves runs along as far as the controls allow now: debounce windows that went quiet join
   * the queue; queued runs start from the head while slots and the throttle allow; the rest say
   * why they wait. Synchronous: every change is in storage before any call leaves.
   */
  private pump(controls: Controls, now: number) {
    this.sql.exec("UPDATE entries SET state = 'queued', reason = NULL, not_before = 0 WHERE state = 'debounce' AND not_before <= ?", now);
    const queued = rowsOf(EntrySchema, this.sql.exec("SELECT * FROM entries WHERE state = 'queued' ORDER BY seq"));
    if (queued.length > 0) {
      const running = rowsOf(CountSchema, this.sql.exec("SELECT count(*) AS n FROM entries WHERE state IN ('starting', 'running')"))[0]!.n;
      const window = throttleWindow(controls, now);
      let windowStarts = 0;
      if (window) {
        if (Number(this.meta("window") ?? -1) !== window.window) {
          this.putMeta("window", String(window.window));
          this.putMeta("window_starts", "0");
        }
        windowStarts = Number(this.meta("window_starts") ?? 0);
      }
      const a = admit(controls, now, queued.length, running, windowStarts);
      for (const e of queued.slice(0, a.start)) {
        this.sql.exec("UPDATE entries SET state = 'starting', reason = NULL, not_before = 0, checked_at = ? WHERE seq = ?", now, e.seq);
        this.bump(now, "started");
        count("gate_starts");
      }
      if (window && a.start > 0) this.putMeta("window_starts", String(windowStarts + a.start));
      for (const e of queued.slice(a.start)) {
        const notBefore = a.reason === "throttle" ? (a.notBefore ?? 0) : 0;
        if (e.reason !== a.reason || e.not_before !== notBefore) this.sql.exec("UPDATE entries SET reason = ?, not_before = ? WHERE seq = ?", a.reason, notBefore, e.seq);
        if (a.reason === "throttle" && e.delayed === 0) {
          this.sql.exec("UPDATE entries SET delayed = 1 WHERE seq = ?", e.seq);
          this.bump(now, "delayed");
        }
      }
    }
    this.arm();
  }

  /**
   * Tells run objects what the gate decided, until each call has landed: held runs their reason
   * (and a debounced run its newer event), admitted runs to start. One pass at a time.
   */
  private sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = null;
      this.arm();
    });
    return this.syncing;
  }

  private async syncOnce() {
    const workflowId = this.meta("workflow_id");
    const key = this.meta("key");
    if (!workflowId || key === null) return;
    // Offers that arrive while a pass is out are taken by the next pass; a pass with a failure
    // stops the loop, and the alarm tries again.
    for (let pass = 0; pass < 50; pass++) {
      const todo = rowsOf(
        EntrySchema,
        this.sql.exec(
          `SELECT * FROM entries WHERE state = 'starting'
             OR (state IN ('debounce', 'queued') AND (shown IS NULL OR shown != coalesce(reason, 'queued') OR trigger_dirty = 1))
           ORDER BY seq LIMIT 100`,
        ),
      );
      if (todo.length === 0) return;
      const failures = await Promise.all(todo.map((e) => this.tell(e, workflowId, key)));
      // A run that ended while being told to start frees its slot for the next.
      const controls = this.controls();
      if (controls) this.pump(controls, this.clock.now());
      if (failures.some((ok) => !ok)) return;
    }
  }

  /** Tells one run what the gate decided for it; false when the call failed. */
  private async tell(e: Entry, workflowId: string, key: string): Promise<boolean> {
    const waiting: WaitingFor | null = e.state === "starting" ? null : (e.reason ?? "concurrency");
    try {
      const stub = this.env.RUNS.get(this.env.RUNS.idFromString(e.run_id));
      const answer = await stub.gate({
        start: { workflow_id: workflowId, workflow_version: e.version, trigger: TriggerInfoSchema.parse(JSON.parse(e.trigger)), test: false },
        flow_key: key,
        waiting_for: waiting,
        retrigger: e.trigger_dirty === 1,
      });
      const now = this.clock.now();
      if (answer.ended) {
        this.sql.exec("UPDATE entries SET state = 'done', ended_at = ? WHERE seq = ?", now, e.seq);
      } else if (e.state === "starting") {
        this.sql.exec("UPDATE entries SET state = 'running', checked_at = ? WHERE seq = ? AND state = 'starting'", now, e.seq);
      } else {
        // Told for this reason and this event; a newer event folded in meanwhile is told next pass.
        this.sql.exec("UPDATE entries SET shown = ?, trigger_dirty = 0 WHERE seq = ? AND trigger = ?", e.reason ?? "queued", e.seq, e.trigger);
      }
      return true;
    } catch (err) {
      logError("gate_sync", err, { run_id: e.run_id, state: e.state });
      return false;
    }
  }

  /** The last resort against a lost `finished`: a slot held long is checked with its run. */
  private async checkLeases(now: number) {
    const stale = rowsOf(EntrySchema, this.sql.exec("SELECT * FROM entries WHERE state = 'running' AND checked_at <= ? ORDER BY seq LIMIT 50", now - LEASE_MS));
    await Promise.all(
      stale.map(async (e) => {
        try {
          const status = await this.env.RUNS.get(this.env.RUNS.idFromString(e.run_id)).status();
          if (status === null || status === "completed" || status === "failed" || status === "cancelled") {
            this.sql.exec("UPDATE entries SET state = 'done', ended_at = ? WHERE seq = ?", now, e.seq);
            log("gate_lease_freed", { run_id: e.run_id, status });
          } else {
            this.sql.exec("UPDATE entries SET checked_at = ? WHERE seq = ?", now, e.seq);
          }
        } catch (err) {
          logError("gate_lease", err, { run_id: e.run_id });
        }
      }),
    );
    const controls = this.controls();
    if (controls && stale.length > 0) this.pump(controls, now);
  }

  // ------------------------------------------------------------------ counts

  private bump(now: number, what: "started" | "suppressed" | "delayed") {
    const day = utcDate(new Date(now));
    this.sql.exec(`INSERT INTO days (day, ${what}) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET ${what} = ${what} + 1`, day);
    this.putMeta("dirty", "1");
  }

  /** Writes the counts of the days that changed to D1, as absolute values (so writing again is harmless). */
  private async flush() {
    if (this.meta("dirty") !== "1") return;
    const workflowId = this.meta("workflow_id");
    const key = this.meta("key");
    if (!workflowId || key === null) return;
    const days = rowsOf(DaySchema, this.sql.exec("SELECT * FROM days ORDER BY day DESC LIMIT 3"));
    const waiting = rowsOf(CountSchema, this.sql.exec("SELECT count(*) AS n FROM entries WHERE state IN ('debounce', 'queued')"))[0]!.n;
    const today = utcDate(new Date(this.clock.now()));
    this.putMeta("dirty", "0");
    try {
      await this.env.DB.batch(
        days.map((d) =>
          this.env.DB.prepare(
            `INSERT INTO flow_stats (workflow_id, day, flow_key, started, suppressed, delayed, waiting, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (workflow_id, day, flow_key) DO UPDATE SET started = excluded.started, suppressed = excluded.suppressed,
               delayed = excluded.delayed, waiting = excluded.waiting, updated_at = excluded.updated_at`,
          ).bind(workflowId, d.day, key, d.started, d.suppressed, d.delayed, d.day === today ? waiting : 0, this.clock.now()),
        ),
      );
    } catch (err) {
      this.putMeta("dirty", "1");
      logError("gate_flush", err, { workflow_id: workflowId });
    }
  }

  private prune(now: number) {
    this.sql.exec("DELETE FROM entries WHERE state = 'done' AND ended_at < ?", now - KEEP_MS);
    this.sql.exec("DELETE FROM folded WHERE at < ?", now - KEEP_MS);
    this.sql.exec("DELETE FROM days WHERE day < ?", utcDate(new Date(now - KEEP_MS)));
  }

  // ------------------------------------------------------------------ storage

  /** The run an event already went to (or "" when it started none), or null for a new event. */
  private known(eventId: string): string | null {
    const entry = this.sql.exec("SELECT run_name FROM entries WHERE event_id = ?", eventId).toArray()[0];
    if (entry) return String(entry.run_name);
    const folded = this.sql.exec("SELECT e.run_name AS run_name FROM folded f LEFT JOIN entries e ON e.seq = f.into_seq WHERE f.event_id = ?", eventId).toArray()[0];
    return folded ? String(folded.run_name ?? "") : null;
  }

  private controls(): Controls | null {
    const text = this.meta("controls");
    return text ? ControlsSchema.parse(JSON.parse(text)) : null;
  }

  private meta(k: string): string | null {
    const row = rowsOf(MetaSchema, this.sql.exec("SELECT v FROM meta WHERE k = ?", k))[0];
    return row ? row.v : null;
  }

  /** Writes a setting only when it changed: every offer names its workflow, key and controls again. */
  private putMeta(k: string, v: string) {
    if (this.meta(k) === v) return;
    this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
  }

  /** Starts a sync without waiting for it (a duplicate offer must not wait on other runs). */
  private kick() {
    void this.sync().catch((err: unknown) => logError("gate_sync", err, {}));
  }

  /** One alarm for whatever is due first: a quiet window's end, a throttle period, a retry, a lease, a flush. */
  private arm() {
    const now = this.clock.now();
    const due: number[] = [];
    const next = this.sql
      .exec("SELECT min(not_before) AS t FROM entries WHERE state IN ('debounce', 'queued') AND not_before > 0")
      .toArray()[0]?.t;
    if (typeof next === "number") due.push(next);
    const unsynced = this.sql
      .exec("SELECT 1 FROM entries WHERE state = 'starting' OR (state IN ('debounce', 'queued') AND (shown IS NULL OR shown != coalesce(reason, 'queued') OR trigger_dirty = 1)) LIMIT 1")
      .toArray().length;
    if (unsynced > 0 && this.syncing === null) due.push(now + RETRY_MS);
    const lease = this.sql.exec("SELECT min(checked_at) AS t FROM entries WHERE state = 'running'").toArray()[0]?.t;
    if (typeof lease === "number") due.push(lease + LEASE_MS);
    if (this.meta("dirty") === "1") due.push(now + FLUSH_MS);
    const held = this.sql.exec("SELECT 1 FROM entries WHERE state != 'done' LIMIT 1").toArray().length;
    if (due.length === 0 && held === 0) {
      // Nothing due: wake once a day to prune, while there is anything left to prune.
      const any = this.sql.exec("SELECT 1 FROM entries LIMIT 1").toArray().length + this.sql.exec("SELECT 1 FROM folded LIMIT 1").toArray().length;
      if (any > 0) due.push(now + 86_400_000);
    }
    const at = due.length > 0 ? Math.max(now, Math.min(...due)) : null;
    if (at === this.alarmAt) return;
    this.alarmAt = at;
    void (at === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(at));
  }
}

export type { State as GateEntryState, Entry as GateEntry };
