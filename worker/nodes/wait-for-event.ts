import { z } from "zod";
import { CONDITION_OPS, ConditionError, ConditionGroupSchema, evaluateGroup, isMissing, type Condition, type ConditionGroup, type EvaluatedCondition } from "../definition/conditions";
import { collectReferences, interpolate, parsePath, type Scope } from "../definition/interpolate";
import { ENTITY_KINDS, isEntityKind } from "../entities/registry";
import { type ActionResult, type BranchOutput, defineAction, type Preview } from "../engine/step";
import { issuesText } from "../lib/issues";
import { AwaitedEventSchema, matchKey, type AwaitedEvent, type EventWait } from "../waits/port";
import { Duration, durationMs, humanDuration } from "./wait";

/*
 * wait_for_event (SPEC §15): the run waits until an event of a type arrives whose match holds —
 * `then`, with the event as `steps.<id>.output.event` — or until the timeout — `else`. Waiting
 * costs nothing: the step's one attempt subscribes (worker/waits/, which says why no event is
 * missed) and answers `await`; the queue consumer delivers events to the run as signals, and the
 * alarm stands at the timeout. An event counts when it occurred from the start of the second the
 * wait began (platforms often send whole seconds) up to the timeout, and is not the event the run
 * started from; the first that matches wins.
 */

const EVENT = "event";
/** The fields of an event `{{event.…}}` may read. */
const EVENT_FIELDS = ["id", "type", "entity", "entity_id", "occurred_at", "data"] as const;

const EventTypeSchema = z
  .string()
  .regex(/^[a-z_]+\.(created|updated|deleted)$/, "Use <entity>.<created|updated|deleted>, e.g. order.created")
  .refine((t) => isEntityKind(t.split(".")[0]!), { message: `The entity must be one of ${ENTITY_KINDS.join(", ")}` });

const rootsOf = (operand: unknown) => collectReferences(operand).map((r) => parsePath(r.path)?.[0]);
const mentionsEvent = (operand: unknown) => rootsOf(operand).includes(EVENT);

/** A side of a comparison reads the awaited event or the run, never both: the run's side is resolved when the wait begins. */
const MatchSchema = ConditionGroupSchema.superRefine((group, ctx) => {
  for (const key of ["all", "any"] as const) {
    group[key]?.forEach((c, i) => {
      for (const side of ["left", "right"] as const) {
        const refs = collectReferences(c[side]);
        const events = refs.filter((r) => parsePath(r.path)?.[0] === EVENT);
        const path = [key, i, side];
        if (events.length > 0 && events.length < refs.length) {
          ctx.addIssue({ code: "custom", path, message: "One side reads the event ({{event.…}}), the other the run ({{trigger.…}}, a step, a value): a side cannot mix both" });
        }
        for (const ref of events) {
          const field = parsePath(ref.path)?.[1];
          if (!(EVENT_FIELDS as readonly string[]).includes(field ?? "")) {
            ctx.addIssue({ code: "custom", path, message: `"{{${ref.path}}}": an event has ${EVENT_FIELDS.join(", ")}` });
          }
        }
      }
    });
  }
});

export const WaitForEventConfigSchema = z.strictObject({
  event: EventTypeSchema.describe("The event type awaited, e.g. order.created"),
  match: MatchSchema.optional().describe("Conditions on the event ({{event.data.*}}) and the run ({{trigger.*}}); absent: any event of the type"),
  timeout: Duration.describe("How long to wait before going to else"),
});
export type WaitForEventConfig = z.infer<typeof WaitForEventConfigSchema>;

/** A side of a comparison as the step keeps it: the run's value (or that it was missing), or the event's template. */
const OperandSchema = z.union([z.strictObject({ missing: z.literal(true) }), z.strictObject({ event: z.unknown() }), z.strictObject({ value: z.unknown() })]);
const PreparedConditionSchema = z.object({ left: OperandSchema, op: z.enum(CONDITION_OPS), right: OperandSchema.optional() });
const PreparedMatchSchema = z.object({ all: z.array(PreparedConditionSchema).optional(), any: z.array(PreparedConditionSchema).optional() });

