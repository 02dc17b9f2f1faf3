/** A form for every node type, and for every strategy: fields appear as the chosen strategy needs them. */
import { useState } from "preact/hooks";
import { EVENT_KINDS, humanize, NODE_HINTS, NODE_LABELS, PLAN_KINDS, TRIGGER_ENTITIES, type ConfigOf, type NodeType } from "../../lib/catalog";
import { allSteps, type FlowStep } from "../../lib/flow";
import { formatStatuses, parseStatuses, pretty } from "../../lib/util";
import { CheckboxField, ChipsField, FieldShell, GroupIssues, KeyValueField, NumberField, ParsedField, SelectField, TextField, fieldId, type Binder } from "../common/fields";
import { ErrorNote } from "../common/ui";
import { nodeBinder, rootBinder, type Builder } from "./binders";
import { ConditionGroupEditor, DateSpecEditor, NodeSettings, ShopScopeEditor, TagFilterEditor } from "./parts";

const NODE_ID = /^[a-z][a-z0-9_]{0,63}$/;

function PlanForm({ b }: { b: Binder }) {
  return (
    <>
      <SelectField b={b} path={["config", "kind"]} label="Plan kind" options={PLAN_KINDS.map((k) => ({ value: k, label: humanize(k) }))} />
      <TextField b={b} path={["config", "name"]} label="Plan name" vars hint="An open plan with the same kind and name is reused, e.g. “Restock {{today}}” gives one plan a day." />
      <ShopScopeEditor b={b} path={["config", "shops"]} label="Shops the plan covers" />
      <DateSpecEditor b={b} path={["config", "deadline"]} label="Deadline" optional />
    </>
  );
}

/** The kind of the plan an "add items" step writes to, when it names an earlier plan step. */
function referencedPlanKind(m: Builder, plan: unknown): string | null {
  if (typeof plan !== "string") return null;
  const ref = /\{\{\s*steps\.([a-z][a-z0-9_]*)\.output\.plan_id\s*\}\}/.exec(plan);
  if (!ref) return null;
  const step = allSteps(m.data.draft.value.flow).find((s) => s.node.id === ref[1]);
  return step?.node.type === "create_or_get_plan" ? (step.node.config.kind ?? null) : null;
}

