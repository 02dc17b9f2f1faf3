import type { z } from "zod";
import type { CapKind } from "../definition/controls";
import type { Scope } from "../definition/interpolate";
import type { MirrorPort } from "../entities/port";
import type { PlanningPort, PlanningReadPort } from "../planning/port";
import type { DiscountsPort } from "../discounts/port";
import type { LinksPort } from "../engagement/port";
import type { VapidKeys } from "../lib/web-push";
import type { EventWaitsPort } from "../waits/port";

/*
 * The step protocol: what a node module declares, what an action gets when the run shell
 * executes it, and what it answers. Binding-free: an action reaches the world only through the
 * ports of NodeDeps (worker/run/deps.ts builds them from the bindings; tests pass their own).
 */

export interface ActionContext {
  runId: string;
  workflowId: string;
  nodeId: string;
  /** 1 for the first attempt of this step. */
  attempt: number;
  /** Stable across every attempt of the same step of the same run. */
  idempotencyKey: string;
  /** A test run (`POST /api/workflows/{id}/test`): what it writes is marked as test data. */
  test: boolean;
  now: Date;
  /** Aborted when the node's timeout elapses. */
  signal: AbortSignal;
  /** The run's trigger, for actions that start from it (`from_trigger`). */
  trigger: Scope["trigger"];
  /** What a previous invocation of this attempt saved with `{ ok: "continue" }`. */
  checkpoint: unknown;
  log(message: string): void;
}

export type ActionResult =
  | {
      ok: true;
      output: unknown;
      /** A large by-product kept beside the step (e.g. the raw email), served on its own URL. */
      artifact?: { name: string; contentType: string; content: string };
    }
  | {
      ok: false;
      error: string;
      retryable: boolean;
      retryAfterMs?: number;
      output?: unknown;
      /** What kind of failure, for a failure with a name: `cap_exceeded` (its error text starts with it too). */
      code?: string;
    }
  /** Progress saved; the engine invokes the step again (same attempt) with this checkpoint. */
  | { ok: "continue"; checkpoint: unknown }
  /**
   * Done with its effect (an approval's emails sent), the step now waits for a signal from outside
   * until `until` (ISO time), with this output meanwhile: only a module with `awaits` answers so.
   */
  | { ok: "await"; output: unknown; until: string; artifact?: { name: string; contentType: string; content: string } };

/** What a step that branches records: `result` says the branch taken, true for `then`. */
export type BranchOutput = { result: boolean } & Record<string, unknown>;

/**
 * How an awaiting step (ActionResult `await`) ends: with a signal delivered to its run (an
 * approval's decision), or at its deadline without one. Pure: both get the step's output while it
 * waited and answer its final output; a branching module's final output carries `result`.
 */
export interface AwaitSpec {
  /** The output once `signal` arrived, or why the signal is refused (the step goes on waiting). */
  receive(output: unknown, signal: unknown, now: Date): { ok: true; output: BranchOutput } | { ok: false; refused: string };
  /** The output when the deadline passed without a signal. */
  timeout(output: unknown, now: Date): BranchOutput;
}

/** An effect the workflow's daily cap refused (SPEC §14): the step fails, not retried — a retry today would be refused again. */
export const CAP_EXCEEDED = "cap_exceeded";

/**
 * The daily safety caps of the workflow (SPEC §14) as one step sees them, bound to its run, node,
 * workflow and pinned definition: a node asks right before its effect, with the units it is
 * about to spend. Asking again from the same step (a retry, a continued invocation) gets the same
 * answer and counts nothing new; an action that spends in several pieces names each with `part`,
 * stable across retries (add_items_to_plan: its page). Without a cap for `kind` it answers ok.
 */
export interface CapsPort {
  reserve(kind: CapKind, units: number, part?: string): Promise<{ ok: true } | { ok: false; error: string }>;
}

/** The step's failure when a cap refused its effect; `error` is the refusal, which starts with "cap_exceeded:". */
export const capExceeded = (refusal: { error: string }): ActionResult => ({ ok: false, error: refusal.error, retryable: false, code: CAP_EXCEEDED });

