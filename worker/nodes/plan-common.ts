import { z } from "zod";
import { interpolateString, toText, type Scope } from "../definition/interpolate";
import { issuesText } from "../lib/issues";

/* What the plan nodes share: the shop scope of their configs and how their inputs resolve. */

const Id = z.string().min(1).max(200);

/** Which shops a plan or a selection covers. */
export const ShopScopeSchema = z
  .strictObject({
    mode: z.enum(["all", "specific", "from_trigger"]).default("all"),
    ids: z.array(Id).max(1000).default([]),
  })
  .refine((s) => s.mode !== "specific" || s.ids.length > 0, {
    message: "List at least one shop for specific shops",
    path: ["ids"],
  });
export type ShopScope = z.infer<typeof ShopScopeSchema>;

/**
 * Interpolates a list of ids: each entry may be a template; one that is exactly a reference to a
 * list (`{{trigger.data.related_ids}}`) contributes every id in it. Empty results are dropped.
 */
export function interpolateIds(ids: readonly string[], scope: Scope): string[] {
  return ids.flatMap((id) => {
    const value = interpolateString(id, scope);
    return (Array.isArray(value) ? value : [value]).map(toText).filter((s) => s !== "");
  });
}

const ShopOfTrigger = z.object({ entity: z.literal("inventory_item"), data: z.looseObject({ shop_id: z.string().min(1) }) });

/** The shop of a run's trigger: an inventory item's `shop_id`; undefined for other entities. */
export function triggerShop(trigger: Scope["trigger"]): string | undefined {
  const parsed = ShopOfTrigger.safeParse(trigger);
  return parsed.success ? parsed.data.data.shop_id : undefined;
}

/**
 * Parses a step's resolved input. Throws a plain Error naming each problem ("shops.ids.0: ..."),
 * which the engine records as the step's failure.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Error(issuesText(parsed.error));
}
