import { ConditionGroupSchema, evaluateGroup } from "../definition/conditions";
import { interpolate } from "../definition/interpolate";
import type { ConditionModule } from "../engine/step";

/**
 * Goes to `then` when the group holds, else to `else`; evaluated by the engine at once. A path
 * that is missing makes its comparison false (definition/conditions.ts); the step records which.
 */
export const condition = {
  kind: "condition",
  type: "condition",
  label: "Condition",
  configSchema: ConditionGroupSchema,
  decide(group, scope) {
    const evaluated = evaluateGroup(group, (operand, missingOk) => interpolate(operand, scope, { missingOk }));
    return {
      input: { ...(group.all ? { all: evaluated.all } : {}), ...(group.any ? { any: evaluated.any } : {}) },
      result: evaluated.result,
    };
  },
  /** The engine decides a condition (decide) even in a preview; its preview shows the evaluated comparisons. */
  preview: (input) => Promise.resolve({ previewable: true, output: input }),
} as const satisfies ConditionModule<typeof ConditionGroupSchema, "condition">;
