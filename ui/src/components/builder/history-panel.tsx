/** The builder's history: every saved version, what each changed, any two compared, and restore. */
import { useState } from "preact/hooks";
import { diffDefinitions, diffSize, isEmptyDiff, pathWords, valueWords, type DefinitionDiff, type FieldChange, type StepRef } from "../../../models/history";
import type { WorkflowVersion } from "../../api";
import { plural } from "../../lib/plural";
import { formatDateTime, relativeTime } from "../../lib/util";
import { nodeUi } from "../../nodes";
import { ErrorNote, Inspector, JsonBlock, Loading, StatusBadge } from "../common/ui";
import type { Builder } from "./binders";

function FieldLines({ changes, atRoot }: { changes: FieldChange[]; atRoot?: boolean }) {
  return (
    <>
      {changes.map((c) => (
        <li key={c.path} class="diff-line diff-changed">
          <span class="diff-path">{pathWords(c.path, atRoot)}:</span>{" "}
          <del title="before">{valueWords(c.before)}</del> <span aria-hidden="true">→</span>
          <span class="visually-hidden"> becomes</span> <ins title="after">{valueWords(c.after)}</ins>
        </li>
      ))}
    </>
  );
}

function StepName({ s }: { s: StepRef }) {
  return (
    <>
      <span class="diff-type">{nodeUi(s.type).label}</span> <strong>{s.name || s.id}</strong> {s.name && <code>{s.id}</code>}
    </>
  );
}

/** A diff as lines a merchandiser reads: what was added, removed, and changed (old → new). */
export function DiffView({ diff, label }: { diff: DefinitionDiff; label: string }) {
  if (isEmptyDiff(diff)) return <p class="hint diff-none">No differences: both versions have the same definition.</p>;
  const part = (title: string, changes: FieldChange[], atRoot?: boolean) =>
    changes.length > 0 && (
      <li class="diff-part">
        <span class="diff-part-title">{title}</span>
        <ul>
          <FieldLines changes={changes} atRoot={atRoot} />
        </ul>
      </li>
    );
  return (
    <ul class="diff" aria-label={label}>
      {part("Workflow", diff.workflow, true)}
      {part("Trigger", diff.trigger)}
      {part("Flow control", diff.controls)}
      {diff.added.map((s) => (
        <li key={`+${s.id}`} class="diff-line diff-added">
          <span class="diff-mark">Step added:</span> <StepName s={s} />
        </li>
      ))}
      {diff.removed.map((s) => (
        <li key={`-${s.id}`} class="diff-line diff-removed">
          <span class="diff-mark">Step removed:</span> <StepName s={s} />
        </li>
      ))}
      {diff.changed.map((s) => (
        <li key={`~${s.id}`} class="diff-part">
          <span class="diff-part-title">
            Step changed: <StepName s={s} />
          </span>
          <ul>
            <FieldLines changes={s.fields} />
          </ul>
        </li>
      ))}
    </ul>
  );
}

/** Any two loaded versions side by side: from an older one to a newer one. */
function Compare({ versions }: { versions: WorkflowVersion[] }) {
  const [from, setFrom] = useState(versions[1]?.version ?? versions[0]!.version);
  const [to, setTo] = useState(versions[0]!.version);
  const a = versions.find((v) => v.version === from);
  const b = versions.find((v) => v.version === to);
  const pick = (id: string, label: string, value: number, set: (n: number) => void) => (
    <span class="compare-pick">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(Number(e.currentTarget.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            Version {v.version}
          </option>
        ))}
      </select>
    </span>
  );
  return (
    <details class="compare">
      <summary>Compare any two versions</summary>
      <div class="compare-row">
        {pick("compare-from", "From", from, setFrom)}
        {pick("compare-to", "to", to, setTo)}
      </div>
      {a && b && <DiffView diff={diffDefinitions(a.definition, b.definition)} label={`Changes from version ${a.version} to version ${b.version}`} />}
    </details>
  );
}

export function VersionsPanel({ m }: { m: Builder }) {
  const { items, loaded, nextCursor } = m.data.versions;
  const versions = loaded.value ? items.value : null;
  const wf = m.data.workflow.value;
  const [viewing, setViewing] = useState<number | null>(null);
  // The newest version's changes are open at first: usually what one comes to see.
  const [open, setOpen] = useState<Set<number> | null>(null);
  if (!wf) return <p class="hint">Save the workflow to start its version history.</p>;
  const shown = open ?? new Set(versions?.[0] ? [versions[0].version] : []);
  const toggle = (n: number) => {
    const next = new Set(shown);
    if (next.has(n)) next.delete(n);
    else next.add(n);
    setOpen(next);
  };
  return (
    <Inspector eyebrow="History" title="Versions" titleId="versions-title" hint="Every save is a version. Runs keep the version they started with; restoring saves an old version as the newest.">
      <ErrorNote error={m.view.versionsError.value} onRetry={() => void m.loadVersions()} />
      {!versions && m.view.versionsLoading.value && <Loading label="Loading versions…" />}
      {versions && versions.length > 1 && <Compare versions={versions} />}
      {versions && (
        <ol class="versions">
          {versions.map((v, i) => {
            const previous = versions[i + 1] ?? null;
            const diff = previous ? diffDefinitions(previous.definition, v.definition) : null;
            const current = v.version === wf.version;
            return (
              <li key={v.version} class="version" data-version={v.version}>
                <div class="version-head">
                  <strong>Version {v.version}</strong>
                  {current && <StatusBadge status="active" label="current" />}
                  <time dateTime={v.created_at} title={formatDateTime(v.created_at)}>
                    {relativeTime(v.created_at)}
                  </time>
                </div>
                <p class="hint">
                  {v.definition.name} · {plural(v.definition.nodes.length, "step")}
                  {diff && ` · ${isEmptyDiff(diff) ? "same definition as version " + previous!.version : plural(diffSize(diff), "change")}`}
                  {!previous && v.version === 1 && " · the first version"}
                </p>
                <div class="row-actions">
                  {diff && (
                    <button type="button" class="btn btn-small" aria-expanded={shown.has(v.version)} onClick={() => toggle(v.version)}>
                      {shown.has(v.version) ? "Hide changes" : "What changed"}
                    </button>
                  )}
                  {!current && !m.readOnly.value && (
                    <button type="button" class="btn btn-small" onClick={() => m.restoreVersion(v)}>
                      Restore…
                    </button>
                  )}
                  <button type="button" class="btn btn-small" onClick={() => m.loadVersion(v)}>
                    Load into editor
                  </button>
                  <button type="button" class="btn btn-small" aria-expanded={viewing === v.version} onClick={() => setViewing(viewing === v.version ? null : v.version)}>
                    {viewing === v.version ? "Hide JSON" : "View JSON"}
                  </button>
                </div>
                {diff && shown.has(v.version) && <DiffView diff={diff} label={`Changes from version ${previous!.version} to version ${v.version}`} />}
                {viewing === v.version && <JsonBlock value={v.definition} label={`Definition of version ${v.version}`} />}
              </li>
            );
          })}
        </ol>
      )}
      {nextCursor.value && (
        <button type="button" class="btn" onClick={() => void m.loadMoreVersions()}>
          Older versions
        </button>
      )}
    </Inspector>
  );
}
