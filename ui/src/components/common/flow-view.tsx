import { Fragment, type ComponentChildren } from "preact";
import { branches, type Chain, type ChainRef, type Flow, type FlowStep } from "../../lib/flow";
import { nodeUi } from "../../nodes";

const DEFAULT_BRANCH_LABELS = { then: "If true", else: "If false" };

export interface FlowViewProps {
  flow: Flow;
  renderStep: (step: FlowStep) => ComponentChildren;
  /** The place between steps (the builder puts its "add a step" button there). */
  renderGap?: (ref: ChainRef, index: number) => ComponentChildren;
  /** What a chain that ends shows (e.g. "End of workflow"). */
  endLabel?: string;
}

function ChainView({ chain, at, props, label }: { chain: Chain; at: ChainRef; props: FlowViewProps; label: string }) {
  const last = chain.steps.at(-1);
  return (
    <ol class="chain" aria-label={label}>
      {props.renderGap && <li class="gap">{props.renderGap(at, 0)}</li>}
      {chain.steps.map((step, i) => (
        <Fragment key={step.key}>
          <li class={`chain-item ${branches(step.node) ? "has-branches" : ""}`}>
            {props.renderStep(step)}
            {branches(step.node) && (
              <div class="branches">
                <section class="branch branch-then" aria-label={`When “${step.node.name || step.node.id}” is true`}>
                  <p class="branch-label">{(nodeUi(step.node.type).branchLabels ?? DEFAULT_BRANCH_LABELS).then}</p>
                  <ChainView chain={step.then ?? { steps: [] }} at={{ kind: "branch", key: step.key, branch: "then" }} props={props} label={`Steps when ${step.node.id} is true`} />
                </section>
                <section class="branch branch-else" aria-label={`When “${step.node.name || step.node.id}” is false`}>
                  <p class="branch-label">{(nodeUi(step.node.type).branchLabels ?? DEFAULT_BRANCH_LABELS).else}</p>
                  <ChainView chain={step.else ?? { steps: [] }} at={{ kind: "branch", key: step.key, branch: "else" }} props={props} label={`Steps when ${step.node.id} is false`} />
                </section>
              </div>
            )}
          </li>
          {!branches(step.node) && props.renderGap && (
            <li class="gap">{props.renderGap(at, i + 1)}</li>
          )}
        </Fragment>
      ))}
      {chain.goto !== undefined ? (
        <li class="chain-end goto">Continues at “{chain.goto}”</li>
      ) : (
        !(last && branches(last.node)) && <li class="chain-end">{props.endLabel ?? "End"}</li>
      )}
    </ol>
  );
}

/** The flow as nested lists: a chain of steps, with a condition's two branches side by side. */
export function FlowView(props: FlowViewProps & { head?: ComponentChildren }) {
  return (
    <div class="flow">
      {props.head}
      <ChainView chain={props.flow.root} at={{ kind: "root" }} props={props} label="Steps" />
      {props.flow.detached.map((c, index) => (
        <div class="detached" key={index}>
          <p class="note note-error">Not reachable from the trigger: connect or remove these steps.</p>
          <ChainView chain={c} at={{ kind: "detached", index }} props={props} label="Steps not reachable" />
        </div>
      ))}
    </div>
  );
}
