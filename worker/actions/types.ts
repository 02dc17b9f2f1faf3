import type { z } from "zod";
import type { Config } from "../config";
import type { Scope } from "../definition/interpolate";

/** Counters a run keeps (SPEC §10). */
export interface RunSummary {
  plans_created: number;
  items_added: number;
  items_skipped: number;
  emails_sent: number;
  webhooks_called: number;
  errors: number;
}

export interface ActionContext {
  runId: string;
  workflowId: string;
  nodeId: string;
  /** 1 for the first attempt of this step. */
  attempt: number;
  /** Stable across every attempt of the same step of the same run. */
  idempotencyKey: string;
  now: Date;
  /** Aborted when the node's timeout elapses. */
  signal: AbortSignal;
  /** The run's trigger, for actions that start from it (`from_trigger`). */
  trigger: Scope["trigger"];
  /** What a previous invocation of this attempt saved with `{ ok: "continue" }`. */
  checkpoint: unknown;
  log(message: string): void;
}

/** Everything an action may touch, injected so that actions are testable without a runtime. */
export interface ActionDeps {
  config: Config;
  db: D1Database;
  email: SendEmail;
  fetch: typeof fetch;
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

interface NodeModuleBase<S extends z.ZodType, T extends string = string> {
  type: T;
  /** Shown in the builder. */
  label: string;
  configSchema: S;
}

export interface ActionModule<S extends z.ZodType = z.ZodType, I = unknown, T extends string = string>
  extends NodeModuleBase<S, T> {
  kind: "action";
  /** Turns a config into the step's input: interpolated, dates resolved. Default: interpolate. */
  resolve?(config: z.output<S>, scope: Scope, now: Date): I;
  execute(input: I, ctx: ActionContext, deps: ActionDeps): Promise<ActionResult>;
  /** The run summary counters a successful output adds. */
  summarize?(output: unknown): Partial<RunSummary>;
}

export interface ControlModule<S extends z.ZodType = z.ZodType> extends NodeModuleBase<S> {
  kind: "condition" | "wait";
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules of every input type
export type NodeModule = ActionModule<z.ZodType, any> | ControlModule;

export function defineAction<T extends string, S extends z.ZodType, I = z.output<S>>(
  m: Omit<ActionModule<S, I, T>, "kind">,
): ActionModule<S, I, T> {
  return { kind: "action", ...m };
}
