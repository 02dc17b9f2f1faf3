import type { WorkflowStatus } from "../engine/workflow-status";
import type { Definition } from "./schema";

/** A workflow as the API answers it: the current version's definition with its metadata. */
export interface WorkflowRecord {
  id: string;
  name: string;
  description: string | null;
  status: WorkflowStatus;
  version: number;
  trigger_entity: string;
  created_at: string;
  updated_at: string;
  definition: Definition;
}
