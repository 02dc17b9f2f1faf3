import { useRef, useState } from "preact/hooks";
import { ROOT_KEY, type PlacedIssue } from "../../../models/draft";
import { EVENT_KINDS } from "../../lib/catalog";
import { isHiddenPath } from "../../lib/issue-words";
import { plural } from "../../lib/plural";
import { allSteps } from "../../lib/flow";
import { downloadText, formatDateTime, pathId, pretty, slug } from "../../lib/util";
import { ErrorNote, Inspector, JsonBlock, Link, Notice, StatusBadge } from "../common/ui";
import type { Builder } from "./binders";
import { EntityPicker } from "./preview-panel";

/** "config.quantity.quantity" → "quantity › quantity": the path in the words of the form. */
function fieldWords(i: PlacedIssue): string {
  // Parts drawn rather than shown as fields (start, next, …) have no field to name.
  if (isHiddenPath(i.rest, i.key === ROOT_KEY)) return "";
  const parts = i.rest.split(".").filter((p) => p !== "" && p !== "config" && !(i.key === ROOT_KEY && (p === "trigger" || p === "controls")));
  return parts.map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : p.replaceAll("_", " "))).join(" › ");
}

/**
 * Every issue, each with a button that opens its step and focuses the nearest field; then the
 * warnings (fields an entity may not have), calmer: they block nothing.
 */
export function IssueSummary({ m }: { m: Builder }) {
  const issues = m.data.issues.value;
  const warnings = m.data.warnings.value;
  if (issues.length === 0 && warnings.length === 0) return null;
  const steps = allSteps(m.data.draft.value.flow);
  const where = (i: PlacedIssue) => {
    if (i.key === ROOT_KEY) return i.rest.startsWith("trigger") ? "Trigger" : i.rest.startsWith("controls") ? "Flow control" : "Workflow";
    const s = steps.find((x) => x.key === i.key);
    return s ? `Step “${s.node.name || s.node.id}”` : "A step";
  };
  const show = (i: PlacedIssue) => {
    const prefix = i.key === ROOT_KEY ? "f-root" : `f-${i.key}`;
    m.select(i.key !== ROOT_KEY ? i.key : i.rest.startsWith("controls") ? "controls" : "trigger");
    const parts = i.rest ? i.rest.split(".") : [];
    // After the panel has rendered (and scrolled to its top), focus the deepest field there is.
    setTimeout(() => {
      for (let n = parts.length; n >= 0; n--) {
        const base = pathId(prefix, parts.slice(0, n));
        const el = document.getElementById(base) ?? document.getElementById(`${base}-group`);
        if (el) {
          el.focus();
          el.scrollIntoView({ block: "center" });
          return;
        }
      }
      const card = i.key !== ROOT_KEY ? `step-${i.key}` : i.rest.startsWith("controls") ? "card-controls" : i.rest === "nodes" ? "add-first" : "card-trigger";
      document.getElementById(card)?.focus();
    }, 50);
  };
  const item = (i: PlacedIssue, n: number) => (
    <li key={n}>
      <button type="button" class="link-btn" onClick={() => show(i)}>
        {where(i)}
        {fieldWords(i) && ` › ${fieldWords(i)}`}
      </button>
      : {i.message}
      {i.activation && <span class="tag">blocks activation</span>}
    </li>
  );
  return (
    <>
      {issues.length > 0 && (
        <section class="issue-summary" aria-labelledby="issue-summary-title">
          <h2 id="issue-summary-title">
            {plural(issues.length, "problem")} to fix
          </h2>
          <ul>{issues.map(item)}</ul>
        </section>
      )}
      {warnings.length > 0 && (
        <section class="issue-summary warning-summary" aria-labelledby="warning-summary-title">
          <h2 id="warning-summary-title">
            {plural(warnings.length, "warning")} to look at
          </h2>
          <ul>{warnings.map(item)}</ul>
        </section>
      )}
    </>
  );
}

export { VersionsPanel } from "./history-panel";

export function JsonPanel({ m }: { m: Builder }) {
  const def = m.definition.value.def;
  const text = pretty(def);
  const [importText, setImportText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);
  const doImport = (t: string) => {
    const problem = m.importJson(t);
    setError(problem);
    if (!problem) setImportText("");
  };
  return (
    <Inspector eyebrow="Definition" title="JSON" titleId="json-title" hint={`What the editor holds now${m.dirty.value ? " (not saved yet)" : ""}.`}>
      <div class="row-actions">
        <button
          type="button"
          class="btn btn-small"
          onClick={() =>
            navigator.clipboard.writeText(text).then(
              () => setCopied("Copied to the clipboard."),
              (err: unknown) => setCopied(`Could not copy: ${err instanceof Error ? err.message : String(err)}`),
            )
          }
        >
          Copy
        </button>
        <button type="button" class="btn btn-small" onClick={() => downloadText(`${slug(def.name ?? "workflow")}.json`, text)}>
          Export (download)
        </button>
      </div>
      {copied && <Notice kind="info">{copied}</Notice>}
      <JsonBlock value={def} label="Workflow definition JSON" />
      <h3>Import</h3>
      <p class="hint">Paste a definition (or a whole workflow as the API returns it), or pick a .json file. It replaces what is in the editor; nothing is saved until you save.</p>
      <label for="import-json">Definition to import</label>
      <textarea id="import-json" class="mono" rows={8} value={importText} onInput={(e) => setImportText(e.currentTarget.value)} />
      <div class="row-actions">
        <button type="button" class="btn" disabled={!importText.trim()} onClick={() => doImport(importText)}>
          Import pasted JSON
        </button>
        <label class="btn file-btn">
          Import a file…
          <input
            ref={file}
            type="file"
            accept="application/json,.json"
            class="visually-hidden"
            onChange={async (e) => {
              const f = e.currentTarget.files?.[0];
              if (!f) return;
              try {
                doImport(await f.text());
              } catch (err) {
                setError(`Could not read the file: ${err instanceof Error ? err.message : String(err)}`);
              }
              if (file.current) file.current.value = "";
            }}
          />
        </label>
      </div>
      <ErrorNote error={error} />
    </Inspector>
  );
}

