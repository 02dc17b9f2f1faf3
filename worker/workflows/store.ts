import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { DefinitionSchema, type Definition } from "../contract/definition";
import type { WorkflowRecord } from "../contract/workflow";
import { triggerIndex, workflows, workflowVersions } from "../db/schema";
import { db, type Db } from "../db/sql";
import { indexEntity, indexTags } from "../definition/trigger";
import type { WorkflowStatus } from "../definition/workflow-status";
import { newId } from "../lib/ids";

/*
 * Workflows in D1 (SPEC §7): the workflow row, its immutable versions and the trigger index of
 * the active ones. Above the contract, as it parses stored definitions with its schema.
 */

export type { WorkflowRecord };

type Row = typeof workflows.$inferSelect;
const record = (row: Row, definition: Definition): WorkflowRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  status: row.status,
  version: row.version,
  trigger_entity: row.triggerEntity,
  created_at: row.createdAt,
  updated_at: row.updatedAt,
  paused_reason: row.pausedReason ?? null,
  definition,
});

export async function getWorkflow(d: Db, id: string): Promise<WorkflowRecord | undefined> {
  const rows = await d
    .select({ w: workflows, definition: workflowVersions.definition })
    .from(workflows)
    .innerJoin(workflowVersions, and(eq(workflowVersions.workflowId, workflows.id), eq(workflowVersions.version, workflows.version)))
    .where(eq(workflows.id, id))
    .limit(1);
  const row = rows[0];
  return row ? record(row.w, row.definition as Definition) : undefined;
}

export async function listWorkflows(
  d: Db,
  opts: { status?: WorkflowStatus | undefined; q?: string | undefined; limit: number; after?: string | undefined },
): Promise<WorkflowRecord[]> {
  // instr, not LIKE: D1 caps LIKE patterns at 50 bytes, and a search term needs no escaping (% and _ are plain text).
  const named = opts.q ? sql`instr(lower(${workflows.name}), lower(${opts.q})) > 0` : undefined;
  const rows = await d
    .select({ w: workflows, definition: workflowVersions.definition })
    .from(workflows)
    .innerJoin(workflowVersions, and(eq(workflowVersions.workflowId, workflows.id), eq(workflowVersions.version, workflows.version)))
    .where(and(opts.status ? eq(workflows.status, opts.status) : undefined, named, opts.after ? lt(workflows.id, opts.after) : undefined))
    .orderBy(desc(workflows.id))
    .limit(opts.limit);
  return rows.map((r) => record(r.w, r.definition as Definition));
}

export async function createWorkflow(d: Db, def: Definition, now: Date): Promise<WorkflowRecord> {
  const id = newId("wf", now.getTime());
  const at = now.toISOString();
  const row: Row = {
    id,
    name: def.name,
    description: def.description ?? null,
    status: "draft",
    version: 1,
    triggerEntity: def.trigger.entity,
    createdAt: at,
    updatedAt: at,
    pausedReason: null,
  };
  await d.batch([
    d.insert(workflows).values(row),
    d.insert(workflowVersions).values({ workflowId: id, version: 1, definition: def, createdAt: at }),
  ]);
  return record(row, def);
}

/** A save or status change lost to another request that changed the workflow after it was read. */
export class ConcurrentSaveError extends Error {}

/**
 * Changes a workflow from the (version, status) the caller read, as one compare-and-set: a D1
 * batch is one transaction with its statements run in order, every statement is guarded by that
 * expected (version, status), and the workflow row itself is updated last, so every guard sees
 * the row before this batch changes it. A caller that read a stale workflow changes nothing —
 * no version row, no trigger index row — and gets ConcurrentSaveError. The trigger index is
 * rewritten in the same batch, so it always holds the trigger of the current version while the
 * workflow is active, and nothing otherwise.
 */
