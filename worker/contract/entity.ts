import { z } from "zod";
import { PageQuerySchema } from "./page";

/** The entity mirror as the API shows it (SPEC §5). Each kind's own schema is in entities/registry.ts. */

export { ENTITY_KINDS, type EntityFieldName, type EntityKind } from "../entities/registry";
/** The kinds `trigger.related` holds for a trigger on each kind (SPEC §11). */
export type { RelatedKind } from "../entities/related";

export const EntitySnapshotSchema = z
  .looseObject({ id: z.string(), tags: z.array(z.string()) })
  .describe("The entity as the platform sent it: its fields (SPEC §5) and any further attributes");
export type EntitySnapshot = z.infer<typeof EntitySnapshotSchema>;

/** One entity: its snapshot, the snapshot it replaced, when it was taken, and whether it was deleted. */
export const EntityDetailSchema = EntitySnapshotSchema.extend({
  previous: z.record(z.string(), z.unknown()).nullable(),
  occurred_at: z.string(),
  deleted: z.boolean(),
});
export type EntityDetail = z.infer<typeof EntityDetailSchema>;

export const EntityListQuerySchema = PageQuerySchema.extend({ tag: z.string().min(1).max(100).optional(), q: z.string().max(100).optional() });

export const UpsertAnswerSchema = z.object({ upserted: z.int() });
