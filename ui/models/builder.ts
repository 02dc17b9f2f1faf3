import { batch, computed, createModel, effect, signal } from "@preact/signals";
import { api, ApiError, describeError, type DefinitionInput, type Workflow, type WorkflowStatus, type WorkflowVersion } from "../src/api";
import { allSteps, type ChainRef } from "../src/lib/flow";
import { draftFrom, EMPTY_TRIGGER, parseImport, place, ROOT_KEY, toDefinition, type Draft, type PlacedIssue } from "./draft";
import { isHiddenPath } from "../src/lib/issue-words";
import { plural } from "../src/lib/plural";
import { flowEdits } from "./flow-edits";
import { pagedList } from "./paged-list";
import { router } from "./router";
import { loadWhileSignedIn } from "./session";
import { createPreview } from "./preview";
import { createTestRun, type TestForm } from "./test-run";
import { createFlowStats } from "./flow-stats";

export type SidePanel = "inspector" | "versions" | "json" | "test" | "preview";
/** What the inspector shows: the trigger, flow control (SPEC §14), or a step by its key. */
export type Selection = "trigger" | "workflow" | "controls" | (string & {});

/** A question before a step that cannot be undone (archive, remove a condition with its branches). */
export interface Confirm {
  title: string;
  text: string;
  action: string;
  /** The button that backs out; "Keep it" by default. */
  cancel?: string;
  /** A red action button (the default: the question is about something lost). */
  danger?: boolean;
  run: () => void;
}

/** Hands the view over from "new" to the created workflow's page. */
let handoff: { notice: string; selected: number | "trigger" | "workflow" | "controls"; panel: SidePanel; test: TestForm | null } | null = null;

