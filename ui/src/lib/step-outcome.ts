/**
 * What happened to a step that has no attempts to list — a condition decided at once, a wait
 * cancelled while it slept, a step never reached — in one sentence for the run page, where a
 * table of attempts would only say "0". Pure (unit-tested in workerd); times come formatted
 * by the caller.
 */
import type { StepRecord } from "../../../worker/contract";

export interface OutcomeNode {
  type: string;
  /** It ends with two branches (a condition, an approval). */
  branches: boolean;
  /** Its branches' names on the canvas ("If true" / "If false", "Approved" / "Rejected"). */
  labels: { then: string; else: string };
}

type OutcomeStep = Pick<StepRecord, "status" | "attempts" | "output" | "started_at" | "wake_at" | "reused">;

const field = (v: unknown, key: string): unknown => (v !== null && typeof v === "object" && key in v ? (v as Record<string, unknown>)[key] : undefined);

/** The sentence, or null when the step has attempts (the page lists them instead). */
export function stepOutcome(step: OutcomeStep, node: OutcomeNode, time: (iso: string) => string): string | null {
  if (step.attempts.length > 0) return null;
  if (step.reused) return "Not run again: its result is copied from the run this one retries.";
  switch (step.status) {
    case "pending":
      return "Not started yet.";
    case "skipped":
      return "Skipped: the run did not come this way (another branch was taken, or the run ended before it).";
    case "cancelled":
      return step.started_at ? "Cancelled while waiting: the run was cancelled before this step finished." : "Cancelled before it started: the run was cancelled first.";
    case "running":
      return "Waiting: a step makes no attempt while it waits.";
    case "failed":
      return "Failed before any attempt: see the error above.";
    case "succeeded": {
      const result = field(step.output, "result");
      if (node.branches && typeof result === "boolean") {
        const branch = node.labels[result ? "then" : "else"];
        return node.type === "condition" ? `Evaluated: took “${branch}”.` : `Went on to “${branch}”.`;
      }
      const waited = field(step.output, "waited_until");
      if (typeof waited === "string") return `Waited until ${time(waited)}.`;
      return "Done: nothing to attempt for this kind of step.";
    }
  }
}