async function compareAndSet(
  d: Db,
  current: WorkflowRecord,
  next: { status: WorkflowStatus; version: number; definition: Definition; paused_reason?: string | null },
  now: Date,
): Promise<WorkflowRecord> {
  // A status the engine set itself keeps its reason while the status stays; any change clears it.
  const pausedReason = next.paused_reason !== undefined ? next.paused_reason : next.status === current.status ? current.paused_reason : null;
  const at = now.toISOString();
  const { id } = current;
  const def = next.definition;
  const unchanged = sql`EXISTS (SELECT 1 FROM workflows WHERE id = ${id} AND version = ${current.version} AND status = ${current.status})`;
  // Guarded statements first, in any order: none of them changes the workflows row. An insert's
  // SELECT names its values in the table's column order, which drizzle lists.
  const batch: [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] = [d.delete(triggerIndex).where(and(eq(triggerIndex.workflowId, id), unchanged))];
  if (next.status === "active") {
    // The tags travel as one JSON array, so any number of them binds a fixed number of parameters.
    const tags = JSON.stringify(indexTags(def.trigger));
    batch.push(
      d.insert(triggerIndex).select(sql`SELECT ${indexEntity(def.trigger)}, value, ${id}, ${next.version} FROM json_each(${tags}) WHERE ${unchanged}`),
    );
  }
  if (next.version !== current.version) {
    batch.push(
      d.insert(workflowVersions).select(sql`SELECT ${id}, ${next.version}, ${JSON.stringify(def)}, ${at} WHERE ${unchanged}`),
    );
  }
  batch.push(
    d
      .update(workflows)
      .set({
        status: next.status,
        version: next.version,
        name: def.name,
        description: def.description ?? null,
        triggerEntity: def.trigger.entity,
        updatedAt: at,
        pausedReason,
      })
      .where(and(eq(workflows.id, id), eq(workflows.version, current.version), eq(workflows.status, current.status)))
      .returning({ id: workflows.id }),
  );
  const results = await d.batch(batch);
  if ((results.at(-1) as unknown[]).length === 0) throw new ConcurrentSaveError();
  return {
    ...current,
    status: next.status,
    version: next.version,
    name: def.name,
    description: def.description ?? null,
    trigger_entity: def.trigger.entity,
    updated_at: at,
    paused_reason: pausedReason,
    definition: def,
  };
}

/** Saves a definition as the next version, unless the workflow changed since `current` was read. */
export function saveVersion(d: Db, current: WorkflowRecord, def: Definition, now: Date): Promise<WorkflowRecord> {
  return compareAndSet(d, current, { status: current.status, version: current.version + 1, definition: def }, now);
}

/** Moves the workflow to `status`, unless it changed since `current` was read. */
export function setStatus(d: Db, current: WorkflowRecord, status: WorkflowStatus, now: Date): Promise<WorkflowRecord> {
  return compareAndSet(d, current, { status, version: current.version, definition: current.definition }, now);
}

/**
 * The engine pauses an active workflow itself, saying why (a daily cap, SPEC §14). Answers
 * whether it paused it now: false when it is not active (paused already, by a user or before).
 */
export async function pauseByEngine(d: Db, id: string, reason: string, now: Date): Promise<boolean> {
  for (;;) {
    const current = await getWorkflow(d, id);
    if (!current || current.status !== "active") return false;
    try {
      await compareAndSet(d, current, { status: "paused", version: current.version, definition: current.definition, paused_reason: reason }, now);
      return true;
    } catch (err) {
      if (!(err instanceof ConcurrentSaveError)) throw err;
    }
  }
}

export async function listVersions(d: Db, id: string, opts: { limit: number; before?: number | undefined }) {
  return d
    .select()
    .from(workflowVersions)
    .where(and(eq(workflowVersions.workflowId, id), opts.before ? lt(workflowVersions.version, opts.before) : undefined))
    .orderBy(desc(workflowVersions.version))
    .limit(opts.limit);
}

export async function getVersion(d: Db, id: string, version: number): Promise<Definition | undefined> {
  const rows = await d
    .select({ definition: workflowVersions.definition })
    .from(workflowVersions)
    .where(and(eq(workflowVersions.workflowId, id), eq(workflowVersions.version, version)))
    .limit(1);
  return rows[0]?.definition as Definition | undefined;
}

/**
 * Definitions are immutable per version, so an isolate may keep them as long as it lives. A
 * stored definition that no longer parses is kept as the error, so callers can fail loudly.
 */
const definitionCache = new Map<string, Definition | Error>();
const CACHE_LIMIT = 2000;

/** Definitions by `id@version`; D1 is read (and a query builder made) only for cache misses. */
export async function getDefinitions(
  d1: D1Database,
  keys: readonly { workflowId: string; version: number }[],
): Promise<Map<string, Definition | Error>> {
  const out = new Map<string, Definition | Error>();
  const missing: { workflowId: string; version: number }[] = [];
  for (const k of keys) {
    const key = `${k.workflowId}@${k.version}`;
    const hit = definitionCache.get(key);
    if (hit) out.set(key, hit);
    else missing.push(k);
  }
  if (missing.length === 0) return out;
  // One statement for any number of keys: the pairs travel as one JSON parameter, so a cold cache
  // with thousands of candidate workflows costs one D1 round trip, not one per 45 keys.
  const pairs = JSON.stringify(missing.map((k) => [k.workflowId, k.version]));
  const rows = await db(d1)
    .select()
    .from(workflowVersions)
    .where(
      sql`(${workflowVersions.workflowId}, ${workflowVersions.version}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${pairs}))`,
    );
  for (const r of rows) {
    const key = `${r.workflowId}@${r.version}`;
    const parsed = DefinitionSchema.safeParse(r.definition);
    const value = parsed.success ? parsed.data : new Error(`Stored definition ${key} is not valid: ${parsed.error.issues[0]?.message}`);
    if (definitionCache.size >= CACHE_LIMIT) definitionCache.delete(definitionCache.keys().next().value!);
    definitionCache.set(key, value);
    out.set(key, value);
  }
  return out;
}
