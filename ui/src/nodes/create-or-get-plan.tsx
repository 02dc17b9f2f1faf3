import { DateSpecEditor, ShopScopeEditor } from "../components/builder/parts";
import { SelectField, TextField } from "../components/common/fields";
import { humanize, PLAN_KINDS } from "../lib/catalog";
import { dateText } from "../lib/summary";
import { count } from "../lib/util";
import { PlanLink } from "./plan-link";
import type { NodeFormProps, NodeUi } from "./types";

function PlanForm({ b }: NodeFormProps) {
  return (
    <>
      <SelectField b={b} path={["config", "kind"]} label="Plan kind" options={PLAN_KINDS.map((k) => ({ value: k, label: humanize(k) }))} />
      <TextField b={b} path={["config", "name"]} label="Plan name" vars hint="An open plan with the same kind and name is reused, e.g. “Restock {{today}}” gives one plan a day." />
      <ShopScopeEditor b={b} path={["config", "shops"]} label="Shops the plan covers" />
      <DateSpecEditor b={b} path={["config", "deadline"]} label="Deadline" optional />
    </>
  );
}

export const createOrGetPlan: NodeUi<"create_or_get_plan"> = {
  label: "Create or get plan",
  hint: "Reuse the open plan with this kind and name, or start one",
  idBase: "plan",
  outputs: ["plan_id", "created", "kind", "name", "deadline"],
  colour: "#0f8a7e",
  action: true,
  defaultConfig: () => ({ kind: "restock", name: "Restock {{today}}", shops: { mode: "all", ids: [] }, deadline: { type: "relative", days: 7 } }),
  summary: (c) => [`${humanize(c.kind ?? "")} plan “${c.name ?? ""}”`, c.deadline ? `due ${dateText(c.deadline)}` : ""].filter(Boolean).join(", "),
  Form: PlanForm,
  RunDetail: PlanLink,
  counters: [{ key: "plans_created", text: (n) => `${count(n, "plan")} created`, short: (n) => `${count(n, "plan")} created` }],
};