/** The step's input, fixed when the step began (a retried subscription keeps it). */
export const WaitForEventInputSchema = z.object({
  event: z.string(),
  match: PreparedMatchSchema.nullable(),
  /** What the consumer looks the wait up by: a path in the event and its value's key (port.ts matchKey). */
  key: z.object({ path: z.string(), value: z.string() }).nullable(),
  since: z.iso.datetime(),
  until: z.iso.datetime(),
  /** The id of the event the run started from: it never answers the wait, even when it occurred in the same second. */
  trigger_event: z.string(),
});
export type WaitForEventInput = z.infer<typeof WaitForEventInputSchema>;

/** The step's output while it waits: what it waits for. */
const WaitingSchema = WaitForEventInputSchema.pick({ event: true, match: true, since: true, until: true, trigger_event: true }).extend({ waiting: z.literal(true) });

function prepareOperand(operand: unknown, scope: Scope): z.infer<typeof OperandSchema> {
  if (mentionsEvent(operand)) return { event: operand };
  const value = interpolate(operand, scope, { missingOk: true });
  return isMissing(value) ? { missing: true } : { value };
}

function prepare(group: ConditionGroup, scope: Scope): z.infer<typeof PreparedMatchSchema> {
  const one = (c: Condition) => ({
    left: prepareOperand(c.left, scope),
    op: c.op,
    ...(c.right === undefined ? {} : { right: prepareOperand(c.right, scope) }),
  });
  return { ...(group.all ? { all: group.all.map(one) } : {}), ...(group.any ? { any: group.any.map(one) } : {}) };
}

/** The exact `{{event.<path>}}` an operand is, as a path in the event; undefined otherwise. */
function eventPath(operand: unknown): string | undefined {
  if (typeof operand !== "string") return undefined;
  const m = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(operand);
  const parts = m ? parsePath(m[1]!) : undefined;
  return parts && parts[0] === EVENT && parts.length > 1 ? parts.slice(1).join(".") : undefined;
}

/** The first `eq` of `all` that pins a path of the event to a scalar of the run: what the consumer looks the wait up by. */
function keyOf(group: ConditionGroup | undefined, scope: Scope): WaitForEventInput["key"] {
  for (const c of group?.all ?? []) {
    if (c.op !== "eq") continue;
    const [path, other] = eventPath(c.left) !== undefined ? [eventPath(c.left), c.right] : [eventPath(c.right), c.left];
    if (path === undefined || mentionsEvent(other)) continue;
    const key = matchKey(interpolate(other, scope, { missingOk: true }));
    if (key !== null) return { path, value: key };
  }
  return null;
}

/** What `{{event.…}}` reads at delivery: the event only (validation keeps every other root out of an event side). */
const eventScope = (event: AwaitedEvent): Scope =>
  Object.assign(
    { event },
    { trigger: { id: "", type: "", entity: "", entity_id: "", occurred_at: "", data: null, previous: null }, steps: {}, workflow: { id: "", name: "", version: 0 }, run: { id: "" }, now: "", today: "" },
  );

type Verdict = { ok: true; conditions: { all: EvaluatedCondition[]; any: EvaluatedCondition[] } | null } | { ok: false; refused: string };

/** Whether an event answers the wait: its type, its time (from `since` to `until`), then the match. */
export function judge(wait: Pick<WaitForEventInput, "event" | "match" | "since" | "until" | "trigger_event">, event: AwaitedEvent): Verdict {
  if (event.type !== wait.event) return { ok: false, refused: `The step waits for ${wait.event}, not ${event.type}` };
  if (event.id === wait.trigger_event) return { ok: false, refused: "The event the run started from does not count" };
  const at = Date.parse(event.occurred_at);
  if (!(at >= Date.parse(wait.since))) return { ok: false, refused: `The event occurred at ${event.occurred_at}, before the wait began (${wait.since})` };
  if (at > Date.parse(wait.until)) return { ok: false, refused: `The event occurred at ${event.occurred_at}, after the timeout (${wait.until})` };
  if (!wait.match) return { ok: true, conditions: null };
  const scope = eventScope(event);
  const resolve = (raw: unknown) => {
    const operand = OperandSchema.parse(raw);
    if ("missing" in operand) return undefined;
    return "event" in operand ? interpolate(operand.event, scope, { missingOk: true }) : operand.value;
  };
  try {
    const evaluated = evaluateGroup(wait.match, resolve);
    return evaluated.result ? { ok: true, conditions: { all: evaluated.all, any: evaluated.any } } : { ok: false, refused: "The event does not match" };
  } catch (err) {
    return { ok: false, refused: err instanceof ConditionError ? err.message : String(err) };
  }
}

