import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { config } from "../config";
import { db } from "../db/sql";
import { CAP_KINDS, capCount, CapKindSchema, type CapKind } from "../definition/controls";
import { utcDate } from "../definition/date-spec";
import type { ActionContext } from "../engine/step";
import { count } from "../lib/metrics";
import { log, logError } from "../log";
import { sendInternalEmail } from "../nodes/send-internal-email";
import { stepDeps } from "../run/deps";
import { getWorkflow, pauseByEngine } from "../workflows/store";
import { ReserveSchema, UNCAPPED, type ReserveAnswer, type ReserveRequest } from "../run/caps-port";

const DAY_MS = 86_400_000;
/** Days kept before today: a step retried later than this counts again (retries take hours at most). */
export const KEEP_DAYS = 3;
/** A trip whose pause or email failed is tried again after this, doubling up to MAX_RETRY_MS. */
const RETRY_MS = 30_000;
const MAX_RETRY_MS = 3_600_000;
/** Continued deliveries (one recipient refused transiently after others got it) tried in one go. */
const EMAIL_ROUNDS = 5;

const SCHEMA = [
  // Units counted per UTC day and kind.
  "CREATE TABLE IF NOT EXISTS counts (day TEXT NOT NULL, kind TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (day, kind)) WITHOUT ROWID",
  // Every answer given, so that the same step asking again gets it again and counts nothing.
  `CREATE TABLE IF NOT EXISTS asks (run_id TEXT NOT NULL, node_id TEXT NOT NULL, kind TEXT NOT NULL, part TEXT NOT NULL,
     day TEXT NOT NULL, units INTEGER NOT NULL, ok INTEGER NOT NULL, used INTEGER NOT NULL, cap INTEGER NOT NULL,
     PRIMARY KEY (run_id, node_id, kind, part)) WITHOUT ROWID`,
  "CREATE INDEX IF NOT EXISTS asks_day ON asks (day)",
  // A refusal's consequences, recorded with it and worked off until done: pause the workflow, tell the team.
  `CREATE TABLE IF NOT EXISTS trips (day TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, workflow_id TEXT NOT NULL,
     run_id TEXT NOT NULL, node_id TEXT NOT NULL, cap INTEGER NOT NULL, used INTEGER NOT NULL, units INTEGER NOT NULL,
     tripped_at TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0, due_at INTEGER NOT NULL, paused TEXT, email TEXT,
     checkpoint TEXT, done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, kind, seq)) WITHOUT ROWID`,
];

const AskRow = z.object({ ok: z.number(), used: z.number(), cap: z.number() });

/** What the trip's email came to. */
const EmailOutcomeSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("sent"), message_id: z.string(), to: z.array(z.string()), raw: z.string() }),
  /** Not sent, and never will be: INTERNAL_EMAILS is empty or unusable, or the workflow was already paused. */
  z.object({ status: z.literal("not_sent"), reason: z.string() }),
]);
type EmailOutcome = z.infer<typeof EmailOutcomeSchema>;

