import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { utcDate } from "../definition/date-spec";
import { matchesTrigger } from "../engine/trigger-match";
import type { TriggerInfo } from "../engine/run-state";
import { readRelated } from "../entities/related-read";
import { pool } from "../lib/pool";
import { startRun } from "../flow/admit";
import { batch } from "../db/sql";
import { count } from "../lib/metrics";
import { log, logError } from "../log";
import { getDefinitions } from "../workflows/store";
import { EpisodeStartSchema, EpisodeStateSchema, type EpisodeStart, type EpisodeState, type Wave } from "./episode";
import { indexedVersionStatement, readCount, readVersion, readPending, stockStatement, waitingStatement, writeEpisode, type PendingRow } from "./store";
import { backInStockEventId, episodeScope, nextPageSize, waveSize } from "./waves";

/** Subscriptions read per D1 page. */
export const PAGE = 200;
/**
 * Run starts one alarm invocation makes at most, then it continues in the next one: each start
 * is a subrequest (Workers allow 1,000), besides a D1 read and a related read per page and a few
 * D1 statements per invocation. 50,000 waiting subscriptions take 125 invocations.
 */
export const STARTS_PER_ALARM = 400;
const START_CONCURRENCY = 32;
/** An invocation that failed (D1 or a start threw) tries again after this. */
const RETRY_MS = 30_000;
const STATE = "episode";
/** The state (as JSON) the D1 row last got. */
const ROW = "row";
/** The id of the newer episode of the same scope that ended this one (set by supersede). */
const SUPERSEDED = "superseded_by";
/** In a scope object: the episode of the scope that sends now, and the one it ended. */
const CURRENT = "current";
const CurrentSchema = z.object({ episode: z.string(), previous: z.string().nullable() });

/** What notifying one page did: runs started (or found started), subscriptions the trigger did not match, starts that found their run already there. */
interface Notified {
  started: number;
  skipped: number;
  refused: number;
}

/**
 * One restock episode (SPEC §12) of one workflow, variant and shop scope: sends wave after wave of
 * `subscription.back_in_stock` runs, oldest pending subscription first, counting the stock again
 * before each wave and ending once it fell below min_stock or nobody is waiting.
 *
 * Invariants: the object works only in its alarm, one invocation at a time; the cursor and the
 * counts are written to storage after each page's starts, so an invocation that dies is redone
 * from the last page at most — and a redone start finds the run it named (workflow, episode,
 * subscription) and starts nothing, so nobody is notified twice. The D1 row is written at the end
 * of every invocation that changed something: the API's view lags the object by one invocation.
 *
 * One episode of a workflow, variant and shop scope sends at a time: the one started last. Stock
 * that sells out and comes back starts a new episode (a new crossing), which ends the older one
 * (`superseded`) before it sends anything, so nobody gets a wave from both. The scope's object, a
 * RestockObject named by episodeScope that holds no episode, remembers which episode is current
 * (claim); it is emptied when that episode ends (release).
 */
export class RestockObject extends DurableObject<Env> {
  /** Time as an input: tests move the clock instead of sleeping. */
  clock = { now: () => Date.now() };
  /** Tests shrink these to see an episode continue across invocations. */
  limits = { page: PAGE, startsPerAlarm: STARTS_PER_ALARM };
  private chain: Promise<void> = Promise.resolve();
  /** A start is between its first look at storage and saving the episode (it awaits the scope's claim). */
  private starting = false;

  private get state(): EpisodeState | undefined {
    const raw = this.ctx.storage.kv.get(STATE);
    return raw === undefined ? undefined : EpisodeStateSchema.parse(raw);
  }
  private save(s: EpisodeState): void {
    this.ctx.storage.kv.put(STATE, s);
  }

