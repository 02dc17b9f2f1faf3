import { KeyValueField } from "../components/common/collection-fields";
import { NumberField, ParsedField, SelectField, TextField } from "../components/common/fields";
import { ErrorNote } from "../components/common/ui";
import type { ConfigOf } from "../lib/catalog";
import { count, formatStatuses, parseStatuses, pretty } from "../lib/util";
import type { NodeFormProps, NodeUi } from "./types";

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: `not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}

function WebhookForm({ b, m }: NodeFormProps) {
  const config = b.get(["config"]) as ConfigOf<"call_webhook">;
  const auth = config.auth?.type ?? "none";
  const bodyType = config.body_type ?? "json";
  const names = m.data.credentials.value;
  return (
    <>
      <div class="grid-method">
        <SelectField b={b} path={["config", "method"]} label="Method" value={config.method ?? "POST"} options={(["GET", "POST", "PUT", "PATCH", "DELETE"] as const).map((x) => ({ value: x, label: x }))} />
        <TextField b={b} path={["config", "url"]} label="URL" vars placeholder="e.g. https://erp.example.com/restock" mono />
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
        {auth === "header" && <TextField b={b} path={["config", "auth", "name"]} label="Header name" placeholder="e.g. X-Api-Key" />}
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
        <NumberField b={b} path={["config", "timeout_ms"]} label="Request timeout (ms)" min={100} max={120000} placeholder="30000 (the default)" />
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

export const callWebhook: NodeUi<"call_webhook"> = {
  label: "Call webhook",
  hint: "Send an HTTP request to another system",
  idBase: "webhook",
  outputs: ["status", "headers", "body"],
  colour: "#2454c5",
  action: true,
  defaultConfig: () => ({ method: "POST", url: "", headers: {}, query: {}, body_type: "json", body: {}, auth: { type: "none" } }),
  summary: (c) => `${c.method ?? "POST"} ${c.url || "(no URL yet)"}`,
  Form: WebhookForm,
  counters: [{ key: "webhooks_called", text: (n) => `${count(n, "webhook")} called`, short: (n) => count(n, "webhook") }],
};
