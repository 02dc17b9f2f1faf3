import type { Builder } from "../components/builder/binders";
import { DateSpecEditor, ShopScopeEditor, TagFilterEditor } from "../components/builder/parts";
import { CheckboxField, GroupIssues, NumberField, SelectField, TextField } from "../components/common/fields";
import { ChipsField } from "../components/common/collection-fields";
import { humanize, type ConfigOf, type NodeInput } from "../lib/catalog";
import { count } from "../lib/util";
import { PlanLink } from "./plan-link";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

/** The kind of the plan an "add items" step writes to, when it names an earlier plan step. */
function referencedPlanKind(m: Builder, plan: unknown): string | null {
  if (typeof plan !== "string") return null;
  const ref = /\{\{\s*steps\.([a-z][a-z0-9_]*)\.output\.plan_id\s*\}\}/.exec(plan);
  if (!ref) return null;
  const node = (m.definition.value.def.nodes as NodeInput[]).find((n) => n.id === ref[1]);
  return node?.type === "create_or_get_plan" ? (node.config.kind ?? null) : null;
}

function ItemsForm({ b, m }: NodeFormProps) {
  const config = b.get(["config"]) as ConfigOf<"add_items_to_plan">;
  const kind = referencedPlanKind(m, config.plan);
  const quantity = config.quantity?.strategy ?? "fixed";
  const sizes = config.sizes?.mode ?? "all";
  const matching = config.matching?.strategy ?? "";
  const discount = config.discount?.strategy ?? "";
  const showMatching = kind === null || kind === "rebalance" || config.matching !== undefined;
  const showDiscount = kind === null || kind === "markdown" || config.discount !== undefined || config.markdown_date !== undefined;
  return (
    <>
      <TextField b={b} path={["config", "plan"]} label="Plan" vars hint="The plan id, usually the output of an earlier “Create or get plan” step." placeholder="e.g. {{steps.plan.output.plan_id}}" />
      <fieldset class="group">
        <legend>Which items</legend>
        <GroupIssues b={b} path={["config", "filter"]} />
        <SelectField
          b={b}
          path={["config", "filter", "entity"]}
          label="Select by"
          hint="A brand selects its products' variants' items, a product its variants' items, and so on."
          options={(["inventory_item", "product_variant", "product", "brand"] as const).map((e) => ({ value: e, label: humanize(e) }))}
        />
        <CheckboxField b={b} path={["config", "filter", "from_trigger"]} label="Start from the trigger's entity" />
        <ChipsField b={b} path={["config", "filter", "ids"]} label="Specific ids (optional)" placeholder="e.g. inv_42" />
        <TagFilterEditor b={b} path={["config", "filter", "tags"]} label="Tags of the selected entities" />
      </fieldset>
      <ShopScopeEditor b={b} path={["config", "shops"]} label="Shops" />
      <fieldset class="group">
        <legend>Sizes</legend>
        <SelectField
          b={b}
          path={["config", "sizes", "mode"]}
          label="Keep"
          value={sizes}
          options={[
            { value: "all", label: "All sizes" },
            { value: "below_threshold", label: "Sizes running low (on hand below a threshold)" },
          ]}
          onSelect={(v) => b.set(["config", "sizes"], v === "all" ? { mode: "all" } : { mode: v, threshold: 3 })}
        />
        {sizes === "below_threshold" && <NumberField b={b} path={["config", "sizes", "threshold"]} label="Threshold (on hand below)" min={1} />}
      </fieldset>
      <fieldset class="group">
        <legend>Quantity</legend>
        <SelectField
          b={b}
          path={["config", "quantity", "strategy"]}
          label="Quantity strategy"
          value={quantity}
          options={[
            { value: "fixed", label: "Fixed quantity per item" },
            { value: "fill_to_target", label: "Fill to target (target − on hand − on order)" },
            { value: "score", label: "Recommended quantity (by score)" },
            { value: "waitlist", label: "Waitlist (customers waiting for the size × factor − on order)" },
          ]}
          onSelect={(v) =>
            b.set(
              ["config", "quantity"],
              v === "fixed" ? { strategy: v, quantity: 1 } : v === "score" ? { strategy: v, min_score: 0.5 } : v === "waitlist" ? { strategy: v, factor: 1 } : { strategy: v },
            )
          }
        />
        {quantity === "fixed" && <NumberField b={b} path={["config", "quantity", "quantity"]} label="Quantity per item" min={1} />}
        {quantity === "fill_to_target" && <NumberField b={b} path={["config", "quantity", "target"]} label="Target (optional)" min={0} placeholder="Each item's own target" hint="Overrides the item's target when set." />}
        {quantity === "score" && <NumberField b={b} path={["config", "quantity", "min_score"]} label="Minimum score (0–1)" min={0} max={1} step={0.05} integer={false} hint="Only items whose recommendation scores at least this are added." />}
        {quantity === "waitlist" && (
          <NumberField
            b={b}
            path={["config", "quantity", "factor"]}
            label="Units per waiting customer"
            min={0.01}
            max={100}
            step={0.1}
            integer={false}
            placeholder="1 (the default)"
            hint="Counts the size's pending back-in-stock subscriptions in the item's shop and those for any shop; rounded up."
          />
        )}
        <p class="hint">Items whose quantity comes out as 0 are skipped.</p>
      </fieldset>
      {showMatching && (
        <fieldset class="group">
          <legend>Matching (rebalance plans)</legend>
          <SelectField
            b={b}
            path={["config", "matching", "strategy"]}
            label="Move stock"
            value={matching}
            options={[
              { value: "", label: "No matching" },
              { value: "fixed", label: "From one shop to another" },
              { value: "score", label: "Surplus shops to deficit shops, highest score first" },
            ]}
            onSelect={(v) => b.set(["config", "matching"], v === "" ? undefined : v === "fixed" ? { strategy: v, from_shop: "", to_shop: "" } : { strategy: v })}
          />
          {matching === "fixed" && (
            <div class="grid-2">
              <TextField b={b} path={["config", "matching", "from_shop"]} label="From shop" placeholder="e.g. shop_1" />
              <TextField b={b} path={["config", "matching", "to_shop"]} label="To shop" placeholder="e.g. shop_2" />
            </div>
          )}
        </fieldset>
      )}
      {showDiscount && (
        <fieldset class="group">
          <legend>Discount (markdown plans)</legend>
          <SelectField
            b={b}
            path={["config", "discount", "strategy"]}
            label="Discount strategy"
            value={discount}
            options={[
              { value: "", label: "No discount" },
              { value: "fixed", label: "Fixed percent" },
              { value: "score", label: "By score (score × maximum)" },
              { value: "recommended", label: "Recommended, within limits and a margin floor" },
            ]}
            onSelect={(v) =>
              b.set(
                ["config", "discount"],
                v === "" ? undefined : v === "fixed" ? { strategy: v, percent: 20 } : v === "score" ? { strategy: v, max_percent: 50 } : { strategy: v, margin_floor: 0.2, min_percent: 5, max_percent: 50 },
              )
            }
          />
          {discount === "fixed" && <NumberField b={b} path={["config", "discount", "percent"]} label="Percent off" min={0} max={100} integer={false} />}
          {discount === "score" && <NumberField b={b} path={["config", "discount", "max_percent"]} label="Maximum percent" min={0} max={100} integer={false} />}
          {discount === "recommended" && (
            <div class="grid-2">
              <NumberField b={b} path={["config", "discount", "min_percent"]} label="Minimum percent" min={0} max={100} integer={false} />
              <NumberField b={b} path={["config", "discount", "max_percent"]} label="Maximum percent" min={0} max={100} integer={false} />
              <NumberField b={b} path={["config", "discount", "margin_floor"]} label="Margin floor (0.2 = 20 % over cost)" min={0} max={10} step={0.05} integer={false} hint="Lowered until the price stays this far above cost; items that cannot are skipped." />
            </div>
          )}
          <DateSpecEditor b={b} path={["config", "markdown_date"]} label="Markdown date" optional />
        </fieldset>
      )}
    </>
  );
}

