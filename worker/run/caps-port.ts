import { z } from "zod";
import { utcDate } from "../definition/date-spec";
import { CAP_NOUNS, CapKindSchema, type CapKind, type Controls } from "../definition/controls";
import { CAP_EXCEEDED, type CapsPort } from "../engine/step";

/*
 * The daily caps (SPEC §14) between a step and the workflow's CapsObject (worker/flow/caps-object.ts): the request the object
 * takes, and the port a node gets, bound to its step by the run harness.
 */

/** `caps.per_day` of a definition: a limit per kind; a kind left out is not capped. */
export type DailyCaps = NonNullable<Controls["caps"]>["per_day"];

/** One step asking to spend `units` of a capped effect on `day` (UTC), under `limit`. */
export const ReserveSchema = z.object({
  workflow_id: z.string().min(1),
  run_id: z.string().min(1),
  node_id: z.string().min(1),
  kind: CapKindSchema,
  units: z.int().min(0),
  limit: z.int().min(0),
  day: z.iso.date(),
  /** One piece of an action that spends in several (a page of add_items_to_plan); "" for the whole step. */
  part: z.string().max(4000).default(""),
});
export type ReserveRequest = z.input<typeof ReserveSchema>;
export type ReserveAnswer = { ok: true; used: number } | { ok: false; used: number; limit: number };

/** The step a port is bound to: its run and node, the time it runs at, and its pinned definition's caps. */
export interface CapStep {
  workflowId: string;
  runId: string;
  nodeId: string;
  now: Date;
  limits: DailyCaps | undefined;
}

/** What the run shell holds: nothing capped outside a step, and a port for each step. */
export interface CapsBinder extends CapsPort {
  forStep(step: CapStep): CapsPort;
}

const OK = Promise.resolve({ ok: true } as const);

/** No cap: every effect passes, nothing is counted (a workflow without caps, or no step at all). */
export const UNCAPPED: CapsPort = { reserve: () => OK };

/** The refusal a node fails its step with. */
export function refusalText(kind: CapKind, limit: number, used: number, units: number, day: string): string {
  return `${CAP_EXCEEDED}: the workflow's daily cap of ${limit} ${CAP_NOUNS[kind]} is reached (${used} on ${day} UTC; this step needs ${units} more)`;
}

/**
 * The caps on the CAPS namespace, one object per workflow. A kind without a limit, or nothing to
 * spend, answers at once with no call: uncapped workflows pay nothing.
 */
export function capsBinder(ns: Env["CAPS"]): CapsBinder {
  return {
    ...UNCAPPED,
    forStep({ workflowId, runId, nodeId, now, limits }) {
      if (!limits || Object.values(limits).every((l) => l === undefined)) return UNCAPPED;
      return {
        async reserve(kind, units, part = "") {
          const limit = limits[kind];
          if (limit === undefined || units <= 0) return { ok: true };
          const day = utcDate(now);
          const answer = await ns.get(ns.idFromName(workflowId)).reserve({ workflow_id: workflowId, run_id: runId, node_id: nodeId, kind, units, limit, day, part });
          return answer.ok ? { ok: true } : { ok: false, error: refusalText(kind, answer.limit, answer.used, units, day) };
        },
      };
    },
  };
}
