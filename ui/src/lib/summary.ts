import type { Trigger } from "../api";
import { humanize, OP_LABELS, withArticle, type NodeInput, type TriggerInput } from "./catalog";
import { formatOperand } from "./util";

const list = (xs: readonly string[], joiner = "or") => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} ${joiner} ${xs.at(-1)}`);

/** "When an inventory item is created or updated · tagged any of sneakers · not discontinued · 1 condition". */
export function triggerSummary(t: TriggerInput | Trigger): string {
  const parts = [`When ${withArticle(t.entity)} is ${list(t.events ?? ["created", "updated"])}`];
  const inc = t.tags?.include ?? [];
  const exc = t.tags?.exclude ?? [];
  if (inc.length) parts.push(`tagged ${inc.length > 1 ? `${t.tags?.match === "all" ? "all" : "any"} of ` : ""}${inc.join(", ")}`);
  if (exc.length) parts.push(`not tagged ${exc.join(", ")}`);
  const n = (t.conditions?.all?.length ?? 0) + (t.conditions?.any?.length ?? 0);
  if (n) parts.push(`${n} ${n === 1 ? "condition" : "conditions"}`);
  return parts.join(" · ");
}

export function conditionText(c: { left?: unknown; op: string; right?: unknown }): string {
  const op = OP_LABELS[c.op as keyof typeof OP_LABELS] ?? c.op;
  return c.op === "exists" || c.op === "not_exists" ? `${formatOperand(c.left)} ${op}` : `${formatOperand(c.left)} ${op} ${formatOperand(c.right)}`;
}

function dateText(d: unknown): string {
  if (!d || typeof d !== "object") return "";
  const s = d as { type?: string; date?: string; days?: number; value?: string; offset_days?: number };
  if (s.type === "absolute") return s.date ?? "";
  if (s.type === "relative") return `${s.days ?? 0} days after the run`;
  if (s.type === "interpolated") return `${s.value ?? ""}${s.offset_days ? ` ${s.offset_days > 0 ? "+" : ""}${s.offset_days} days` : ""}`;
  return "";
}

/** One line on a step card saying what the step does. */
export function nodeSummary(node: NodeInput): string {
  switch (node.type) {
    case "create_or_get_plan": {
      const c = node.config;
      return [`${humanize(c.kind ?? "")} plan “${c.name ?? ""}”`, c.deadline ? `due ${dateText(c.deadline)}` : ""].filter(Boolean).join(", ");
    }
    case "add_items_to_plan": {
      const c = node.config;
      const q = c.quantity;
      const qty = !q ? "" : q.strategy === "fixed" ? `${q.quantity ?? "?"} each` : q.strategy === "fill_to_target" ? "fill to target" : `recommended quantity (score ≥ ${q.min_score ?? 0})`;
      const from = c.filter?.from_trigger ? `the trigger's ${humanize(c.filter.entity)}` : `${humanize(c.filter?.entity ?? "")} items`;
      return `Add ${from}: ${qty}`;
    }
    case "call_webhook":
      return `${node.config.method ?? "POST"} ${node.config.url || "(no URL yet)"}`;
    case "send_email":
      return `To ${(node.config.to ?? []).join(", ") || "(nobody yet)"}: ${node.config.subject || "(no subject)"}`;
    case "condition": {
      const all = node.config.all ?? [];
      const any = node.config.any ?? [];
      const parts = [...all.map(conditionText)];
      if (any.length) parts.push(`any of (${any.map(conditionText).join("; ")})`);
      return `If ${parts.join(" and ")}`;
    }
    case "wait": {
      const c = node.config as { duration?: { minutes?: number; hours?: number; days?: number }; until?: unknown };
      if (c.duration) {
        const d = c.duration;
        const bits = [d.days ? `${d.days} d` : "", d.hours ? `${d.hours} h` : "", d.minutes ? `${d.minutes} min` : ""].filter(Boolean);
        return `Wait ${bits.join(" ") || "0"}`;
      }
      return `Wait until ${dateText(c.until)}`;
    }
  }
}
