import { ConditionGroupEditor } from "../components/builder/parts";
import { conditionText } from "../lib/summary";
import type { NodeFormProps, NodeUi } from "./types";

function ConditionForm({ b }: NodeFormProps) {
  return (
    <fieldset class="group">
      <legend>Go to “If true” when</legend>
      <ConditionGroupEditor b={b} path={["config"]} />
    </fieldset>
  );
}

export const condition: NodeUi<"condition"> = {
  label: "Condition",
  hint: "Split the flow: one branch when true, one when false",
  idBase: "check",
  outputs: [],
  colour: "#b8860b",
  action: false,
  branches: true,
  defaultConfig: () => ({ all: [{ left: "", op: "eq", right: "" }] }),
  summary(c) {
    const all = c.all ?? [];
    const any = c.any ?? [];
    const parts = [...all.map(conditionText)];
    if (any.length) parts.push(`any of (${any.map(conditionText).join("; ")})`);
    return `If ${parts.join(" and ")}`;
  },
  Form: ConditionForm,
};