  /**
   * Starts the episode unless this object holds one already (the same stock event seen again),
   * after ending the episode of the same scope that sent before it. A start that fails half way is
   * retried by the consumer: the claim and the supersede are idempotent.
   */
  async start(raw: EpisodeStart): Promise<{ created: boolean }> {
    if (this.state) return { created: false };
    const input = EpisodeStartSchema.parse(raw);
    this.starting = true;
    try {
      const scope = this.env.RESTOCKS.get(this.env.RESTOCKS.idFromName(episodeScope(input)));
      const { previous } = await scope.claim(input.id);
      const ended = previous === null ? false : (await this.env.RESTOCKS.get(this.env.RESTOCKS.idFromName(previous)).supersede(input.id)).superseded;
      if (ended) {
        log("restock_superseded", { episode: previous, by: input.id });
        count("restock_episodes_superseded");
      }
    } finally {
      this.starting = false;
    }
    // A start of the same episode that ran while this one awaited saved it already.
    if (this.state) return { created: false };
    const at = new Date(this.clock.now()).toISOString();
    this.save({
      ...input,
      status: "sending",
      end_reason: null,
      started_at: at,
      updated_at: at,
      ended_at: null,
      wake_at: null,
      cursor: ["", ""],
      waves: [],
      notified: 0,
      waiting: 0,
      skipped: 0,
      refused: 0,
    });
    await this.ctx.storage.setAlarm(this.clock.now());
    count("restock_episodes_started");
    return { created: true };
  }

  /** The episode as held now (tests and debugging). */
  async snapshot(): Promise<EpisodeState | null> {
    return this.state ?? null;
  }

  /**
   * A scope object's claim: `episode` becomes the scope's current episode; the answer names the
   * one it replaces, for the new episode to end. Asked again by the same episode (a retried
   * start), it answers the same.
   */
  async claim(episode: string): Promise<{ previous: string | null }> {
    const held = CurrentSchema.optional().parse(this.ctx.storage.kv.get(CURRENT));
    if (held?.episode === episode) return { previous: held.previous };
    const previous = held?.episode ?? null;
    this.ctx.storage.kv.put(CURRENT, { episode, previous });
    return { previous };
  }

  /** A scope object's release: its current episode ended, so the scope holds nothing any more. */
  async release(episode: string): Promise<void> {
    const held = CurrentSchema.optional().parse(this.ctx.storage.kv.get(CURRENT));
    if (held?.episode === episode) await this.ctx.storage.deleteAll();
  }

  /**
   * Ends the episode because `by`, a newer episode of its scope, takes over: at once when it is
   * idle, else at the next page of the invocation at work (which checks before every page). An
   * episode being started right now is marked, and its first invocation ends it before it sends.
   * An ended episode, or an object holding none, is left as it is (and nothing is stored).
   */
  async supersede(by: string): Promise<{ superseded: boolean }> {
    const s = this.state;
    if (s?.status === "ended" || (!s && !this.starting)) return { superseded: false };
    this.ctx.storage.kv.put(SUPERSEDED, by);
    if (s) await this.invoke();
    return { superseded: true };
  }

  override async alarm(): Promise<void> {
    await this.invoke();
  }

