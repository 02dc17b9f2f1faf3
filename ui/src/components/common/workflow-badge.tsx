import { pausedLabel } from "../../../models/controls";
import type { WorkflowStatus } from "../../api";
import { StatusBadge } from "./ui";

/** A workflow's status; one the engine paused itself (a daily cap) says so, with the reason as its title. */
export function WorkflowBadge({ status, reason }: { status: WorkflowStatus; reason: string | null }) {
  if (status !== "paused" || !reason) return <StatusBadge status={status} />;
  return (
    <span class="badge tone-bad" data-status="paused" data-paused-by="engine" title={reason}>
      {pausedLabel(reason)}
    </span>
  );
}
