/**
 * The node types the builder and the run views know, one module each. Adding a node type on the
 * UI side is one module in this folder and one line here; the mapped type below makes the
 * compiler name a node type of the worker that has no module (or a module under the wrong key).
 */
import type { NodeInput, NodeType } from "../lib/catalog";
import { addCustomerTags } from "./add-customer-tags";
import { addItemsToPlan } from "./add-items-to-plan";
import { approval } from "./approval";
import { callWebhook } from "./call-webhook";
import { condition } from "./condition";
import { createDiscountCode } from "./create-discount-code";
import { createOrGetPlan } from "./create-or-get-plan";
import { removeCustomerTags } from "./remove-customer-tags";
import { sendEmail } from "./send-email";
import { sendPush } from "./send-push";
import { sendInternalEmail } from "./send-internal-email";
import type { NodeUi, SummaryCounter } from "./types";
import { updateSubscriptionStatus } from "./update-subscription-status";
import { wait } from "./wait";
import { waitForEvent } from "./wait-for-event";

export type { NodeFormProps, NodeRunDetailProps, NodeUi, SummaryCounter } from "./types";

/** In the order of the "add a step" menu and of the run summary's counters. */
export const NODE_UI = {
  create_or_get_plan: createOrGetPlan,
  add_items_to_plan: addItemsToPlan,
  call_webhook: callWebhook,
  send_email: sendEmail,
  send_push: sendPush,
  send_internal_email: sendInternalEmail,
  create_discount_code: createDiscountCode,
  update_subscription_status: updateSubscriptionStatus,
  add_customer_tags: addCustomerTags,
  remove_customer_tags: removeCustomerTags,
  condition,
  wait,
  approval,
  wait_for_event: waitForEvent,
} satisfies { [T in NodeType]: NodeUi<T> };

export const NODE_TYPES = Object.keys(NODE_UI) as NodeType[];

/**
 * Stands in for a type this UI does not know: a node of imported JSON with a typo (the check
 * then says what is wrong), or a run of a type since removed. Its card shows the type as label.
 */
const UNKNOWN: NodeUi = {
  label: "Unknown step",
  hint: "The builder does not know this node type.",
  idBase: "step",
  outputs: [],
  colour: "#98a2b3",
  action: false,
  defaultConfig: () => ({}) as never,
  summary: () => "",
  Form: () => null,
};

/** A node type's module, seen without its config type (for code that handles every type alike). */
export function nodeUi(type: string): NodeUi {
  return Object.hasOwn(NODE_UI, type) ? (NODE_UI[type as NodeType] as NodeUi) : { ...UNKNOWN, label: type };
}

/** The one line on a step card saying what the step does. */
export const cardSummary = (node: NodeInput): string => nodeUi(node.type).summary(node.config);

/** Every run summary counter a node type adds to, in registry order. */
export const SUMMARY_COUNTERS: readonly SummaryCounter[] = NODE_TYPES.flatMap((t) => nodeUi(t).counters ?? []);