function ItemsForm({ b, m }: { b: Binder; m: Builder }) {
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
      <TextField b={b} path={["config", "plan"]} label="Plan" vars hint="The plan id, usually the output of an earlier “Create or get plan” step." placeholder="{{steps.plan.output.plan_id}}" />
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
        <ChipsField b={b} path={["config", "filter", "ids"]} label="Specific ids (optional)" placeholder="inv_42" />
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
          ]}
          onSelect={(v) => b.set(["config", "quantity"], v === "fixed" ? { strategy: v, quantity: 1 } : v === "score" ? { strategy: v, min_score: 0.5 } : { strategy: v })}
        />
        {quantity === "fixed" && <NumberField b={b} path={["config", "quantity", "quantity"]} label="Quantity per item" min={1} />}
        {quantity === "fill_to_target" && <NumberField b={b} path={["config", "quantity", "target"]} label="Target (optional)" min={0} placeholder="Each item's own target" hint="Overrides the item's target when set." />}
        {quantity === "score" && <NumberField b={b} path={["config", "quantity", "min_score"]} label="Minimum score (0–1)" min={0} max={1} step={0.05} integer={false} hint="Only items whose recommendation scores at least this are added." />}
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
              <TextField b={b} path={["config", "matching", "from_shop"]} label="From shop" placeholder="shop_1" />
              <TextField b={b} path={["config", "matching", "to_shop"]} label="To shop" placeholder="shop_2" />
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

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: `not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

function WebhookForm({ b, m }: { b: Binder; m: Builder }) {
  const config = b.get(["config"]) as ConfigOf<"call_webhook">;
  const auth = config.auth?.type ?? "none";
  const bodyType = config.body_type ?? "json";
  const names = m.data.credentials.value;
  return (
    <>
      <div class="grid-method">
        <SelectField b={b} path={["config", "method"]} label="Method" value={config.method ?? "POST"} options={(["GET", "POST", "PUT", "PATCH", "DELETE"] as const).map((x) => ({ value: x, label: x }))} />
        <TextField b={b} path={["config", "url"]} label="URL" vars placeholder="https://erp.example.com/restock" mono />
      </div>
      <fieldset class="group">
        <legend>Authentication</legend>
        <SelectField
          b={b}
          path={["config", "auth", "type"]}
          label="Send"
          value={auth}
          options={[
            { value: "none", label: "No authentication" },
            { value: "bearer", label: "Bearer token (Authorization header)" },
            { value: "basic", label: "Basic auth (user:password)" },
            { value: "header", label: "A header of your choice" },
            { value: "hmac", label: "HMAC signature (Standard Webhooks)" },
          ]}
          onSelect={(v) => b.set(["config", "auth"], v === "none" ? { type: v } : { type: v, credential: config.auth?.credential ?? names?.[0] ?? "", ...(v === "header" ? { name: config.auth?.name ?? "X-Api-Key" } : {}) })}
        />
        {auth !== "none" && (
          <>
            <SelectField
              b={b}
              path={["config", "auth", "credential"]}
              label="Credential"
              hint="Secrets named CREDENTIAL_<NAME>; the value never appears in the workflow or its runs."
              options={(names ?? []).map((n) => ({ value: n, label: n }))}
            />
            <ErrorNote error={m.view.credentialsError.value} onRetry={() => void m.loadCredentials()} />
            {names && names.length === 0 && <p class="hint">No credentials exist yet. Add a secret CREDENTIAL_&lt;NAME&gt; to the Worker.</p>}
          </>
        )}
        {auth === "header" && <TextField b={b} path={["config", "auth", "name"]} label="Header name" placeholder="X-Api-Key" />}
      </fieldset>
      <KeyValueField b={b} path={["config", "headers"]} label="Headers" keyLabel="Header" valueLabel="Value" hint="An Idempotency-Key header, the same on every retry, is always sent." />
      <KeyValueField b={b} path={["config", "query"]} label="Query parameters" keyLabel="Parameter" valueLabel="Value" />
      <fieldset class="group">
        <legend>Body</legend>
        <SelectField
          b={b}
          path={["config", "body_type"]}
          label="Body format"
          value={bodyType}
          options={[
            { value: "json", label: "JSON" },
            { value: "form", label: "Form fields" },
            { value: "raw", label: "Raw text" },
            { value: "none", label: "No body" },
          ]}
          onSelect={(v) => {
            b.set(["config", "body_type"], v);
            b.set(["config", "body"], v === "json" ? {} : v === "form" ? {} : v === "raw" ? "" : undefined);
          }}
        />
        {bodyType === "json" && <ParsedField key="json" b={b} path={["config", "body"]} label="JSON body" multiline vars format={(v) => pretty(v)} parse={parseJson} hint="Templates inside strings are filled in at run time." />}
        {bodyType === "form" && <KeyValueField key="form" b={b} path={["config", "body"]} label="Form fields" keyLabel="Field" valueLabel="Value" />}
        {bodyType === "raw" && <TextField key="raw" b={b} path={["config", "body"]} label="Raw body" multiline vars mono />}
      </fieldset>
      <div class="grid-2">
        <NumberField b={b} path={["config", "timeout_ms"]} label="Request timeout (ms)" min={100} max={120000} placeholder="30000" />
        <ParsedField
          b={b}
          path={["config", "success_status"]}
          label="Success statuses"
          hint="Statuses or ranges, e.g. 200-299, 304. 408, 429, 5xx and network errors are retried."
          format={(v) => formatStatuses(v)}
          parse={(t) => {
            const r = parseStatuses(t);
            return typeof r === "string" ? { ok: false, error: r } : { ok: true, value: r };
          }}
        />
      </div>
    </>
  );
}

function EmailForm({ b }: { b: Binder }) {
  return (
    <>
      <ChipsField b={b} path={["config", "to"]} label="To" vars placeholder="planner@example.com" />
      <ChipsField b={b} path={["config", "cc"]} label="Cc" vars />
      <ChipsField b={b} path={["config", "bcc"]} label="Bcc" vars />
      <div class="grid-2">
        <TextField b={b} path={["config", "from"]} label="From (optional)" optional placeholder="Default sender" />
        <TextField b={b} path={["config", "reply_to"]} label="Reply to (optional)" optional />
      </div>
      <TextField b={b} path={["config", "subject"]} label="Subject" vars />
      <SelectField
        b={b}
        path={["config", "format"]}
        label="Format"
        value={(b.get(["config", "format"]) as string | undefined) ?? "text"}
        options={[
          { value: "text", label: "Plain text" },
          { value: "markdown", label: "Markdown (sent as HTML with a text version)" },
          { value: "html", label: "HTML" },
        ]}
      />
      <TextField b={b} path={["config", "body"]} label="Body" multiline rows={8} vars hint="Values filled into HTML or markdown are escaped." />
    </>
  );
}

function WaitForm({ b }: { b: Binder }) {
  const config = b.get(["config"]) as { duration?: unknown; until?: unknown };
  const mode = config.until !== undefined ? "until" : "duration";
  return (
    <>
      <SelectField
        b={b}
        path={["config", "mode"]}
        label="Wait"
        value={mode}
        options={[
          { value: "duration", label: "For a while" },
          { value: "until", label: "Until a date" },
        ]}
        onSelect={(v) => b.set(["config"], v === "duration" ? { duration: { hours: 1 } } : { until: { type: "relative", days: 1 } })}
      />
      {mode === "duration" ? (
        <fieldset class="group">
          <legend>Duration</legend>
          <GroupIssues b={b} path={["config", "duration"]} />
          <div class="grid-3">
            <NumberField b={b} path={["config", "duration", "days"]} label="Days" min={0} integer={false} />
            <NumberField b={b} path={["config", "duration", "hours"]} label="Hours" min={0} integer={false} />
            <NumberField b={b} path={["config", "duration", "minutes"]} label="Minutes" min={0} integer={false} />
          </div>
          <p class="hint">At most 365 days. The run sleeps and costs nothing while it waits.</p>
        </fieldset>
      ) : (
        <DateSpecEditor b={b} path={["config", "until"]} label="Wait until (start of the day, UTC)" />
      )}
    </>
  );
}

function TypeForm({ type, b, m }: { type: NodeType; b: Binder; m: Builder }) {
  switch (type) {
    case "create_or_get_plan":
      return <PlanForm b={b} />;
    case "add_items_to_plan":
      return <ItemsForm b={b} m={m} />;
    case "call_webhook":
      return <WebhookForm b={b} m={m} />;
    case "send_email":
      return <EmailForm b={b} />;
    case "condition":
      return (
        <fieldset class="group">
          <legend>Go to “If true” when</legend>
          <ConditionGroupEditor b={b} path={["config"]} />
        </fieldset>
      );
    case "wait":
      return <WaitForm b={b} />;
  }
}

/** The id field renames on commit (Enter or leaving the field) and rewrites references to it. */
function NodeIdField({ m, step, b }: { m: Builder; step: FlowStep; b: Binder }) {
  const [text, setText] = useState(step.node.id);
  const [error, setError] = useState<string | null>(null);
  const id = fieldId(b, ["id"]);
  const commit = () => {
    if (text === step.node.id) return;
    if (!NODE_ID.test(text)) {
      setError("Use 1–64 characters: a lowercase letter, then lowercase letters, digits or _");
      b.localError(id, "Step id: use a lowercase letter, then lowercase letters, digits or _");
      return;
    }
    if (allSteps(m.data.draft.peek().flow).some((s) => s.node.id === text && s.key !== step.key)) {
      setError(`Another step already has the id “${text}”`);
      b.localError(id, `Step id “${text}” is already used`);
      return;
    }
    setError(null);
    b.localError(id, null);
    m.renameNode(step.key, text);
  };
  return (
    <FieldShell b={b} path={["id"]} label="Step id" local={error} hint="Used in variables: {{steps.<id>.output…}}. Renaming updates references.">
      {(a) => (
        <input
          {...a}
          class="mono"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onChange={commit}
          onKeyDown={(e) => {
            if (e.key === "Enter") commit();
          }}
        />
      )}
    </FieldShell>
  );
}

export function NodePanel({ m, step }: { m: Builder; step: FlowStep }) {
  const b = nodeBinder(m, step);
  const type = step.node.type;
  const isAction = type !== "condition" && type !== "wait";
  return (
    <section class="inspector" aria-labelledby={`inspector-${step.key}`}>
      <header class="inspector-head">
        <div>
          <p class="eyebrow">{NODE_LABELS[type]}</p>
          <h2 id={`inspector-${step.key}`} tabIndex={-1}>
            {step.node.name || step.node.id}
          </h2>
          <p class="hint">{NODE_HINTS[type]}</p>
        </div>
        <button type="button" class="btn btn-danger-ghost" onClick={() => m.removeStep(step.key)}>
          Remove step
        </button>
      </header>
      <GroupIssues b={b} path={[]} />
      <div class="grid-2">
        <NodeIdField key={step.node.id} m={m} step={step} b={b} />
        <TextField b={b} path={["name"]} label="Label (optional)" optional placeholder={NODE_LABELS[type]} />
      </div>
      <TypeForm type={type} b={b} m={m} />
      <NodeSettings b={b} action={isAction} />
    </section>
  );
}

export function TriggerPanel({ m }: { m: Builder }) {
  const b = rootBinder(m);
  const trigger = m.data.draft.value.trigger;
  const events = trigger.events ?? ["created", "updated"];
  return (
    <section class="inspector" aria-labelledby="inspector-trigger">
      <header class="inspector-head">
        <div>
          <p class="eyebrow">Trigger</p>
          <h2 id="inspector-trigger" tabIndex={-1}>
            When this workflow starts
          </h2>
          <p class="hint">A run starts for each matching event while the workflow is active.</p>
        </div>
      </header>
      <GroupIssues b={b} path={["trigger"]} />
      <SelectField
        b={b}
        path={["trigger", "entity"]}
        label="Entity"
        options={TRIGGER_ENTITIES.map((e) => ({ value: e, label: humanize(e) }))}
        onSelect={(v) => m.setRoot(["trigger", "entity"], v)}
      />
      <fieldset class="group" id={fieldId(b, ["trigger", "events"])}>
        <legend>Event kinds</legend>
        <div class="checks-inline">
          {EVENT_KINDS.map((k) => (
            <label key={k} class="check">
              <input
                type="checkbox"
                checked={events.includes(k)}
                onChange={(e) => m.setRoot(["trigger", "events"], e.currentTarget.checked ? EVENT_KINDS.filter((x) => x === k || events.includes(x)) : events.filter((x) => x !== k))}
              />
              {k}
            </label>
          ))}
        </div>
        <GroupIssues b={b} path={["trigger", "events"]} />
      </fieldset>
      <TagFilterEditor b={b} path={["trigger", "tags"]} label="Tags" hint="Only entities with these tags start a run." />
      <fieldset class="group">
        <legend>Conditions (optional)</legend>
        <p class="hint">Compare the entity's values, e.g. {"{{trigger.data.on_hand}}"} is less than 5.</p>
        <ConditionGroupEditor b={b} path={["trigger", "conditions"]} emptyRemoves />
      </fieldset>
      <TextField b={b} path={["description"]} label="Description (optional)" multiline rows={3} optional />
    </section>
  );
}