export function TestPanel({ m }: { m: Builder }) {
  const t = m.test;
  const entity = m.data.draft.value.trigger.entity;
  const results = t.data.results.value;
  const run = t.data.run.value;
  // The run's steps by their labels (as the canvas shows them), the id small beside.
  const names = new Map(run ? run.definition.nodes.map((n) => [n.id, n.name]) : []);
  return (
    <Inspector
      eyebrow="Test"
      title="Test this workflow"
      titleId="test-title"
      hint="Runs the saved version once with an event you build, whatever its status. The run is marked as a test; its actions are real."
    >
      <EntityPicker
        id="test-search"
        entity={entity}
        query={t.view.query.value}
        searching={t.view.searching.value}
        error={t.view.searchError.value}
        results={results}
        picked={t.data.picked.value?.id ?? null}
        onQuery={(q) => t.edit("query", q)}
        onSearch={() => void t.search()}
        onPick={(r) => t.pick(r)}
      />
      <button type="button" class="link-btn" onClick={() => t.blank()}>
        Start from an empty event instead
      </button>
      <div class="grid-2">
        <div class="field">
          <label for="test-kind">Event</label>
          <select id="test-kind" value={t.view.kind.value} onChange={(e) => t.edit("kind", e.currentTarget.value as typeof t.view.kind.value)}>
            {EVENT_KINDS.map((k) => (
              <option key={k} value={k}>
                {entity}.{k}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="test-entity-id">Entity id</label>
          <input id="test-entity-id" class="mono" value={t.view.entityId.value} onInput={(e) => t.edit("entityId", e.currentTarget.value)} />
        </div>
      </div>
      <div class="field">
        <label for="test-data">Entity data (JSON)</label>
        <textarea id="test-data" class="mono" rows={8} value={t.view.dataText.value} onInput={(e) => t.edit("dataText", e.currentTarget.value)} aria-describedby="test-data-hint" />
        <p class="hint" id="test-data-hint">
          Edit values to try cases, e.g. lower on_hand. This is {"{{trigger.data}}"} in the run.
        </p>
      </div>
      <div class="field">
        <label for="test-previous">Previous snapshot (JSON, optional)</label>
        <textarea id="test-previous" class="mono" rows={3} value={t.view.previousText.value} onInput={(e) => t.edit("previousText", e.currentTarget.value)} placeholder='e.g. {"on_hand": 12}' />
      </div>
      <ErrorNote error={t.view.formError.value} />
      <ErrorNote error={t.view.startError.value} />
      <button type="button" class="btn btn-primary" disabled={t.view.starting.value} onClick={() => void t.start()}>
        {t.view.starting.value ? "Starting…" : m.dirty.value || !m.data.workflow.value ? "Save and start test run" : "Start test run"}
      </button>
      {t.view.runId.value && (
        <section class="test-run" aria-live="polite" aria-labelledby="test-run-title">
          <h3 id="test-run-title">
            Test run {run ? <StatusBadge status={run.status} /> : <span class="hint">starting…</span>}
          </h3>
          <ErrorNote error={t.view.runError.value} />
          {run && (
            <>
              <ol class="mini-steps">
                {run.steps.map((s) => (
                  <li key={s.node_id}>
                    {names.get(s.node_id) ? (
                      <>
                        {names.get(s.node_id)} <code class="title-id">{s.node_id}</code>
                      </>
                    ) : (
                      <code>{s.node_id}</code>
                    )}{" "}
                    <StatusBadge status={s.status} />
                    {s.wake_at && s.status === "running" && <span class="hint"> sleeping until {formatDateTime(s.wake_at)}</span>}
                    {s.next_attempt_at && s.status === "running" && <span class="hint"> retrying at {formatDateTime(s.next_attempt_at)}</span>}
                    {s.error && <p class="step-error">{s.error}</p>}
                  </li>
                ))}
              </ol>
              {run.error && <p class="step-error">{run.error}</p>}
            </>
          )}
          <Link href={`/runs/${encodeURIComponent(t.view.runId.value)}`} class="btn btn-small">
            Open run details
          </Link>
        </section>
      )}
    </Inspector>
  );
}
