import { useEffect } from "preact/hooks";
import type { Preview } from "../../../models/preview";
import type { EntitySnapshot, MatchingNowPreview, PreviewStep, RunPreview } from "../../api";
import { humanize, withArticle } from "../../lib/catalog";
import { allSteps } from "../../lib/flow";
import { count } from "../../lib/util";
import { ErrorNote, Inspector, Loading, StatusBadge } from "../common/ui";
import type { Builder } from "./binders";
import { Impact, list, StepPreviewBody } from "./preview-views";

/** A search over the mirror and a list to pick one entity from (the Test panel's picker too). */
export function EntityPicker(props: {
  id: string;
  entity: string;
  query: string;
  searching: boolean;
  error: string | null;
  results: EntitySnapshot[] | null;
  picked: string | null;
  onQuery: (q: string) => void;
  onSearch: () => void;
  onPick: (e: EntitySnapshot) => void;
}) {
  const { results } = props;
  return (
    <>
      <form
        class="search-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          props.onSearch();
        }}
      >
        <label for={props.id}>Find {withArticle(props.entity)} by id or name</label>
        <div class="control-row">
          <input id={props.id} value={props.query} onInput={(e) => props.onQuery(e.currentTarget.value)} placeholder="id or name" />
          <button type="submit" class="btn" disabled={props.searching}>
            {props.searching ? "Searching…" : "Search"}
          </button>
        </div>
      </form>
      <ErrorNote error={props.error} />
      {results && results.length === 0 && <p class="hint">No {humanize(props.entity)} matches. Try another search.</p>}
      {results && results.length > 0 && (
        <ul class="pick-list" aria-label="Matching entities">
          {results.map((r) => (
            <li key={r.id}>
              <button type="button" class={`pick ${props.picked === r.id ? "selected" : ""}`} aria-pressed={props.picked === r.id} onClick={() => props.onPick(r)}>
                <code>{r.id}</code>
                {typeof r.name === "string" && <span>{r.name}</span>}
                {(r.tags ?? []).length > 0 && <span class="hint">{(r.tags ?? []).join(", ")}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const STEP_STATUS: Record<PreviewStep["status"], { tone: string; label: string }> = {
  would_run: { tone: "succeeded", label: "would run" },
  skipped: { tone: "skipped", label: "skipped" },
  would_fail: { tone: "failed", label: "would fail" },
};

function RunPreviewView({ m, answer }: { m: Builder; answer: RunPreview }) {
  const names = new Map(allSteps(m.data.draft.value.flow).map((s) => [s.node.id, s.node.name]));
  const t = answer.trigger;
  return (
    <section class="preview-result" aria-labelledby="preview-result-title" aria-live="polite">
      <h3 id="preview-result-title">Preview of version {answer.version}</h3>
      <p>
        <StatusBadge status={t.matches ? "succeeded" : "skipped"} label={t.matches ? "trigger matches" : "trigger does not match"} />
      </p>
      {t.reasons.length > 0 && (
        <ul class="preview-reasons">
          {t.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      <Impact impact={answer.impact} label="Impact of this run" />
      <ol class="preview-steps">
        {answer.steps.map((s) => (
          <li key={s.node_id} class={`preview-step preview-${s.status}`}>
            <div class="preview-step-head">
              <strong>{names.get(s.node_id) || s.node_id}</strong> <span class="hint">{s.type.replaceAll("_", " ")}</span>{" "}
              <StatusBadge status={STEP_STATUS[s.status].tone} label={STEP_STATUS[s.status].label} />
            </div>
            {s.error && <p class="step-error">{s.error}</p>}
            <StepPreviewBody step={s} />
          </li>
        ))}
      </ol>
    </section>
  );
}

function MatchingView({ answer }: { answer: MatchingNowPreview }) {
  return (
    <section class="preview-result" aria-labelledby="preview-result-title" aria-live="polite">
      <h3 id="preview-result-title">Everything that matches now (version {answer.version})</h3>
      <p class="preview-count">
        <strong>{count(answer.runs, "run")}</strong> would start{answer.truncated ? " (at least: the count stopped at the limit)" : ""}, of {answer.examined} examined
        {answer.failing > 0 && <>; {count(answer.failing, "run")} with a step that would fail</>}.
      </p>
      <Impact impact={answer.impact} label="Summed impact of the runs" />
    </section>
  );
}

export function PreviewPanel({ m }: { m: Builder }) {
  const p = m.preview;
  const entity = m.data.draft.value.trigger.entity;
  const mode = p.view.mode.value;
  const answer = p.data.answer.value;
  // Results of another entity (the trigger changed since the search) are not offered.
  const current = p.data.searchedFor.value === entity;
  const picked = current ? p.data.picked.value : null;
  const needsSave = m.dirty.value || !m.data.workflow.value;
  useEffect(() => {
    // A new answer is brought into view (on a phone the panel sits below the flow).
    if (answer) document.getElementById("preview-result-title")?.scrollIntoView({ block: "nearest" });
  }, [answer]);
  return (
    <Inspector
      eyebrow="Preview"
      title="Preview with real data"
      titleId="preview-title"
      hint="Shows what a run of the saved version would do — which branch each condition takes, each message, code, status and plan line — and writes nothing."
    >
      <fieldset class="bare preview-mode">
        <legend class="visually-hidden">Preview on</legend>
        <label>
          <input type="radio" name="preview-mode" checked={mode === "entity"} onChange={() => p.setMode("entity")} /> One {humanize(entity)}
        </label>
        <label>
          <input type="radio" name="preview-mode" checked={mode === "matching"} onChange={() => p.setMode("matching")} /> Everything that matches now
        </label>
      </fieldset>
      {mode === "entity" ? (
        <>
          <EntityPicker
            id="preview-search"
            entity={entity}
            query={p.view.query.value}
            searching={p.view.searching.value}
            error={p.view.searchError.value}
            results={current ? p.data.results.value : null}
            picked={picked?.id ?? null}
            onQuery={(q) => p.setQuery(q)}
            onSearch={() => void p.search()}
            onPick={(e) => p.pick(e)}
          />
          {!current && <p class="hint">Search the mirror, then pick one to preview on.</p>}
        </>
      ) : (
        <div class="field">
          <label for="preview-limit">At most this many runs</label>
          <input id="preview-limit" type="number" min={1} max={1000} value={p.view.limit.value} onChange={(e) => p.setLimit(e.currentTarget.valueAsNumber)} />
        </div>
      )}
      {needsSave && <p class="hint">A preview runs a saved version: the button saves your edits first.</p>}
      <button type="button" class="btn btn-primary" disabled={p.view.running.value || m.view.busy.value !== null} onClick={() => void p.run()}>
        {p.view.running.value ? "Previewing…" : `${needsSave ? "Save and preview" : "Preview"}${mode === "entity" && picked ? ` on ${picked.id}` : ""}`}
      </button>
      <ErrorNote error={p.view.error.value} />
      {p.view.running.value && <Loading label="Previewing…" />}
      {answer && ("matching_now" in answer ? <MatchingView answer={answer} /> : <RunPreviewView m={m} answer={answer} />)}
    </Inspector>
  );
}
