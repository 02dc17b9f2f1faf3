/** Sentences about a definition for cards and lists (a node's own card line is its module's `summary`). */
import type { Trigger } from "../api";
import { OP_LABELS, withArticle, type TriggerInput } from "./catalog";
import { plural } from "./plural";
import { formatOperand } from "./util";

const list = (xs: readonly string[], joiner = "or") => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} ${joiner} ${xs.at(-1)}`);

/** "When an inventory item is created or updated · tagged any of sneakers · not discontinued · 1 condition". */
export function triggerSummary(t: TriggerInput | Trigger): string {
  const events = (t.events ?? ["created", "updated"]).map((e) => (e === "back_in_stock" ? "back in stock" : e));
  const parts = [`When ${withArticle(t.entity)} is ${list(events)}`];
  const restock = (t as { restock?: { min_stock?: number; per_unit?: number; wave_minutes?: number } }).restock;
  if (restock) {
    parts.push(restock.per_unit ? `${restock.per_unit} per unit every ${restock.wave_minutes ?? 60} min` : "all at once");
  }
  const inc = t.tags?.include ?? [];
  const exc = t.tags?.exclude ?? [];
  if (inc.length) parts.push(`tagged ${inc.length > 1 ? `${t.tags?.match === "all" ? "all" : "any"} of ` : ""}${inc.join(", ")}`);
  if (exc.length) parts.push(`not tagged ${exc.join(", ")}`);
  const n = (t.conditions?.all?.length ?? 0) + (t.conditions?.any?.length ?? 0);
  if (n) parts.push(plural(n, "condition"));
  return parts.join(" · ");
}

/** "{{trigger.data.on_hand}} is less than 5". */
export function conditionText(c: { left?: unknown; op: string; right?: unknown }): string {
  const op = OP_LABELS[c.op as keyof typeof OP_LABELS] ?? c.op;
  return c.op === "exists" || c.op === "not_exists" ? `${formatOperand(c.left)} ${op}` : `${formatOperand(c.left)} ${op} ${formatOperand(c.right)}`;
}

/** A DateSpec in words: "2025-06-01", "1 day after the run starts", "{{trigger.data.date}} +3 days". */
export function dateText(d: unknown): string {
  if (!d || typeof d !== "object") return "";
  const s = d as { type?: string; date?: string; days?: number; value?: string; offset_days?: number };
  if (s.type === "absolute") return s.date ?? "";
  if (s.type === "relative") {
    const days = s.days ?? 0;
    return days === 0 ? "the day the run starts" : days > 0 ? `${plural(days, "day")} after the run starts` : `${plural(-days, "day")} before the run starts`;
  }
  if (s.type === "interpolated") return `${s.value ?? ""}${s.offset_days ? ` ${s.offset_days > 0 ? "+" : "−"}${plural(Math.abs(s.offset_days), "day")}` : ""}`;
  return "";
}
