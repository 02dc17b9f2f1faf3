/**
 * What the UI knows about one node type, in one module per type (`ui/src/nodes/<type>.tsx`);
 * `index.ts` registers them, typed so that the compiler names a node type without a module.
 */
import type { ComponentType } from "preact";
import type { RunDetail, RunSummary, StepRecord } from "../api";
import type { Binder } from "../components/common/fields";
import type { Builder } from "../components/builder/binders";
import type { ConfigOf, NodeInput, NodeType } from "../lib/catalog";

/** A counter of the run summary that a node type adds to, in the words of the run views. */
export interface SummaryCounter {
  key: Exclude<keyof RunSummary, "errors">;
  /** On the run page, always shown: "2 plans created". */
  text(n: number): string;
  /** In the runs list, shown when not zero: "2 plans created", "3 added". */
  short(n: number): string;
}

export interface NodeFormProps {
  /** Reads and writes this node (paths start at the node: ["config", "url"]). */
  b: Binder;
  m: Builder;
}

export interface NodeRunDetailProps {
  run: RunDetail;
  step: StepRecord;
}

export interface NodeUi<T extends NodeType = NodeType> {
  label: string;
  /** One line under the label in the "add a step" menu and the form. */
  hint: string;
  /** The id a new node gets (a number is added when taken). */
  idBase: string;
  /** What `steps.<id>.output` holds after it runs (SPEC §9), offered by the variable picker. */
  outputs: readonly string[];
  /** The accent of its cards, set as the CSS custom property `--type`. */
  colour: string;
  /** An action has effects outside the run: its form offers retry, time limit and on-error settings. */
  action: boolean;
  /** Ends its chain with two branch chains ("then", "else") instead of going on with `next`. */
  branches?: true;
  /** The names of its two branches on the canvas; default "If true" and "If false". */
  branchLabels?: { then: string; else: string };
  /**
   * A fresh config: required fields present (maybe empty), so the form has something to bind.
   * `before` are the steps that always run before the new one, nearest last.
   */
  defaultConfig(before: readonly NodeInput[]): ConfigOf<T>;
  /** The one line on its card saying what the step does. */
  summary(config: ConfigOf<T>): string;
  /** Edits `config` (the id, label and failure settings are the inspector's). */
  Form: ComponentType<NodeFormProps>;
  /** What the run page shows for a step of this type besides input, output, logs and attempts. */
  RunDetail?: ComponentType<NodeRunDetailProps>;
  /** The run summary counters it adds to, in registry order on the run views. */
  counters?: readonly SummaryCounter[];
}