/** A TEXT column holding JSON, parsed with `schema`. */
const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((s, ctx): unknown => {
      try {
        return JSON.parse(s);
      } catch {
        ctx.addIssue({ code: "custom", message: "Not JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** How a trip's pause went: the engine paused it now, it was paused already, or it is in another status (a draft's test run) or gone. */
const PausedSchema = z.enum(["paused_now", "was_paused", "draft", "active", "archived", "gone"]);

const TripRow = z.object({
  day: z.string(),
  kind: CapKindSchema,
  seq: z.number(),
  workflow_id: z.string(),
  run_id: z.string(),
  node_id: z.string(),
  cap: z.number(),
  used: z.number(),
  units: z.number(),
  tripped_at: z.string(),
  tries: z.number(),
  due_at: z.number(),
  paused: PausedSchema.nullable(),
  email: json(EmailOutcomeSchema).nullable(),
  checkpoint: json(z.unknown()).nullable(),
  done: z.number().transform((n) => n === 1),
});
export type Trip = z.infer<typeof TripRow>;

/** The reason a workflow paused by a cap shows (`paused_reason`). */
export const capReason = (kind: CapKind, cap: number) => `Daily cap reached: at most ${capCount(kind, cap)} a day`;

/**
 * The daily safety caps (SPEC §14) of one workflow (`idFromName(workflowId)`), for all its keys
 * and versions together: how many emails, pushes, plan units, discount codes and webhook calls it
 * spent per UTC day, and what happens when one would pass its cap.
 *
 * Invariants: an answer is decided and stored in one synchronous turn (the count, the answer by
 * (run, node, kind, part), and the trip of a refusal, with its alarm), so that a step asking again
 * gets the same answer and an effect is counted once whatever the retries. A trip is worked off
 * — pause the workflow, email the team once — by the call that made it and, until it is done, by
 * the alarm: a crash loses neither. Trips are worked off one at a time. The first trip of a day
 * and kind emails the team; a later one (a run still in flight, or the workflow resumed the same
 * day) only when it paused the workflow again.
 */
export class CapsObject extends DurableObject<Env> {
  /** Time as an input: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now() };
  private readonly sql = this.ctx.storage.sql;
  private working: Promise<void> = Promise.resolve();
  /** The day old rows were last pruned for, in this instance. */
  private prunedOn: string | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    for (const statement of SCHEMA) this.sql.exec(statement);
  }

  /**
   * Spends `units` of `kind` on `day` unless that passes `limit`. The first refusal while no trip
   * of the day and kind is open records one, and the answer waits until it is worked off.
   */
  async reserve(raw: ReserveRequest): Promise<ReserveAnswer> {
    const { answer, tripped } = this.record(raw);
    if (tripped) await this.work().catch((err) => logError("cap_trip_work", err));
    return answer;
  }

  /** What each kind spent on `day` (UTC), for the workflow's stats. */
  async usage(day: string): Promise<{ used: Record<CapKind, number> }> {
    const d = z.iso.date().parse(day);
    const used = Object.fromEntries(CAP_KINDS.map((k) => [k, 0])) as Record<CapKind, number>;
    for (const row of this.sql.exec("SELECT kind, used FROM counts WHERE day = ?", d).toArray()) {
      const { kind, used: n } = z.object({ kind: CapKindSchema, used: z.number() }).parse(row);
      used[kind] = n;
    }
    return { used };
  }

  /** The trips of `day`, oldest first: what was refused, what was paused, what the team was sent. */
  async trips(day: string): Promise<Omit<Trip, "checkpoint">[]> {
    const d = z.iso.date().parse(day);
    return this.sql
      .exec("SELECT * FROM trips WHERE day = ? ORDER BY kind, seq", d)
      .toArray()
      .map((row) => {
        const { checkpoint: _checkpoint, ...trip } = TripRow.parse(row);
        return trip;
      });
  }

  override async alarm(): Promise<void> {
    try {
      await this.work();
    } catch (err) {
      // workerd retries a throwing alarm only a few times: keep the trips alive by re-arming.
      logError("caps_alarm", err);
      await this.ctx.storage.setAlarm(this.clock.now() + RETRY_MS);
    }
  }

  /** The answer, decided and stored in this synchronous turn with the trip it makes and the alarm that backs the trip up. */
  private record(raw: ReserveRequest): { answer: ReserveAnswer; tripped: boolean } {
    const r = ReserveSchema.parse(raw);
    if (r.units === 0) return { answer: { ok: true, used: this.usedOn(r.day, r.kind) }, tripped: false };
    const decided = this.ctx.storage.transactionSync(() => this.decide(r));
    if (decided.tripped) {
      // Should this instance die before the trip is worked off, the alarm does it.
      void this.ctx.storage.setAlarm(this.clock.now() + RETRY_MS);
      count("cap_trips");
    }
    return decided;
  }

  private usedOn(day: string, kind: CapKind): number {
    const row = this.sql.exec("SELECT used FROM counts WHERE day = ? AND kind = ?", day, kind).toArray()[0];
    return row === undefined ? 0 : z.object({ used: z.number() }).parse(row).used;
  }

  private decide(r: z.output<typeof ReserveSchema>): { answer: ReserveAnswer; tripped: boolean } {
    const asked = this.sql.exec("SELECT ok, used, cap FROM asks WHERE run_id = ? AND node_id = ? AND kind = ? AND part = ?", r.run_id, r.node_id, r.kind, r.part).toArray()[0];
    if (asked !== undefined) {
      const a = AskRow.parse(asked);
      return { answer: a.ok ? { ok: true, used: a.used } : { ok: false, used: a.used, limit: a.cap }, tripped: false };
    }
    this.prune();
    const before = this.usedOn(r.day, r.kind);
    const ok = before + r.units <= r.limit;
    const used = ok ? before + r.units : before;
    if (ok) {
      this.sql.exec("INSERT INTO counts (day, kind, used) VALUES (?, ?, ?) ON CONFLICT (day, kind) DO UPDATE SET used = excluded.used", r.day, r.kind, used);
    }
    this.sql.exec(
      "INSERT INTO asks (run_id, node_id, kind, part, day, units, ok, used, cap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      r.run_id, r.node_id, r.kind, r.part, r.day, r.units, ok ? 1 : 0, used, r.limit,
    );
    if (ok) return { answer: { ok: true, used }, tripped: false };
    return { answer: { ok: false, used, limit: r.limit }, tripped: this.trip(r, used) };
  }

  /** Records a trip unless one of the day and kind is still being worked off. */
  private trip(r: z.output<typeof ReserveSchema>, used: number): boolean {
    const last = this.sql.exec("SELECT seq, done FROM trips WHERE day = ? AND kind = ? ORDER BY seq DESC LIMIT 1", r.day, r.kind).toArray()[0];
    const prior = last === undefined ? undefined : z.object({ seq: z.number(), done: z.number() }).parse(last);
    if (prior && prior.done === 0) return false;
    const now = this.clock.now();
    this.sql.exec(
      "INSERT INTO trips (day, kind, seq, workflow_id, run_id, node_id, cap, used, units, tripped_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      r.day, r.kind, (prior?.seq ?? 0) + 1, r.workflow_id, r.run_id, r.node_id, r.limit, used, r.units, new Date(now).toISOString(), now,
    );
    return true;
  }

  /** Deletes what is older than KEEP_DAYS, once a day; a trip not worked off yet is kept. */
  private prune() {
    const now = this.clock.now();
    const today = utcDate(new Date(now));
    if (this.prunedOn === today) return;
    const cutoff = utcDate(new Date(now - KEEP_DAYS * DAY_MS));
    this.sql.exec("DELETE FROM counts WHERE day < ?", cutoff);
    this.sql.exec("DELETE FROM asks WHERE day < ?", cutoff);
    this.sql.exec("DELETE FROM trips WHERE day < ? AND done = 1", cutoff);
    this.prunedOn = today;
  }

  /** Works off the open trips that are due, one call at a time, then arms the alarm for what is left. */
  private work(): Promise<void> {
    const run = this.working.then(async () => {
      const now = this.clock.now();
      const due = this.sql.exec("SELECT * FROM trips WHERE done = 0 AND due_at <= ? ORDER BY due_at", now).toArray().map((row) => TripRow.parse(row));
      for (const trip of due) {
        try {
          await this.settle(trip);
        } catch (err) {
          const tries = trip.tries + 1;
          const wait = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (tries - 1));
          logError("cap_trip", err, { workflow_id: trip.workflow_id, day: trip.day, cap_kind: trip.kind, seq: trip.seq, tries, retry_in_ms: wait });
          this.sql.exec("UPDATE trips SET tries = ?, due_at = ? WHERE day = ? AND kind = ? AND seq = ?", tries, this.clock.now() + wait, trip.day, trip.kind, trip.seq);
        }
      }
      const next = z.object({ at: z.number().nullable() }).parse(this.sql.exec("SELECT min(due_at) AS at FROM trips WHERE done = 0").one()).at;
      await (next === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(Math.max(next, this.clock.now())));
    });
    this.working = run.catch(() => undefined);
    return run;
  }

  /** Pauses the workflow, then emails the team; each outcome is stored as soon as it is known. Throws to be tried again. */
  private async settle(trip: Trip): Promise<void> {
    const key = [trip.day, trip.kind, trip.seq] as const;
    const d = db(this.env.DB);
    const reason = capReason(trip.kind, trip.cap);
    let paused = trip.paused;
    if (paused === null) {
      const now = await pauseByEngine(d, trip.workflow_id, reason, new Date(this.clock.now()));
      const wf = now ? undefined : await getWorkflow(d, trip.workflow_id);
      paused = now ? "paused_now" : !wf ? "gone" : wf.status === "paused" ? "was_paused" : wf.status;
      this.sql.exec("UPDATE trips SET paused = ? WHERE day = ? AND kind = ? AND seq = ?", paused, ...key);
      log("cap_tripped", { workflow_id: trip.workflow_id, day: trip.day, cap_kind: trip.kind, cap: trip.cap, used: trip.used, run_id: trip.run_id, node_id: trip.node_id, paused });
    }
    let email = trip.email;
    if (email === null) {
      // Once per day and kind; after that only a pause of a workflow someone resumed is news.
      const wanted = trip.seq === 1 || paused === "paused_now";
      email = wanted ? await this.tellTeam(trip, paused, reason) : { status: "not_sent", reason: "The workflow was already paused" };
      if (email.status === "not_sent") log("cap_email_not_sent", { workflow_id: trip.workflow_id, day: trip.day, cap_kind: trip.kind, seq: trip.seq, reason: email.reason });
    }
    this.sql.exec("UPDATE trips SET email = ?, checkpoint = NULL, done = 1 WHERE day = ? AND kind = ? AND seq = ?", JSON.stringify(email), ...key);
  }

  /**
   * The internal email of a trip, sent as send_internal_email sends one (same checks of
   * INTERNAL_EMAILS, one envelope per address, progress kept across tries, the same Message-ID on
   * every try). Not capped itself. Throws when the email service failed transiently.
   */
  private async tellTeam(trip: Trip, paused: NonNullable<Trip["paused"]>, reason: string): Promise<EmailOutcome> {
    const cfg = config(this.env);
    if (cfg.INTERNAL_EMAILS.length === 0) return { status: "not_sent", reason: "INTERNAL_EMAILS is empty" };
    const wf = await getWorkflow(db(this.env.DB), trip.workflow_id);
    const name = wf?.name ?? trip.workflow_id;
    const link = cfg.PUBLIC_URL ? `${cfg.PUBLIC_URL}/workflows/${encodeURIComponent(trip.workflow_id)}` : `/workflows/${trip.workflow_id} in the app (set PUBLIC_URL for a full link)`;
    const state =
      paused === "paused_now" || paused === "was_paused"
        ? "The workflow is paused: no new run starts until someone resumes it. Resuming it is your decision; the count starts again at 00:00 UTC."
        : paused === "gone"
          ? "The workflow no longer exists."
          : `The workflow is ${paused}, so it was not paused (a test run reached the cap).`;
    const body = [
      `The workflow "${name}" (${trip.workflow_id}) reached its daily cap of ${capCount(trip.kind, trip.cap)} on ${trip.day} (UTC).`,
      `${trip.used} were used; step "${trip.node_id}" of run ${trip.run_id} asked for ${trip.units} more and failed with cap_exceeded.`,
      "",
      state,
      `Reason shown on the workflow: ${reason}`,
      "",
      `Open the workflow: ${link}`,
    ].join("\n");
    const subject = `${paused === "paused_now" || paused === "was_paused" ? "Paused: " : ""}"${name}" reached its daily cap of ${capCount(trip.kind, trip.cap)}`;
    const deps = { ...stepDeps(this.env).deps, caps: UNCAPPED };
    let checkpoint = trip.checkpoint;
    for (let round = 1; round <= EMAIL_ROUNDS; round++) {
      const ctx: ActionContext = {
        runId: trip.run_id,
        workflowId: trip.workflow_id,
        nodeId: `cap_${trip.kind}`,
        attempt: trip.tries + 1,
        // Stable across tries: the same Message-ID, so a copy sent again after a crash can be recognised.
        idempotencyKey: `cap:${trip.workflow_id}:${trip.day}:${trip.kind}:${trip.seq}`,
        test: false,
        now: new Date(this.clock.now()),
        signal: new AbortController().signal,
        trigger: { id: "", type: "workflow.cap_exceeded", entity: "workflow", entity_id: trip.workflow_id, occurred_at: trip.tripped_at, data: {}, previous: null },
        checkpoint,
        log: (message) => log("cap_email", { workflow_id: trip.workflow_id, cap_kind: trip.kind, message }),
      };
      const result = await sendInternalEmail.execute({ subject, format: "text", body }, ctx, deps);
      if (result.ok === true) {
        const out = z.object({ message_id: z.string(), to: z.array(z.string()) }).parse(result.output);
        count("cap_emails_sent");
        return { status: "sent", message_id: out.message_id, to: out.to, raw: result.artifact?.content ?? "" };
      }
      if (result.ok === false) {
        if (!result.retryable) return { status: "not_sent", reason: result.error };
        throw new Error(`The internal email was not sent: ${result.error}`);
      }
      if (result.ok === "await") throw new Error("An internal email awaits nothing");
      // Some addresses have it: never again to them, whatever happens next.
      checkpoint = result.checkpoint;
      this.sql.exec("UPDATE trips SET checkpoint = ? WHERE day = ? AND kind = ? AND seq = ?", JSON.stringify(checkpoint), trip.day, trip.kind, trip.seq);
    }
    throw new Error("The internal email is still being delivered");
  }
}