export const BuilderModel = createModel((workflowId: string | null) => {
  // Only a saved workflow has versions (the panel offers none before), and then workflowId is its id.
  const versions = pagedList<WorkflowVersion>("the version history", (cursor) => api.listVersions(workflowId ?? "", cursor));
  const data = {
    workflow: signal<Workflow | null>(null),
    draft: signal<Draft>({ name: "", trigger: EMPTY_TRIGGER, flow: { root: { steps: [] }, detached: [] } }),
    /** JSON of the definition as last loaded or saved; the draft is dirty when it differs. */
    savedJson: signal<string>(""),
    credentials: signal<string[] | null>(null),
    /** The version history, loaded when its panel first opens. */
    versions: versions.data,
    issues: signal<PlacedIssue[]>([]),
    /** What the last check warned about (a field the entity may not have): shown, blocks nothing. */
    warnings: signal<PlacedIssue[]>([]),
  };
  const view = {
    loading: signal(workflowId !== null),
    loadError: signal<string | null>(null),
    credentialsError: signal<string | null>(null),
    versionsLoading: versions.loading,
    versionsError: versions.error,
    // `?show=controls` (links from a waiting run, a paused workflow) opens on flow control.
    selected: signal<Selection>(router.query.peek().get("show") === "controls" ? "controls" : "trigger"),
    panel: signal<SidePanel>("inspector"),
    /** Where the "add a step" menu is open. */
    adding: signal<{ ref: ChainRef; index: number } | null>(null),
    busy: signal<null | "saving" | "checking" | "status">(null),
    message: signal<{ kind: "ok" | "error"; text: string } | null>(null),
    /** Problems the browser found before sending (JSON that does not parse), by field id. */
    localErrors: signal<Record<string, string>>({}),
    /** Validate again as the user edits, once a check has shown issues. */
    liveCheck: signal(false),
    confirm: signal<Confirm | null>(null),
    /** An element id to focus after the next render (issue links, new steps). */
    focusId: signal<string | null>(null),
  };

  const definition = computed(() => toDefinition(data.draft.value));
  const dirty = computed(() => JSON.stringify(definition.value.def) !== data.savedJson.value);
  const status = computed<WorkflowStatus | "new">(() => data.workflow.value?.status ?? "new");
  /** An archived workflow cannot change: the editor shows it but offers no edits. */
  const readOnly = computed(() => status.value === "archived");

  function setDraft(d: Draft) {
    data.draft.value = d;
  }

  async function load() {
    if (workflowId === null) {
      const d = draftFrom({ name: "", trigger: EMPTY_TRIGGER, start: "", nodes: [] });
      batch(() => {
        setDraft(d);
        data.savedJson.value = JSON.stringify(toDefinition(d).def);
        view.loading.value = false;
      });
      return;
    }
    view.loading.value = true;
    view.loadError.value = null;
    try {
      const wf = await api.getWorkflow(workflowId);
      const d = draftFrom(wf.definition);
      batch(() => {
        data.workflow.value = wf;
        setDraft(d);
        data.savedJson.value = JSON.stringify(toDefinition(d).def);
        if (handoff) {
          view.message.value = { kind: "ok", text: handoff.notice };
          const sel = handoff.selected;
          view.selected.value = typeof sel === "number" ? (allSteps(d.flow)[sel]?.key ?? "trigger") : sel;
          view.panel.value = handoff.panel;
        }
      });
      const form = handoff?.test;
      handoff = null;
      void loadWarnings(d);
      // "Save and start test run" on a new workflow: the test starts once it exists.
      if (form) {
        test.restore(form);
        void test.start();
      }
    } catch (err) {
      view.loadError.value = err instanceof ApiError && err.status === 404 ? `There is no workflow with the id ${workflowId}.` : `Could not load the workflow: ${describeError(err)}`;
    } finally {
      view.loading.value = false;
    }
  }

  async function loadCredentials() {
    view.credentialsError.value = null;
    try {
      data.credentials.value = (await api.credentials()).items.map((c) => c.name);
    } catch (err) {
      view.credentialsError.value = `Could not load credential names: ${describeError(err)}`;
    }
  }

  /** The warnings about a saved definition, when the builder opens it (issues it has none). */
  async function loadWarnings(d: Draft) {
    const { def, keys } = toDefinition(d);
    try {
      const result = await api.validate(def);
      if (data.draft.peek() === d) data.warnings.value = place(result.warnings, keys, false);
    } catch {
      // Only a hint: the next check or save shows them again.
    }
  }

  loadWhileSignedIn(() => {
    void load();
    void loadCredentials();
  });

  // Leaving with unsaved edits asks first: in-app links in the app's own dialog, like every
  // other question here; reloads and tab closes through the browser's prompt (the only one a
  // page may show then).
  effect(() => {
    if (!dirty.value || view.loading.value) return;
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onUnload);
    const release = router.guard((proceed) => {
      view.confirm.value = {
        title: "Leave without saving?",
        text: "This workflow has unsaved changes. If you leave now, they are lost.",
        action: "Leave without saving",
        cancel: "Keep editing",
        run: () => {
          view.confirm.value = null;
          proceed();
        },
      };
      return true;
    });
    return () => {
      window.removeEventListener("beforeunload", onUnload);
      release();
    };
  });

  // Once a check has shown issues, check again shortly after each edit so they stay current.
  effect(() => {
    if (!view.liveCheck.value) return;
    const { def, keys } = definition.value;
    const timer = setTimeout(() => void validate(def, keys, true), 700);
    return () => clearTimeout(timer);
  });

  let validateSeq = 0;
  /** Asks the API; places issues; true when nothing blocks saving. */
  async function validate(def: DefinitionInput, keys: string[], quiet: boolean): Promise<{ ok: boolean; activation: PlacedIssue[] } | null> {
    const mine = ++validateSeq;
    try {
      const result = await api.validate(def);
      // A background re-check that a newer check overtook is dropped; an explicit one (save,
      // check, activate) always answers its caller.
      if (quiet && mine !== validateSeq) return null;
      const placed = [...place(result.issues, keys, false, def), ...place(result.activation_issues, keys, true, def)];
      const warned = place(result.warnings, keys, false);
      batch(() => {
        data.issues.value = placed;
        data.warnings.value = warned;
      });
      if (placed.length === 0) {
        // Warnings stay current too: each edit is checked again while there are any.
        view.liveCheck.value = warned.length > 0;
        if (quiet && view.message.peek()?.kind === "error") view.message.value = { kind: "ok", text: "All problems are fixed." };
      } else if (quiet && view.message.peek()?.kind === "error") {
        // The refusal above the flow stays true to what is left (an empty workflow's "Add a
        // first step" is gone once there is one).
        view.message.value = { kind: "error", text: describeIssues(placed, "Still to fix") };
      }
      return { ok: result.valid, activation: placed.filter((i) => i.activation) };
    } catch (err) {
      if (!quiet || mine === validateSeq) {
        view.message.value = { kind: "error", text: `Could not ${quiet ? "re-check the workflow after your edit" : "check the workflow"}: ${describeError(err)}` };
      }
      return null;
    }
  }

  function localProblems(): string | null {
    const errs = Object.values(view.localErrors.peek());
    return errs.length > 0 ? `Fix the highlighted field first: ${errs[0]}` : null;
  }

  function describeIssues(list: readonly PlacedIssue[], what: string) {
    // Issues on no field (an empty workflow: "Add a first step") are said as they are.
    if (list.length > 0 && list.every((i) => i.key === ROOT_KEY && isHiddenPath(i.rest, true))) return `${what}: ${list.map((i) => i.message).join(" ")}`;
    return `${what}: ${plural(list.length, "problem")} ${list.length === 1 ? "needs" : "need"} fixing — see the highlighted fields.`;
  }

  async function check() {
    const local = localProblems();
    if (local) {
      view.message.value = { kind: "error", text: local };
      return;
    }
    view.busy.value = "checking";
    view.message.value = null;
    const { def, keys } = definition.peek();
    const r = await validate(def, keys, false);
    view.busy.value = null;
    if (!r) return;
    const n = data.issues.peek().length;
    const w = data.warnings.peek().length;
    const warned = w === 0 ? "" : ` ${plural(w, "warning")} to look at: ${w === 1 ? "a field" : "fields"} the entity may not have.`;
    if (n === 0) view.message.value = { kind: "ok", text: `No problems found. The workflow can be saved and activated.${warned}` };
    else {
      view.liveCheck.value = true;
      view.message.value = { kind: "error", text: r.ok ? `Can be saved, but not activated yet: ${plural(n, "problem")}.` : describeIssues(data.issues.peek(), "Not ready") };
    }
  }

  function selectedIndex(): number | "trigger" | "workflow" | "controls" {
    const sel: string = view.selected.peek();
    if (sel === "trigger" || sel === "workflow" || sel === "controls") return sel;
    return Math.max(0, allSteps(data.draft.peek().flow).findIndex((s) => s.key === sel));
  }

  /** Set while "Save and start test run" saves a new workflow, so its page starts the test. */
  let testHandoff: TestForm | null = null;

  async function save(): Promise<boolean> {
    const local = localProblems();
    if (local) {
      view.message.value = { kind: "error", text: local };
      return false;
    }
    view.busy.value = "saving";
    view.message.value = null;
    const { def, keys } = definition.peek();
    try {
      const r = await validate(def, keys, false);
      if (!r) return false;
      if (!r.ok) {
        view.liveCheck.value = true;
        view.message.value = { kind: "error", text: describeIssues(data.issues.peek().filter((i) => !i.activation), "Not saved") };
        return false;
      }
      const wf = data.workflow.peek();
      if (wf?.status === "active" && r.activation.length > 0) {
        // An active workflow only takes a definition it can run; say why here rather than send it.
        view.liveCheck.value = true;
        view.message.value = { kind: "error", text: describeIssues(r.activation, "Not saved: the workflow is active and could not run this") };
        return false;
      }
      if (!wf) {
        const created = await api.createWorkflow(def);
        handoff = { notice: `Saved as a draft (version ${created.version}).`, selected: selectedIndex(), panel: view.panel.peek(), test: testHandoff };
        data.savedJson.value = JSON.stringify(def);
        router.navigate(`/workflows/${encodeURIComponent(created.id)}`, { replace: true });
        return true;
      }
      const saved = await api.saveWorkflow(wf.id, def);
      batch(() => {
        data.workflow.value = saved;
        data.warnings.value = place(saved.warnings, keys, false);
        data.savedJson.value = JSON.stringify(def);
        if (versions.data.loaded.peek()) void versions.load();
        view.message.value = { kind: "ok", text: `Saved version ${saved.version}.` };
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) {
        data.issues.value = place(err.issues, keys, err.status === 422, def);
        view.liveCheck.value = true;
      }
      view.message.value = { kind: "error", text: `Not saved: ${describeError(err)}` };
      return false;
    } finally {
      view.busy.value = null;
    }
  }

  async function applyStatus(target: WorkflowStatus) {
    // Activation runs what the editor shows, so unsaved edits are saved first; pausing,
    // returning to draft or archiving leave the definition as it is.
    if (target === "active" && (dirty.peek() || !data.workflow.peek())) {
      const ok = await save();
      if (!ok || !data.workflow.peek()) return;
    }
    const wf = data.workflow.peek();
    if (!wf) return;
    view.busy.value = "status";
    view.message.value = null;
    try {
      if (target === "active") {
        // Ask first, so the reasons land on their fields instead of arriving as a refusal.
        const { def, keys } = definition.peek();
        const r = await validate(def, keys, false);
        if (!r) return;
        if (data.issues.peek().length > 0) {
          view.liveCheck.value = true;
          view.message.value = { kind: "error", text: describeIssues(data.issues.peek(), "Not activated") };
          return;
        }
      }
      const next = await api.setStatus(wf.id, target);
      data.workflow.value = next;
      const words: Record<WorkflowStatus, string> = {
        active: "Active: matching events now start runs.",
        paused: "Paused: no new runs start until it is activated again.",
        draft: "Back to draft: no runs start.",
        archived: "Archived: it no longer starts runs and cannot be changed.",
      };
      view.message.value = { kind: "ok", text: words[next.status] };
    } catch (err) {
      if (err instanceof ApiError && err.issues.length > 0) {
        data.issues.value = place(err.issues, definition.peek().keys, true, definition.peek().def);
      }
      view.message.value = { kind: "error", text: `Status not changed: ${describeError(err)}` };
    } finally {
      view.busy.value = null;
    }
  }

  function replaceDefinition(def: DefinitionInput, text: string) {
    batch(() => {
      setDraft(draftFrom(def));
      data.issues.value = [];
      data.warnings.value = [];
      view.localErrors.value = {};
      view.selected.value = "trigger";
      view.panel.value = "inspector";
      view.message.value = { kind: "ok", text };
      view.liveCheck.value = true;
    });
  }

  const test = createTestRun({
    workflowId: () => data.workflow.peek()?.id ?? null,
    trigger: () => data.draft.peek().trigger,
    dirty: () => dirty.peek(),
    async save(form) {
      testHandoff = form;
      try {
        return await save();
      } finally {
        testHandoff = null;
      }
    },
  });

  const flowStats = createFlowStats(() => data.workflow.peek()?.id ?? null);

  const preview = createPreview({ workflowId: () => data.workflow.peek()?.id ?? null, trigger: () => data.draft.peek().trigger, dirty: () => dirty.peek(), save });

  return {
    data,
    view,
    definition,
    dirty,
    status,
    readOnly,
    test,
    preview,
    flowStats,
    reload: () => load(),
    loadCredentials,
    select(sel: Selection) {
      batch(() => {
        view.selected.value = sel;
        view.panel.value = "inspector";
        view.adding.value = null;
      });
    },
    openPanel(panel: SidePanel) {
      view.panel.value = panel;
      if (panel === "versions" && data.workflow.peek() && !versions.data.loaded.peek()) void versions.load();
    },
    focus(id: string | null) {
      view.focusId.value = id;
    },
    ...flowEdits(data.draft, view),
    setLocalError(id: string, message: string | null) {
      const cur = view.localErrors.peek();
      if ((cur[id] ?? null) === message) return;
      const next = { ...cur };
      if (message === null) delete next[id];
      else next[id] = message;
      view.localErrors.value = next;
    },
    check,
    save,
    setStatus(target: WorkflowStatus) {
      if (target === "archived") {
        view.confirm.value = {
          title: "Archive this workflow?",
          text: "An archived workflow starts no runs and cannot be changed or activated again. Its runs and versions stay visible.",
          action: "Archive",
          run: () => {
            view.confirm.value = null;
            void applyStatus("archived");
          },
        };
        return;
      }
      void applyStatus(target);
    },
    closeConfirm() {
      view.confirm.value = null;
    },
    loadVersions: () => versions.load(),
    loadMoreVersions: () => versions.load(true),
    /** Puts a version's definition into the editor, unsaved (to edit it before saving). */
    loadVersion(v: WorkflowVersion) {
      replaceDefinition(v.definition, `Version ${v.version} is now in the editor. Save to make it the current version.`);
    },
    /**
     * Restores a version: its definition saved as the next version, through the normal save
     * (checked first; the server's compare-and-set refuses it if the workflow changed meanwhile).
     * Asked first, in the app's dialog: it replaces unsaved edits and, on an active workflow,
     * goes live at once.
     */
    restoreVersion(v: WorkflowVersion) {
      const wf = data.workflow.peek();
      if (!wf) return;
      const next = wf.version + 1;
      const live = wf.status === "active" ? ` This workflow is active: saving makes version ${next} live now.` : "";
      const lost = dirty.peek() ? " Your unsaved edits in the editor are replaced." : "";
      view.confirm.value = {
        title: `Restore version ${v.version}?`,
        text: `Its definition is saved as version ${next}, the current version; every version stays in the history.${live}${lost}`,
        action: `Restore as version ${next}`,
        cancel: "Cancel",
        danger: false,
        run: () => {
          view.confirm.value = null;
          replaceDefinition(v.definition, `Version ${v.version} is in the editor; saving it as version ${next}…`);
          view.panel.value = "versions";
          void save().then((ok) => {
            const saved = data.workflow.peek();
            if (ok && saved) view.message.value = { kind: "ok", text: `Restored version ${v.version} as version ${saved.version}.` };
          });
        },
      };
    },
    /** Loads pasted or uploaded JSON into the editor; returns a problem in words, or null. */
    importJson(text: string): string | null {
      const def = parseImport(text);
      if (typeof def === "string") return def;
      replaceDefinition(def, "Imported into the editor. Check the highlighted fields, then save to make a new version.");
      return null;
    },
  };
});
