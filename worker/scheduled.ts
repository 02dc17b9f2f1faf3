import { logError } from "./log";
import { runRetention } from "./retention/retention";
import { runSchedules } from "./schedule/tick";

/*
 * The Worker's one Cron Trigger ticks every minute (wrangler.toml); this dispatcher decides from the
 * tick's scheduledTime what is due. Every job gets the tick's time as its "now", so a late or
 * repeated tick does the same work as a punctual one, and tests can invoke any time.
 */

/** Retention runs at this minute of every hour (SPEC §16): off the hour, when other jobs crowd. */
export const RETENTION_MINUTE = 17;

/**
 * Set by a retention pass that reached a bound with work left: the following ticks go on with it
 * instead of waiting an hour. A hint in this isolate's memory only: should it be lost with the
 * isolate, the next hourly pass takes the work up again, so nothing depends on it.
 */
let retentionBacklog = false;

/** Whether the tick at `scheduledTime` (epoch ms) runs retention. */
export const retentionDue = (scheduledTime: number, backlog = retentionBacklog) => backlog || new Date(scheduledTime).getUTCMinutes() === RETENTION_MINUTE;

export async function scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const at = controller.scheduledTime;
  const jobs: { name: string; run: () => Promise<void> }[] = [];
  // Workflow schedules (SPEC §15), every minute: each decides from its cron whether this minute is its.
  jobs.push({ name: "schedules", run: async () => void (await runSchedules(env, at)) });
  if (retentionDue(at)) {
    jobs.push({
      name: "retention",
      run: async () => {
        retentionBacklog = (await runRetention(env, at)).more;
      },
    });
  }
  // One job's failure neither stops nor hides the others; the tick then fails, as Cron Events show.
  const settled = await Promise.allSettled(jobs.map((job) => job.run()));
  const failed = jobs.filter((job, i) => {
    const outcome = settled[i]!;
    if (outcome.status === "rejected") logError("scheduled", outcome.reason, { job: job.name, scheduled_time: new Date(at).toISOString() });
    return outcome.status === "rejected";
  });
  if (failed.length > 0) throw new Error(`Scheduled jobs failed: ${failed.map((j) => j.name).join(", ")}`);
}
