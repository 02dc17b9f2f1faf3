import { TextField } from "../components/common/fields";
import { withArticle } from "../lib/catalog";
import type { NodeFormProps, NodeRunDetailProps } from "./types";

/* What the nodes that change a mirrored entity share on the UI side: the target field and the run view. */

/** The triggers that give each kind of target by default (worker/nodes/entity-common.ts). */
const DEFAULT_FROM: Record<"customer" | "subscription", readonly string[]> = {
  customer: ["customer", "subscription", "order"],
  subscription: ["subscription"],
};

/** The entity a step changes: empty means the trigger's; the hint says whether this trigger has one. */
export function TargetField({ b, m, kind }: NodeFormProps & { kind: "customer" | "subscription" }) {
  const entity = m.data.draft.value.trigger.entity;
  const hasDefault = DEFAULT_FROM[kind].includes(entity);
  const ref = kind === "customer" ? "{{trigger.data.customer_id}}" : "{{trigger.entity_id}}";
  return (
    <TextField
      b={b}
      path={["config", kind]}
      label={`The ${kind} (optional)`}
      optional
      vars
      placeholder={`The trigger's ${kind}`}
      hint={
        hasDefault
          ? `Left empty: the ${kind} of the trigger (${ref}). Give an id or a variable to change another.`
          : `This workflow starts from ${withArticle(entity)}, which gives no ${kind}: give its id or a variable, e.g. from an earlier step.`
      }
    />
  );
}

/** A value of a step's output as text. */
export const textOf = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** The run view of a step that changed an entity: what changed, and that a test run's change is test data. */
export function EntityChangeView({ run, step, describe }: NodeRunDetailProps & { describe(output: Record<string, unknown>): string }) {
  const out = step.output;
  if (step.status !== "succeeded" || !out || typeof out !== "object") return null;
  return (
    <div>
      <p>{describe(out as Record<string, unknown>)}</p>
      {run.test && (
        <p class="hint">
          <span class="badge tone-warn">Test data</span> A test run made this change: the mirror's snapshot carries <code>_source.test: true</code> until the platform
          sends a newer one.
        </p>
      )}
    </div>
  );
}
