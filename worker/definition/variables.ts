import { relatedKinds } from "../entities/related";
import { ENTITY_FIELDS, type EntityKind } from "../entities/registry";
import type { Issue } from "../lib/issues";
import { checkPath, collectReferences, parsePath } from "./interpolate";

/*
 * Checked variables (SPEC §11), beside the graph rules: what a `{{trigger.…}}` may name depends on
 * the trigger's entity. A related kind the entity does not point to can never resolve: an error.
 * A field that is not one of the entity's (SPEC §5, §12) is only a warning — entities may carry
 * further attributes — but it is how a typo like `{{trigger.data.idd}}` shows before a run fails.
 */

export interface VariableChecks {
  /** Block saving, like the graph's issues. */
  issues: Issue[];
  /** Shown beside the issues; they block nothing. */
  warnings: Issue[];
}

/** What the checks need of a definition that passed the schema. */
export interface CheckedDefinition {
  trigger: { entity: EntityKind; conditions?: unknown };
  nodes: readonly { config: unknown }[];
}

/** Every field of a kind a path may name: `id`, `tags` and the kind's own. */
export const fieldsOf = (kind: EntityKind): readonly string[] => ["id", "tags", ...ENTITY_FIELDS[kind]];

export function checkVariables(def: CheckedDefinition): VariableChecks {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const seen = new Set<string>();
  const refs = [
    ...def.nodes.flatMap((node, i) => collectReferences(node.config, ["nodes", i, "config"])),
    ...collectReferences(def.trigger.conditions ?? {}, ["trigger", "conditions"]),
  ];
  for (const ref of refs) {
    // The graph rules report a path that is not well formed; only trigger paths depend on the entity.
    if (checkPath(ref.path) !== undefined) continue;
    const parts = parsePath(ref.path)!;
    if (parts[0] !== "trigger") continue;
    const found = checkTriggerPath(def.trigger.entity, parts);
    if (!found) continue;
    const at = ref.at.join(".");
    const key = `${at}\u0000${found.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    (found.level === "error" ? issues : warnings).push({ path: at, message: `"{{${ref.path}}}": ${found.message}` });
  }
  return { issues, warnings };
}

/** What is wrong with `trigger.<…>` on a trigger of `entity`, if anything. */
function checkTriggerPath(entity: EntityKind, parts: string[]): { level: "error" | "warning"; message: string } | undefined {
  const [, part, name, field] = parts;
  if ((part === "data" || part === "previous") && name !== undefined) return fieldCheck(entity, name);
  if (part !== "related" || name === undefined) return undefined;
  const kinds = relatedKinds(entity);
  if (!(kinds as string[]).includes(name)) {
    const offer = kinds.length > 0 ? `; it has ${kinds.join(", ")}` : "";
    return { level: "error", message: `${entity} has no related ${name}${offer}` };
  }
  return field === undefined ? undefined : fieldCheck(name as EntityKind, field);
}

function fieldCheck(kind: EntityKind, field: string): { level: "warning"; message: string } | undefined {
  const fields = fieldsOf(kind);
  if (fields.includes(field)) return undefined;
  const close = fields.find((f) => distance(f, field) <= Math.min(2, Math.floor(f.length / 2)));
  return {
    level: "warning",
    message: `${field} is not a field of ${kind} (it may still be an extra attribute)${close ? `; did you mean ${close}?` : ""}`,
  };
}

/** Levenshtein distance, for a "did you mean" of a field name (both are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

