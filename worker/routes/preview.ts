import { createRoute, z } from "@hono/zod-openapi";
import { config } from "../config";
import type { Definition } from "../contract/definition";
import { PreviewAnswerSchema, PreviewRequestSchema, type MatchingNowPreview, type RunPreview } from "../contract/preview";
import { db } from "../db/sql";
import { utcDate } from "../definition/date-spec";
import type { Scope } from "../definition/interpolate";
import { addImpact, explainTrigger, previewRun, zeroImpact, type PreviewRunContext } from "../engine/preview";
import { matchesTrigger } from "../engine/trigger-match";
import { EntityKindSchema, getEntity, type EntityKind } from "../entities";
import { mirrorPort } from "../entities/mirror-port";
import { readRelated } from "../entities/related-read";
import { listEntities } from "../entities/store";
import { AppError, validationError } from "../errors";
import { NODE_CATALOG } from "../nodes";
import { planningReadPort } from "../planning";
import { getVersion, getWorkflow } from "../workflows/store";
import { commonErrors, errorResponse, jsonBody, jsonContent, router } from "./api";
import { previewExamples } from "./examples";
import { TriggerEventKindSchema } from "../definition/common";

/*
 * POST /api/workflows/{id}/preview (SPEC §13): the workflow run on real data with no effect
 * outside. Everything here reads: the workflow and its version, the mirror (the entity, its
 * related entities, the entities that match now) and the plans, through read-only ports. No
 * run object is created, nothing is queued, no row is written.
 */

export const previewApp = router();

const IdParam = z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) });
const EventTypeSchema = z.tuple([EntityKindSchema, TriggerEventKindSchema]);
/** How long a matching_now preview goes on previewing runs before it answers what it has (truncated). */
const SCAN_BUDGET_MS = 15_000;

/** Entities read per mirror statement in a matching_now scan. */
const SCAN_CHUNK = 500;
/** The most entities a matching_now scan reads (its run count is then marked truncated). */
const SCAN_BOUND = 100_000;

type Trigger = Scope["trigger"];

const tagsOf = (data: Record<string, unknown>): string[] => (Array.isArray(data.tags) ? data.tags.filter((t): t is string => typeof t === "string") : []);

function scopeOf(trigger: Trigger, wf: { id: string; name: string; version: number }, now: Date): Scope {
  return { trigger, steps: {}, workflow: wf, run: { id: "preview" }, now: now.toISOString(), today: utcDate(now) };
}

