import { addItemsToPlan } from "./add-items-to-plan";
import { callWebhook } from "./call-webhook";
import { condition } from "./condition";
import { createOrGetPlan } from "./create-or-get-plan";
import { sendEmail } from "./send-email";
import type { NodeModule } from "./types";
import { wait } from "./wait";

/** Every node type. A new action is one module and one line here. */
export const NODE_MODULES = [condition, wait, callWebhook, sendEmail, createOrGetPlan, addItemsToPlan] as const;

export type NodeType = (typeof NODE_MODULES)[number]["type"];
export const NODE_TYPES = NODE_MODULES.map((m) => m.type) as [NodeType, ...NodeType[]];

const byType = new Map<string, NodeModule>(NODE_MODULES.map((m) => [m.type, m as NodeModule]));

export function nodeModule(type: string): NodeModule {
  const m = byType.get(type);
  if (!m) throw new Error(`Unknown node type ${type}`);
  return m;
}
