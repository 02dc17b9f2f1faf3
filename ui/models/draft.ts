/**
 * The builder's draft: the definition with its nodes laid out as a flow, and the API's issues
 * placed back on the steps they are about. Pure functions; the builder model holds the signals.
 */
import type { DefinitionInput, Issue } from "../src/api";
import type { TriggerInput } from "../src/lib/catalog";
import { fromDefinition, toNodes, type Flow } from "../src/lib/flow";
import { humanIssues } from "../src/lib/issue-words";
import { pruneControls, type ControlsInput } from "./controls";

/** What the editor holds: the definition with its nodes laid out as a flow. */
export interface Draft {
  name: string;
  description?: string | undefined;
  trigger: TriggerInput;
  flow: Flow;
  /** Flow control (SPEC §14), as edited: emptied fields are pruned when the definition is built. */
  controls?: ControlsInput | undefined;
  meta?: Record<string, unknown> | undefined;
}

/** An API issue placed on the editor: on a step (by key) or on the workflow itself ("root"). */
export interface PlacedIssue {
  key: string;
  /** The path below the step (e.g. "config.url") or from the definition's root. */
  rest: string;
  path: string;
  message: string;
  /** Blocks activation only (e.g. a credential that does not exist). */
  activation: boolean;
}

export const ROOT_KEY = "root";

export const EMPTY_TRIGGER: TriggerInput = {
  entity: "inventory_item",
  events: ["created", "updated"],
  tags: { include: [], exclude: [], match: "any" },
};

export function draftFrom(def: DefinitionInput): Draft {
  return {
    name: def.name ?? "",
    description: def.description,
    trigger: def.trigger ?? EMPTY_TRIGGER,
    flow: fromDefinition(def),
    controls: def.controls,
    meta: def.meta,
  };
}

/** The definition the draft stands for, and for each index of its `nodes` the key of its step. */
export function toDefinition(d: Draft): { def: DefinitionInput; keys: string[] } {
  const { start, nodes, keys } = toNodes(d.flow);
  const controls = pruneControls(d.controls);
  const def: DefinitionInput = {
    name: d.name,
    ...(d.description ? { description: d.description } : {}),
    trigger: d.trigger,
    start,
    nodes,
    ...(controls ? { controls } : {}),
    ...(d.meta ? { meta: d.meta } : {}),
  };
  return { def, keys };
}

/**
 * Issues whose path starts at `nodes.<i>` go to that step; the rest to the workflow. Given the
 * definition they are about, issues on parts the builder draws instead of showing as fields
 * (start, next, …) are said in its words first (issue-words.ts).
 */
export function place(issues: Issue[], keys: string[], activation: boolean, def?: DefinitionInput): PlacedIssue[] {
  return (def ? humanIssues(issues, def) : issues).map((i) => {
    const m = /^nodes\.(\d+)(?:\.(.*))?$/.exec(i.path);
    const key = m ? keys[Number(m[1])] : undefined;
    if (m && key) return { key, rest: m[2] ?? "", path: i.path, message: i.message, activation };
    return { key: ROOT_KEY, rest: i.path, path: i.path, message: i.message, activation };
  });
}

/**
 * Pasted or uploaded JSON as a definition: a bare definition or a whole workflow record (as
 * GET /api/workflows/{id} answers). The check after import finds what else is wrong; this only
 * refuses what the editor cannot lay out. A problem comes back in words.
 */
export function parseImport(text: string): DefinitionInput | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `This is not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return "Expected a workflow definition: a JSON object with name, trigger, start and nodes";
  const v = value as Partial<DefinitionInput> & { definition?: DefinitionInput };
  const def = v.definition && typeof v.definition === "object" ? v.definition : (v as DefinitionInput);
  if (!def.trigger || typeof def.trigger !== "object") return "The definition has no trigger object";
  if (!Array.isArray(def.nodes)) return "The definition has no nodes list";
  return def;
}