previewApp.openapi(
  createRoute({
    method: "post",
    path: "/{id}/preview",
    operationId: "previewWorkflow",
    summary: "Preview (dry run) a workflow on real data",
    description:
      "Nothing is sent, called or written. The body is `{event}` (like a test run's; without `data` the entity is read from the mirror), `{entity, entity_id}` (a mirrored entity, seen as an `updated` event) or `{matching_now: true, limit}` (every mirrored entity that matches the trigger now; the answer sums the impact). Optional `version`. Conditions take their branch, waits are reported, each action shows what it would do.",
    request: { params: IdParam, ...jsonBody(PreviewRequestSchema.openapi("PreviewRequest"), undefined, previewExamples) },
    responses: {
      200: jsonContent(PreviewAnswerSchema.openapi("PreviewAnswer"), "The preview of one run, or the summed preview of the runs that would start now"),
      ...commonErrors,
      404: errorResponse("No workflow has this id, it has no such version, or the mirror holds no such entity"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const wf = await getWorkflow(db(c.env.DB), id);
    if (!wf) throw new AppError("not_found", `No workflow has the id ${id}`);
    const version = body.version ?? wf.version;
    const def: Definition | undefined = version === wf.version ? wf.definition : await getVersion(db(c.env.DB), id, version);
    if (!def) throw new AppError("not_found", `Workflow ${id} has no version ${version}`);
    const now = new Date();
    const cfg = config(c.env);
    const mirror = mirrorPort(c.env.DB);
    // Read ports only: the preview cannot write by construction.
    const ctx: PreviewRunContext = {
      now,
      mirror: { read: (kind, entityId) => mirror.read(kind, entityId) },
      config: { EMAIL_FROM: cfg.EMAIL_FROM, INTERNAL_EMAILS: cfg.INTERNAL_EMAILS, WEBHOOK_ALLOWED_HOSTS: cfg.WEBHOOK_ALLOWED_HOSTS },
      planning: planningReadPort(c.env.DB),
      workflow: { id: wf.id, name: def.name, version },
    };

    if ("matching_now" in body) return c.json(await matchingNow(c.env.DB, def, version, body.limit, ctx), 200);

    const trigger = await triggerOf(c.env.DB, body, def, now);
    const kind = trigger.type.split(".")[1]!;
    const verdict = explainTrigger(def.trigger, { entity: trigger.entity, kind, tags: tagsOf(trigger.data as Record<string, unknown>), scope: scopeOf(trigger, ctx.workflow, now) });
    const run = await previewRun(def, trigger, NODE_CATALOG, ctx);
    const answer: RunPreview = { version, trigger: verdict, steps: run.steps, impact: run.impact };
    return c.json(answer, 200);
  },
);

/** The trigger a one-run preview runs on: the event given, or the mirrored entity as an `updated` event; with its related entities. */
async function triggerOf(d1: D1Database, body: z.output<typeof PreviewRequestSchema>, def: Definition, now: Date): Promise<Trigger> {
  let entity: EntityKind;
  let type: string;
  let entityId: string;
  let data: Record<string, unknown> | undefined;
  let previous: Record<string, unknown> | null = null;
  let occurredAt = now.toISOString();
  let eventId = `preview_${crypto.randomUUID()}`;
  if ("event" in body) {
    const e = body.event;
    type = e.type ?? `${def.trigger.entity}.updated`;
    const parts = EventTypeSchema.safeParse(type.split("."));
    if (!parts.success) throw validationError([{ path: "event.type", message: `Unknown event type ${type}` }]);
    entity = parts.data[0];
    entityId = e.entity_id ?? String(e.data!.id);
    data = e.data;
    previous = e.previous ?? null;
    if (e.occurred_at) occurredAt = new Date(e.occurred_at).toISOString();
    if (e.id) eventId = e.id;
  } else if ("entity" in body) {
    entity = body.entity;
    entityId = body.entity_id;
    type = `${entity}.${entityEventKind(def.trigger)}`;
  } else {
    throw validationError([{ path: "", message: "Give event, entity and entity_id, or matching_now" }]);
  }
  if (!data) {
    const row = await getEntity(d1, entity, entityId);
    if (!row || row.deleted) throw new AppError("not_found", `No ${entity} with id ${entityId} in the mirror${"event" in body ? "; send its data instead" : ""}`);
    data = row.data;
    previous = row.previous;
  }
  const snapshot = { ...data, id: entityId };
  const [related] = await readRelated(d1, [{ entity, data: snapshot }]);
  return { id: eventId, type, entity, entity_id: entityId, occurred_at: occurredAt, data: snapshot, previous, related };
}

/**
 * The event a mirrored entity is seen as: `updated` (SPEC §13), or the trigger's first kind when
 * it does not listen to updates — a back-in-stock workflow previewed on a subscription sees it as
 * `subscription.back_in_stock`, the event it runs on.
 */
function entityEventKind(t: Definition["trigger"]): string {
  return (t.events as string[]).includes("updated") ? "updated" : t.events[0]!;
}

/**
 * The runs that would start now: the mirrored entities of the trigger's kind that match its tags
 * and conditions (as an `updated` event, or its first event kind), read in chunks in id order
 * (through the tag index when the trigger needs one tag), each previewed; impacts summed.
 */
async function matchingNow(d1: D1Database, def: Definition, version: number, limit: number, ctx: PreviewRunContext): Promise<MatchingNowPreview> {
  const t = def.trigger;
  const entity = t.entity as EntityKind;
  const kind = entityEventKind(t);
  const started = Date.now();
  const tag = t.tags.include.length === 1 || (t.tags.match === "all" && t.tags.include.length > 0) ? t.tags.include[0] : undefined;
  const out: MatchingNowPreview = { version, matching_now: true, examined: 0, runs: 0, failing: 0, truncated: false, impact: zeroImpact() };
  let after: string | undefined;
  for (;;) {
    const rows = await listEntities(d1, entity, { tag, limit: SCAN_CHUNK, after });
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    out.examined += rows.length;
    const related = await readRelated(d1, rows.map((r) => ({ entity, data: { ...r.data, id: r.id } })));
    for (const [i, r] of rows.entries()) {
      const snapshot = { ...r.data, id: r.id };
      const trigger: Trigger = { id: `preview_${r.id}`, type: `${entity}.${kind}`, entity, entity_id: r.id, occurred_at: ctx.now.toISOString(), data: snapshot, previous: null, related: related[i] };
      // Only a pending subscription is notified when its size is back (SPEC §12).
      if (kind === "back_in_stock" && r.data.status !== "pending") continue;
      if (!matchesTrigger(t, { entity, kind, tags: tagsOf(r.data), scope: scopeOf(trigger, ctx.workflow, ctx.now) })) continue;
      if (out.runs >= limit) {
        out.truncated = true;
        return out;
      }
      const run = await previewRun(def, trigger, NODE_CATALOG, ctx);
      out.runs += 1;
      if (run.steps.some((s) => s.status === "would_fail")) out.failing += 1;
      addImpact(out.impact, run.impact);
    }
    if (rows.length < SCAN_CHUNK) break;
    if (out.examined >= SCAN_BOUND || Date.now() - started > SCAN_BUDGET_MS) {
      out.truncated = true;
      break;
    }
  }
  return out;
}
