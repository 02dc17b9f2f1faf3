import type { CredentialRef, NodeCatalog, NodeModule, NodeSummary } from "../engine/step";
import { addCustomerTags } from "./add-customer-tags";
import { addItemsToPlan } from "./add-items-to-plan";
import { approval } from "./approval";
import { callWebhook } from "./call-webhook";
import { condition } from "./condition";
import { createDiscountCode } from "./create-discount-code";
import { createOrGetPlan } from "./create-or-get-plan";
import { removeCustomerTags } from "./remove-customer-tags";
import { sendEmail } from "./send-email";
import { sendInternalEmail } from "./send-internal-email";
import { sendPush } from "./send-push";
import { updateSubscriptionStatus } from "./update-subscription-status";
import { wait } from "./wait";
import { waitForEvent } from "./wait-for-event";

/**
 * Every node type. A new node type is one module and one line here: the definition schema, the
 * run summary, the credential check and the engine's catalog are all built from this list.
 */
export const NODE_MODULES = [condition, wait, callWebhook, sendEmail, createOrGetPlan, addItemsToPlan, createDiscountCode, sendInternalEmail, sendPush, updateSubscriptionStatus, addCustomerTags, removeCustomerTags, approval, waitForEvent] as const;

export type NodeType = (typeof NODE_MODULES)[number]["type"];
export const NODE_TYPES = NODE_MODULES.map((m) => m.type) as [NodeType, ...NodeType[]];

const byType = new Map<string, NodeModule>(NODE_MODULES.map((m) => [m.type, m]));

export function nodeModule(type: string): NodeModule {
  const m = byType.get(type);
  if (!m) throw new Error(`Unknown node type ${type}`);
  return m;
}

type CountersOf<M> = M extends { summary?: infer S } ? (S extends NodeSummary<infer C> ? C : never) : never;
/** A counter of a run's summary (SPEC §10): one a node type declares, or the failed steps. */
export type SummaryCounter = CountersOf<(typeof NODE_MODULES)[number]> | "errors";
export type RunSummary = Record<SummaryCounter, number>;

/** The counters in the order of the registry, each once, then "errors". */
const declared: readonly SummaryCounter[] = NODE_MODULES.flatMap((m) => ("summary" in m ? (m.summary?.counters ?? []) : []));
export const SUMMARY_COUNTERS: readonly SummaryCounter[] = [...new Set(declared), "errors"];

/** Every counter at 0 (fromEntries loses the keys' type; the list is every counter). */
export const emptySummary = (): RunSummary => Object.fromEntries(SUMMARY_COUNTERS.map((c) => [c, 0])) as RunSummary;

/** What the engine is handed: it knows the node types only through this. */
export const NODE_CATALOG: NodeCatalog = { node: nodeModule, counters: SUMMARY_COUNTERS };

/** Credential names a definition references, with the path of each reference. */
export function credentialReferences(def: { nodes: readonly { type: string; config: unknown }[] }): CredentialRef[] {
  return def.nodes.flatMap((node, i) =>
    (nodeModule(node.type).credentials?.(node.config) ?? []).map((ref) => ({ name: ref.name, path: `nodes.${i}.config.${ref.path}` })),
  );
}
