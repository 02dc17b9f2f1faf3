export const WORKFLOW_STATUSES = ["draft", "active", "paused", "archived"] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

const ALLOWED: Record<WorkflowStatus, readonly WorkflowStatus[]> = {
  draft: ["active", "archived"],
  active: ["paused", "draft", "archived"],
  paused: ["active", "draft", "archived"],
  archived: [],
};

/** SPEC §7 transitions. Asking for the status a workflow already has changes nothing and is allowed. */
export function canTransition(from: WorkflowStatus, to: WorkflowStatus): boolean {
  return from === to || ALLOWED[from].includes(to);
}

export function allowedTransitions(from: WorkflowStatus): readonly WorkflowStatus[] {
  return ALLOWED[from];
}
