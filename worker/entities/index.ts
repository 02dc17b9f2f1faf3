// The entity mirror (SPEC §5): kinds and their schemas, and the store the queue consumer and the
// entities API write through.
export { ENTITY_KINDS, EntityIdSchema, EntityKindSchema, entitySchema, entitySpec, isEntityKind, type EntityKind, type EntitySnapshot } from "./registry";
export {
  getEntity,
  listEntities,
  snapshotStatement,
  SnapshotRowSchema,
  upsertChunks,
  upsertStatements,
  type SnapshotRow,
  type UpsertRow,
} from "./store";