/** The settings actions read; worker/config.ts parses them from vars and secrets. */
export interface NodeConfig {
  /** `CREDENTIAL_<NAME>` secrets by NAME. Never logged, never returned. */
  credentials: ReadonlyMap<string, string>;
  /** Hosts a webhook may reach besides public https hosts, lower case. */
  WEBHOOK_ALLOWED_HOSTS: readonly string[];
  /** The sender of an email that names none. */
  EMAIL_FROM: string;
  /** The team's addresses, for `send_internal_email`; not checked until a step uses them. */
  INTERNAL_EMAILS: readonly string[];
  /** Web Push's VAPID identity (secrets VAPID_*), or why it is unusable; send_push fails with the reason. */
  VAPID: VapidSetting;
  /** The Worker's public origin for links in messages (an approval's page); null when it is not an http(s) URL. */
  PUBLIC_URL?: string | null;
}

export type VapidSetting = { ok: true; keys: VapidKeys } | { ok: false; reason: string };

/** One message to one envelope recipient: `raw` is the whole MIME text, headers included. */
export interface OutgoingEmail {
  from: string;
  to: string;
  raw: string;
}

/** Everything an action may touch, as ports of our own, so that actions run without a runtime. */
export interface NodeDeps {
  config: NodeConfig;
  /** Called unbound: the runtime's fetch refuses a `this` other than the global scope. */
  fetch: typeof fetch;
  /** Hands one message to the email service; throws the service's error when it refuses. */
  sendEmail(message: OutgoingEmail): Promise<void>;
  /** The D1 work of the plan nodes. */
  planning: PlanningPort;
  /** Discount codes in D1, for create_discount_code. */
  discounts: DiscountsPort;
  /** The entity mirror, for nodes that change an entity (status, tags). */
  mirror: MirrorPort;
  /** Tracked links (`track_links` of send_email and send_push): the public URL of each link. */
  links: LinksPort;
  /** The workflow's daily caps (SPEC §14), asked right before each capped effect. */
  caps: CapsPort;
  /** Runs waiting for events (wait_for_event, SPEC §15): where a step subscribes. */
  events: EventWaitsPort;
}

/** A credential a node's config names, with the path of the reference inside the config. */
export interface CredentialRef {
  name: string;
  path: string;
}

/** The run summary counters (SPEC §10) a node type adds to, and what one successful output adds. */
export interface NodeSummary<C extends string> {
  counters: readonly C[];
  summarize(output: unknown): Partial<Record<C, number>>;
}

/** What a preview of a whole workflow adds up (SPEC §13): each step's preview says what it adds. */
export interface PreviewImpact {
  emails: number;
  pushes: number;
  webhooks: number;
  discount_codes: number;
  plan_lines: number;
  units: number;
  cost_value: number;
  retail_value: number;
}

/**
 * A dry run of a step: what it would do, with no side effect. `output` is what the preview shows;
 * `stepOutput` is the plausible output later steps see as `steps.<id>.output` (default: `output`);
 * `error` says the step would fail (the preview still shows what it could work out).
 */
export type Preview =
  | { previewable: true; output: unknown; stepOutput?: unknown; error?: string; impact?: Partial<PreviewImpact> }
  | { previewable: false; reason: string };

/**
 * What a preview is given: read ports only, so that a preview cannot write by construction. The
 * optional ports are absent in unit tests; a preview that needs one says so instead of guessing.
 */
export interface PreviewContext {
  now: Date;
  trigger: Scope["trigger"];
  /** Reads of the entity mirror (never a write), for previews that show who would receive what. */
  mirror?: Pick<MirrorPort, "read">;
  /** The settings a preview shows (sender, team, allowed hosts); no credential. */
  config?: Pick<NodeConfig, "EMAIL_FROM" | "INTERNAL_EMAILS" | "WEBHOOK_ALLOWED_HOSTS">;
  planning?: PlanningReadPort;
  /** The outputs (real or previewed) of the steps before, as the scope holds them. */
  steps?: Scope["steps"];
}
/** The preview of a node type that cannot show one yet. */
export const notPreviewable = (): Promise<Preview> => Promise.resolve({ previewable: false, reason: "Not previewable yet" });

