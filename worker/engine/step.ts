import type { z } from "zod";
import type { Scope } from "../definition/interpolate";
import type { MirrorPort } from "../entities/port";
import type { PlanningPort, PlanningReadPort } from "../planning/port";
import type { DiscountsPort } from "../discounts/port";
import type { LinksPort } from "../engagement/port";
import type { VapidKeys } from "../lib/web-push";

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
  | { ok: false; error: string; retryable: boolean; retryAfterMs?: number; output?: unknown }
  /** Progress saved; the engine invokes the step again (same attempt) with this checkpoint. */
  | { ok: "continue"; checkpoint: unknown };

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
}

/** A node the run shell executes, with retries, a timeout and a record of every attempt. */
export interface ActionModule<S extends z.ZodType = z.ZodType, I = unknown, T extends string = string, C extends string = string>
  extends NodeModuleBase<S, T, C> {
  kind: "action";
  /** Turns a config into the step's input: interpolated, dates resolved. Default: interpolate. */
  resolve?(config: z.output<S>, scope: Scope, now: Date): I;
  execute(input: I, ctx: ActionContext, deps: NodeDeps): Promise<ActionResult>;
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