const thenOutput = (event: AwaitedEvent, verdict: Extract<Verdict, { ok: true }>, now: Date): BranchOutput => ({
  result: true,
  branch: "then",
  event,
  received_at: now.toISOString(),
  ...(verdict.conditions ? { conditions: verdict.conditions } : {}),
});

const waitOf = (input: WaitForEventInput, step: { runId: string; nodeId: string }): EventWait => ({
  event_type: input.event,
  key_path: input.key?.path ?? "",
  key_value: input.key?.value ?? "",
  run_id: step.runId,
  node_id: step.nodeId,
  since: input.since,
  until: input.until,
});

export const waitForEvent = defineAction<"wait_for_event", typeof WaitForEventConfigSchema, WaitForEventInput>({
  type: "wait_for_event",
  label: "Wait for an event",
  configSchema: WaitForEventConfigSchema,
  branches: true,
  localRoots: [EVENT],
  resolve(config, scope, now) {
    // Whole seconds: an event stamped with the second the wait began counts.
    const since = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
    const until = new Date(now.getTime() + durationMs(config.timeout)).toISOString();
    const match = config.match ? prepare(config.match, scope) : null;
    return { event: config.event, match, key: keyOf(config.match, scope), since, until, trigger_event: scope.trigger.id };
  },

  async execute(raw, ctx, deps): Promise<ActionResult> {
    const parsed = WaitForEventInputSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `The step's input is invalid: ${issuesText(parsed.error)}`, retryable: false };
    const input = parsed.data;
    let found: AwaitedEvent[];
    try {
      found = await deps.events.subscribe(waitOf(input, { runId: ctx.runId, nodeId: ctx.nodeId }));
    } catch (err) {
      return { ok: false, error: `Subscribing to ${input.event} failed: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
    }
    // Events consumed while the subscription was being made: the first that matches ends the wait.
    for (const event of found) {
      const verdict = judge(input, event);
      if (verdict.ok) {
        ctx.log(`${event.type} ${event.id} had arrived already`);
        return { ok: true, output: thenOutput(event, verdict, ctx.now) };
      }
    }
    ctx.log(`Waiting for ${input.event} until ${input.until}`);
    const { event, match, since, until, trigger_event } = input;
    return { ok: "await", output: { event, match, since, until, trigger_event, waiting: true }, until };
  },

  awaits: {
    receive(output, signal, now) {
      const waiting = WaitingSchema.safeParse(output);
      if (!waiting.success) return { ok: false, refused: "The step is not waiting for an event" };
      const event = AwaitedEventSchema.safeParse(signal);
      if (!event.success) return { ok: false, refused: `Not an event: ${issuesText(event.error)}` };
      const verdict = judge(waiting.data, event.data);
      return verdict.ok ? { ok: true, output: thenOutput(event.data, verdict, now) } : verdict;
    },
    timeout: (_output, now) => ({ result: false, branch: "else", event: null, timed_out_at: now.toISOString() }),
  },

  async cleanup(raw, step, deps) {
    const input = WaitForEventInputSchema.safeParse(raw);
    if (input.success) await deps.events.unsubscribe(waitOf(input.data, step));
  },

  /** A preview cannot foresee events: it shows the wait and goes on as if the timeout came first. */
  preview(raw, ctx): Promise<Preview> {
    const input = WaitForEventInputSchema.safeParse(raw);
    if (!input.success) return Promise.resolve({ previewable: true, output: null, error: `The step's input is invalid: ${issuesText(input.error)}` });
    const { event, until } = input.data;
    const ms = Date.parse(until) - ctx.now.getTime();
    return Promise.resolve({
      previewable: true,
      output: { event, until, text: `would wait up to ${humanDuration(ms)} for ${event}; without one it goes to else` },
      stepOutput: { result: false, branch: "else", event: null, timed_out_at: until },
    });
  },
});