interface NodeModuleBase<S extends z.ZodType, T extends string, C extends string> {
  type: T;
  /** Shown in the builder. */
  label: string;
  configSchema: S;
  /** The credentials a config references: a definition naming one that is not set cannot be activated. */
  credentials?(config: z.output<S>): CredentialRef[];
  summary?: NodeSummary<C>;
  /** The dry run of a step, from its resolved input (an action's) or its config (a condition's or a wait's). */
  preview(input: unknown, ctx: PreviewContext): Promise<Preview>;
  /**
   * Goes on to `then` or `else` (by its output's `result`, a BranchOutput) instead of `next`; the
   * definition schema gives its nodes `then` and `else`. A condition always branches.
   */
  branches?: true;
  /**
   * Roots a `{{…}}` in its config may start with besides the run's (`trigger`, `steps`…), which
   * the node resolves itself: wait_for_event's match reads the awaited `event`.
   */
  localRoots?: readonly string[];
}

/** A node the run shell executes, with retries, a timeout and a record of every attempt. */
export interface ActionModule<S extends z.ZodType = z.ZodType, I = unknown, T extends string = string, C extends string = string>
  extends NodeModuleBase<S, T, C> {
  kind: "action";
  /** Turns a config into the step's input: interpolated, dates resolved. Default: interpolate. */
  resolve?(config: z.output<S>, scope: Scope, now: Date): I;
  execute(input: I, ctx: ActionContext, deps: NodeDeps): Promise<ActionResult>;
  /** Present when the action may answer `await`: how its waiting step ends. */
  awaits?: AwaitSpec;
  /**
   * Undoes what its attempts left outside the run (wait_for_event: its subscription) once the step
   * ended, however it ended (then, else, failed, cancelled). Best effort: the shell logs a failure
   * and goes on, so what it leaves must be harmless.
   */
  cleanup?(input: I, step: { runId: string; nodeId: string }, deps: NodeDeps): Promise<void>;
}

/** A node the engine evaluates at once: the run goes on to `then` when it holds, else to `else`. */
export interface ConditionModule<S extends z.ZodType = z.ZodType, T extends string = string> extends NodeModuleBase<S, T, never> {
  kind: "condition";
  /** The step's recorded input and the decision; throws when the config cannot be evaluated. */
  decide(config: z.output<S>, scope: Scope): { input: unknown; result: boolean };
}

/** A node the engine sleeps on: the run's alarm wakes it at `until`. */
export interface WaitModule<S extends z.ZodType = z.ZodType, T extends string = string> extends NodeModuleBase<S, T, never> {
  kind: "wait";
  /** When the wait ends (epoch ms); throws when the config gives no date. */
  until(config: z.output<S>, scope: Scope, now: Date): number;
  /**
   * Whether the run, on waking, reads its trigger entity again and re-checks the trigger's tags
   * and conditions (SPEC §15 `recheck_trigger`): the engine then executes `execute` like an
   * action's attempt (retried, timed out), which answers `{ok: true, output: {entity}}` with the
   * entity as the mirror holds it now (null when gone).
   */
  rechecks?(config: z.output<S>): boolean;
  execute?(input: unknown, ctx: ActionContext, deps: NodeDeps): Promise<ActionResult>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules of every input type
export type NodeModule = ActionModule<z.ZodType, any> | ConditionModule | WaitModule;

/** What the engine knows of the node types: handed to `advance`, so the engine imports no registry. */
export interface NodeCatalog {
  /** The module of a node type; throws for a type no module declares. */
  node(type: string): NodeModule;
  /** Every counter of a run's summary, "errors" among them. */
  counters: readonly string[];
}

export function defineAction<T extends string, S extends z.ZodType, I = z.output<S>, C extends string = never>(
  m: Omit<ActionModule<S, I, T, C>, "kind">,
): ActionModule<S, I, T, C> {
  return { kind: "action", ...m };
}
