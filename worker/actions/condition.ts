import { ConditionGroupSchema } from "../definition/conditions";
import type { ControlModule } from "./types";

/** Goes to `then` when the group holds, else to `else`; evaluated by the engine. */
export const condition = {
  kind: "condition",
  type: "condition",
  label: "Condition",
  configSchema: ConditionGroupSchema,
} as const satisfies ControlModule;
