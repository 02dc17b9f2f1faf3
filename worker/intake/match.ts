import { utcDate } from "../definition/date-spec";
import { ANY_TAG } from "../definition/trigger";
import { matchesTrigger } from "../engine/trigger-match";
import { getDefinitions } from "../workflows/store";
import { count, track } from "../lib/metrics";
import { logError } from "../log";
import { readRelated } from "../entities/related-read";
import { errorText, mirrored, retry, type Item, type Mirrored } from "./item";
import { candidateStatements, parseCandidates, tagsNeeded, type Candidate, type CandidateRead } from "./mirror";

/**
 * Stage 3: finds the workflows each mirrored event starts: candidates by entity and tag, then the
 * related entities of the events that have candidates (one D1 round trip), then the trigger of
 * the version indexed. A stale event starts only the workflows that opt in.
 */
export async function match(env: Env, items: Item[], first: CandidateRead): Promise<void> {
  const todo = mirrored(items);
  if (todo.length === 0) return;
  let candidates = first.candidates;
  let definitions: Awaited<ReturnType<typeof getDefinitions>>;
  try {
    // A deleted event's tags come from the mirror, and a batch that fell back read no triggers yet.
    const missing = tagsNeeded(todo.map((i) => ({ entity: i.event.entity, tags: i.tags })), first.covered);
    if (missing.size > 0) candidates = candidates.concat(parseCandidates(track(await env.DB.batch(candidateStatements(env.DB, missing)))));
    const keys = new Map(candidates.map((c) => [`${c.workflow_id}@${c.version}`, { workflowId: c.workflow_id, version: c.version }]));
    definitions = await getDefinitions(env.DB, [...keys.values()]);
  } catch (err) {
    logError("consumer_triggers", err, { events: todo.length });
    for (const item of todo) item.outcome = retry(`Reading the active workflows failed: ${errorText(err)}`);
    return;
  }
  count("consumer_candidates", candidates.length);

  const byTag = new Map<string, Candidate[]>();
  for (const c of candidates) byTag.set(`${c.entity}\u0000${c.tag}`, [...(byTag.get(`${c.entity}\u0000${c.tag}`) ?? []), c]);

  // Related entities (SPEC §11) are read once, here, for the events some workflow may run on, so
  // that trigger conditions can use them too; the runs keep what was read in their trigger.
  const candidatesOf = (item: Mirrored) => [ANY_TAG, ...item.tags].some((tag) => byTag.has(`${item.event.entity}\u0000${tag}`));
  const relatedFor = todo.filter(candidatesOf);
  try {
    const related = await readRelated(env.DB, relatedFor.map((i) => ({ entity: i.event.entity, data: i.trigger.data })));
    relatedFor.forEach((item, k) => (item.trigger = { ...item.trigger, related: related[k]! }));
  } catch (err) {
    logError("consumer_related", err, { events: relatedFor.length });
    for (const item of relatedFor) item.outcome = retry(`Reading the related entities failed: ${errorText(err)}`);
  }

  const now = new Date();
  for (const item of mirrored(todo)) {
    const seen = new Set<string>();
    for (const tag of [ANY_TAG, ...item.tags]) {
      for (const c of byTag.get(`${item.event.entity}\u0000${tag}`) ?? []) {
        if (seen.has(c.workflow_id)) continue;
        seen.add(c.workflow_id);
        const def = definitions.get(`${c.workflow_id}@${c.version}`);
        if (def === undefined) continue; // deactivated since the index was read
        if (def instanceof Error) {
          // Never skip silently: the event is tried again and, if it keeps failing, is dead-lettered.
          logError("consumer_definition", def, { workflow_id: c.workflow_id, event_id: item.event.id });
          item.outcome = retry(def.message);
          continue;
        }
        const scope = {
          trigger: item.trigger,
          steps: {},
          workflow: { id: c.workflow_id, name: def.name, version: c.version },
          run: { id: "" },
          now: now.toISOString(),
          today: utcDate(now),
        };
        if (!matchesTrigger(def.trigger, { entity: item.event.entity, kind: item.event.kind, tags: item.tags, scope })) continue;
        if (item.held !== null && def.trigger.stale_events === "skip") item.skipped.push(c.workflow_id);
        else item.starts.push({ workflowId: c.workflow_id, version: c.version, controls: def.controls });
      }
    }
  }
}