/** The run view: a link to the plan, and for a test run that its lines are test data. */
function ItemsRunDetail(props: NodeRunDetailProps) {
  return (
    <>
      <PlanLink {...props} />
      {props.run.test && props.step.status === "succeeded" && (
        <p class="hint">
          <span class="badge tone-warn">Test data</span> A test run wrote these lines: the plan shows them with a “test” badge and the API with <code>test: true</code>.
        </p>
      )}
    </>
  );
}

export const addItemsToPlan: NodeUi<"add_items_to_plan"> = {
  label: "Add items to plan",
  hint: "Pick inventory items and add them with a quantity strategy",
  idBase: "items",
  outputs: ["plan_id", "added", "updated", "skipped", "total_quantity"],
  colour: "#2f9a4a",
  action: true,
  defaultConfig(before) {
    // It writes to the plan of the nearest plan step before it, if there is one.
    const planStep = [...before].reverse().find((n) => n.type === "create_or_get_plan");
    return {
      plan: planStep ? `{{steps.${planStep.id}.output.plan_id}}` : "",
      filter: { entity: "inventory_item", from_trigger: true, ids: [], tags: { include: [], exclude: [], match: "any" } },
      shops: { mode: "all", ids: [] },
      sizes: { mode: "all" },
      quantity: { strategy: "fill_to_target" },
    };
  },
  summary(c) {
    const q = c.quantity;
    const qty = !q
      ? ""
      : q.strategy === "fixed"
        ? `${q.quantity ?? "?"} each`
        : q.strategy === "fill_to_target"
          ? "fill to target"
          : q.strategy === "waitlist"
            ? `${q.factor ?? 1} per waiting customer`
            : `recommended quantity (score ≥ ${q.min_score ?? 0})`;
    const from = c.filter?.from_trigger ? `the trigger's ${humanize(c.filter.entity)}` : `${humanize(c.filter?.entity ?? "")} items`;
    return `Add ${from}: ${qty}`;
  },
  Form: ItemsForm,
  RunDetail: ItemsRunDetail,
  counters: [
    { key: "items_added", text: (n) => `${count(n, "item")} added`, short: (n) => `${n} added` },
    { key: "items_skipped", text: (n) => `${n} skipped`, short: (n) => `${n} skipped` },
  ],
};
