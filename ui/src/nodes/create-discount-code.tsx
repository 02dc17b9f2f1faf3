import { DateSpecEditor } from "../components/builder/parts";
import { ChipsField } from "../components/common/collection-fields";
import { NumberField, SelectField, TextField } from "../components/common/fields";
import type { ConfigOf } from "../lib/catalog";
import { dateText } from "../lib/summary";
import { count } from "../lib/util";
import type { NodeFormProps, NodeRunDetailProps, NodeUi } from "./types";

type Config = ConfigOf<"create_discount_code">;

function DiscountForm({ b }: NodeFormProps) {
  const config = b.get(["config"]) as Config;
  const type = config.type ?? "percent";
  return (
    <>
      <div class="grid-2">
        <SelectField
          b={b}
          path={["config", "type"]}
          label="Discount"
          value={type}
          options={[
            { value: "percent", label: "Percent off" },
            { value: "amount", label: "Amount off" },
          ]}
          // A percent code has no currency; an amount code needs one.
          onSelect={(v) => b.set(["config"], { ...config, type: v, currency: v === "amount" ? (config.currency ?? "EUR") : undefined })}
        />
        <NumberField b={b} path={["config", "value"]} label={type === "percent" ? "Percent off (1–100)" : "Amount off"} min={type === "percent" ? 1 : 0} max={type === "percent" ? 100 : undefined} integer={false} />
      </div>
      {type === "amount" && <TextField b={b} path={["config", "currency"]} label="Currency" placeholder="e.g. EUR" hint="The ISO 4217 code of the amount, e.g. EUR, USD, GBP." />}
      <DateSpecEditor b={b} path={["config", "expires"]} label="Expires" hint="The code works through the end of this day (UTC)." />
      <div class="grid-2">
        <NumberField b={b} path={["config", "usage_limit"]} label="Uses" min={1} hint="How many orders may redeem it; 1 is single-use." />
        <TextField b={b} path={["config", "prefix"]} label="Prefix (optional)" optional placeholder="e.g. BACK" hint="Up to 10 capitals and digits, put before the code: BACK-7K3M9QXRT2WC." />
      </div>
      <TextField
        b={b}
        path={["config", "customer"]}
        label="For customer (optional)"
        optional
        vars
        placeholder="The trigger's customer"
        hint="Left empty: the customer of a customer, subscription or order trigger; none for other triggers."
      />
      <ChipsField b={b} path={["config", "variant_ids"]} label="Only for variants (optional)" vars placeholder="e.g. var_42" hint="None: the code applies to any variant." />
      <p class="hint">Every retry of this step gives the same code. Codes made by a test run are marked as test data.</p>
    </>
  );
}

/** The run view: the code made, and for a test run that it is test data. */
function CodeRunDetail({ run, step }: NodeRunDetailProps) {
  const out = step.output as { code?: unknown } | null | undefined;
  const code = out && typeof out === "object" && typeof out.code === "string" ? out.code : null;
  if (step.status !== "succeeded" || code === null) return null;
  return (
    <p class="hint">
      Code <code>{code}</code>
      {run.test && (
        <>
          {" "}
          <span class="badge tone-warn">Test data</span> made by a test run: <code>GET /api/discount-codes?test=true</code> lists such codes.
        </>
      )}
    </p>
  );
}

/** "10% off" or "5 EUR off". */
const offText = (c: Config) => (c.type === "amount" ? `${c.value ?? "?"} ${c.currency ?? ""} off`.replace("  ", " ") : `${c.value ?? "?"}% off`);

export const createDiscountCode: NodeUi<"create_discount_code"> = {
  label: "Create discount code",
  hint: "A unique code for the customer, e.g. for a back-in-stock or win-back email",
  idBase: "code",
  outputs: ["code", "type", "value", "currency", "expires_at", "expires_on", "usage_limit"],
  colour: "#b5367a",
  action: true,
  defaultConfig: () => ({ type: "percent", value: 10, expires: { type: "relative", days: 14 }, usage_limit: 1 }),
  summary: (c) =>
    [offText(c), c.usage_limit === undefined || c.usage_limit === 1 ? "single use" : `${count(c.usage_limit, "use")}`, c.expires ? `until ${dateText(c.expires)}` : ""]
      .filter(Boolean)
      .join(", "),
  Form: DiscountForm,
  RunDetail: CodeRunDetail,
  counters: [
    { key: "discount_codes_created", text: (n) => `${count(n, "discount code")} created`, short: (n) => count(n, "code") },
  ],
};
