/*
 * Link tracking as the nodes reach it (binding-free): send_email and send_push hand over the
 * links of a message and get their tracked URLs. worker/engagement/store.ts implements it on D1;
 * tests may stand in for it.
 */

/** The step whose message carries the links. */
export interface TrackingStep {
  runId: string;
  workflowId: string;
  nodeId: string;
  /** The step's idempotency key: tokens are derived from it, so a retry gets the same ones. */
  stepKey: string;
  /** A test run's links are test data, and so is the status change a click on them makes. */
  test: boolean;
  /** The run's trigger subscription, moved from delivered to engaged by a click; null for none. */
  subscriptionId: string | null;
  at: Date;
}

export type Tracked =
  /** The tracked URL (`<PUBLIC_URL>/l/<token>`) of every link given. */
  | { ok: true; urls: ReadonlyMap<string, string> }
  /** Tracking cannot work as configured (e.g. PUBLIC_URL is not a URL): the step fails, not retried. */
  | { ok: false; reason: string };

export interface LinksPort {
  /** Stores one tracked link per URL (idempotent per step and URL). Throws when D1 fails (transient). */
  track(step: TrackingStep, urls: readonly string[]): Promise<Tracked>;
}