  /** One invocation, after the one at work: an alarm's, or a supersede's. */
  private async invoke(): Promise<void> {
    const run = this.chain.then(() => this.work());
    this.chain = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      // workerd retries a throwing alarm only a few times: keep the episode alive by re-arming.
      logError("restock_alarm", err, { episode: this.state?.id });
      await this.ctx.storage.setAlarm(this.clock.now() + RETRY_MS);
    }
  }

  private get supersededBy(): string | undefined {
    return z.string().optional().parse(this.ctx.storage.kv.get(SUPERSEDED));
  }

  /** One invocation: advance the episode, then bring its D1 row up to date. */
  private async work(): Promise<void> {
    const s = this.state;
    if (!s) return;
    if (s.status === "ended") return this.syncRow(s);
    const next = await this.advance(s);
    await this.syncRow(next);
    if (next.status === "ended") await this.releaseScope(next);
  }

  /** Tells the scope's object this episode ended. Best effort: a pointer left behind only ends an ended episode again, which does nothing. */
  private async releaseScope(s: EpisodeState): Promise<void> {
    try {
      await this.env.RESTOCKS.get(this.env.RESTOCKS.idFromName(episodeScope(s))).release(s.id);
    } catch (err) {
      logError("restock_release", err, { episode: s.id });
    }
  }

  /**
   * Writes the D1 row unless it shows this state already (a failed write is tried again by the
   * next invocation). An episode that notified nobody (no one waiting, or stock gone at once) is
   * not listed.
   */
  private async syncRow(s: EpisodeState): Promise<void> {
    const shown = JSON.stringify(s);
    const row = this.ctx.storage.kv.get(ROW);
    // Unlisted, unless an earlier invocation listed it (it then shows that it ended).
    if (s.notified === 0 && s.status === "ended" && row === undefined) return;
    if (row === shown) return;
    await writeEpisode(this.env.DB, s);
    this.ctx.storage.kv.put(ROW, shown);
  }

  /** Begins a wave if one is due, notifies up to the budget, and arms what comes next. */
  private async advance(from: EpisodeState): Promise<EpisodeState> {
    let s = from;
    const now = this.clock.now();
    if (this.supersededBy !== undefined) return this.endSuperseded(s, now);
    if (s.status === "waiting") {
      if (s.wake_at !== null && now < s.wake_at) {
        await this.ctx.storage.setAlarm(s.wake_at);
        return s;
      }
      s = await this.beginWave(s, now);
    } else if (s.waves.length === 0) {
      s = await this.beginWave(s, now);
    }
    let budget = this.limits.startsPerAlarm;
    while (s.status === "sending") {
      // A newer episode took over while this invocation worked: stop before the next page.
      if (this.supersededBy !== undefined) return this.endSuperseded(s, now);
      const wave: Wave = s.waves.at(-1)!;
      const want = nextPageSize({ quota: wave.size, notified: wave.notified, page: this.limits.page, budget });
      if (want === 0 && budget > 0) {
        s = await this.endWave(s, now, "waiting");
        break;
      }
      if (want === 0) break; // out of budget: go on in the next invocation
      const page = await readPending(this.env.DB, s, want);
      const notified: Notified = page.length === 0 ? { started: 0, skipped: 0, refused: 0 } : await this.notify(s, page, wave.started_at);
      budget -= page.length;
      s = {
        ...s,
        cursor: page.length > 0 ? [page.at(-1)!.created_at, page.at(-1)!.id] : s.cursor,
        notified: s.notified + notified.started,
        skipped: s.skipped + notified.skipped,
        refused: s.refused + notified.refused,
        waves: [...s.waves.slice(0, -1), { ...wave, notified: wave.notified + notified.started }],
        updated_at: new Date(now).toISOString(),
      };
      this.save(s);
      if (page.length < want) s = await this.endWave(s, now, "ended");
    }
    if (s.status === "sending") await this.ctx.storage.setAlarm(this.clock.now());
    else if (s.status === "waiting") await this.ctx.storage.setAlarm(s.wake_at!);
    return s;
  }

  /** Counts stock (and checks the workflow is still active) and begins the next wave, or ends the episode. */
  private async beginWave(s: EpisodeState, now: number): Promise<EpisodeState> {
    const [indexed, stock] = await batch(this.env.DB, [indexedVersionStatement(this.env.DB, s.workflow_id), stockStatement(this.env.DB, s.variant_id, s.shop_id)]);
    const version = readVersion(indexed!);
    const available = readCount(stock!);
    const at = new Date(now).toISOString();
    if (version === undefined) return this.end(s, at, "workflow_inactive");
    if (available < s.min_stock) return this.end(s, at, "stock_below");
    const size = waveSize(available, { per_unit: s.per_unit ?? undefined });
    const next: EpisodeState = {
      ...s,
      // A workflow edited during the episode notifies its later waves with its newest version.
      version,
      status: "sending",
      wake_at: null,
      waves: [...s.waves, { n: s.waves.length + 1, started_at: at, available, size, notified: 0, ended_at: null }],
      updated_at: at,
    };
    this.save(next);
    log("restock_wave", { episode: s.id, wave: next.waves.length, available, size });
    return next;
  }

  /** Closes the current wave; the episode then waits for the next one, or ends when nobody is left. */
  private async endWave(s: EpisodeState, now: number, then: "waiting" | "ended"): Promise<EpisodeState> {
    const at = new Date(now).toISOString();
    const [waiting] = await batch(this.env.DB, [waitingStatement(this.env.DB, s)]);
    const left = readCount(waiting!);
    const waves = s.waves.map((w, i) => (i === s.waves.length - 1 ? { ...w, ended_at: at } : w));
    const next: EpisodeState =
      then === "waiting" && left > 0
        ? { ...s, waves, waiting: left, status: "waiting", wake_at: now + s.wave_minutes * 60_000, updated_at: at }
        : { ...s, waves, waiting: left, status: "ended", end_reason: "no_waiting", ended_at: at, wake_at: null, updated_at: at };
    this.save(next);
    return next;
  }

  /** Ends the episode for the newer one of its scope; its wave, if one was going, ends with it. */
  private async endSuperseded(s: EpisodeState, now: number): Promise<EpisodeState> {
    const at = new Date(now).toISOString();
    const waves = s.waves.map((w) => (w.ended_at === null ? { ...w, ended_at: at } : w));
    await this.ctx.storage.deleteAlarm();
    return this.end({ ...s, waves }, at, "superseded");
  }

  private end(s: EpisodeState, at: string, reason: NonNullable<EpisodeState["end_reason"]>): EpisodeState {
    const next: EpisodeState = { ...s, status: "ended", end_reason: reason, ended_at: at, wake_at: null, updated_at: at };
    this.save(next);
    log("restock_ended", { episode: s.id, reason, notified: s.notified });
    return next;
  }

  /**
   * Starts one run per subscription of the page that the trigger's tags and conditions accept,
   * with the subscription's snapshot and related entities as its trigger. Throws when a start
   * fails: the invocation is tried again from the page's beginning (the cursor has not moved).
   */
  private async notify(s: EpisodeState, page: PendingRow[], occurredAt: string): Promise<Notified> {
    const def = (await getDefinitions(this.env.DB, [{ workflowId: s.workflow_id, version: s.version }])).get(`${s.workflow_id}@${s.version}`);
    if (def === undefined || def instanceof Error) throw new Error(`Workflow ${s.workflow_id} version ${s.version} cannot be read: ${def?.message ?? "missing"}`);
    const related = await readRelated(
      this.env.DB,
      page.map((row) => ({ entity: "subscription" as const, data: row.data })),
    );
    const now = new Date(this.clock.now());
    const todo: TriggerInfo[] = [];
    page.forEach((row, k) => {
      const id = backInStockEventId(s.id, row.id);
      const trigger: TriggerInfo = { id, type: "subscription.back_in_stock", entity: "subscription", entity_id: row.id, occurred_at: occurredAt, data: row.data, previous: null, related: related[k]! };
      const scope = { trigger, steps: {}, workflow: { id: s.workflow_id, name: def.name, version: s.version }, run: { id: "" }, now: now.toISOString(), today: utcDate(now) };
      if (matchesTrigger(def.trigger, { entity: "subscription", kind: "back_in_stock", tags: row.tags, scope })) todo.push(trigger);
    });
    let refused = 0;
    await pool(todo, START_CONCURRENCY, async (trigger) => {
      // Through the workflow's gate when it has per-key controls (SPEC §14): a wave obeys them too.
      const result = await startRun(this.env, { workflowId: s.workflow_id, version: s.version, controls: def.controls, trigger });
      count(result.created ? "restock_runs_started" : "run_duplicates_refused");
      if (!result.created) refused++;
    });
    return { started: todo.length, skipped: page.length - todo.length, refused };
  }

  /**
   * Retention (SPEC §16): deletes the episode's storage, alarm included, once it ended; an episode
   * still sending or waiting is refused (purged false). An empty object answers purged true. The
   * same stock event arriving after this would start the episode again: retention only comes for
   * episodes that ended long before any redelivery.
   */
  async purge(): Promise<{ purged: boolean }> {
    const s = this.state;
    if (s && s.status !== "ended") return { purged: false };
    await this.chain;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return { purged: true };
  }
}
