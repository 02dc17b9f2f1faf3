import { Link } from "../components/common/ui";
import type { NodeRunDetailProps } from "./types";

/** The run view of a plan step: a link to the plan its output names. */
export function PlanLink({ step }: NodeRunDetailProps) {
  const out = step.output as { plan_id?: unknown } | null | undefined;
  const planId = out && typeof out === "object" && typeof out.plan_id === "string" ? out.plan_id : null;
  if (!planId) return null;
  return (
    <div class="row-actions">
      <Link href={`/plans/${encodeURIComponent(planId)}`} class="btn btn-small">
        Open plan {planId}
      </Link>
    </div>
  );
}
