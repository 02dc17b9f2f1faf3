/**
 * The typed client of the public API (SPEC §7–10). Payloads are typed by the worker's contract
 * (worker/contract: the zod schemas the routes answer with) through `import type`, so the bundle
 * carries no schema code. Every failure becomes an ApiError with a sentence a person can read;
 * callers show it, never swallow it.
 */
import type {
  BackInStockSummary,
  Credentials,
  Definition,
  DefinitionInput,
  EntityDetail,
  EntityKind,
  EntitySnapshot,
  ErrorBody,
  EventKind,
  Issue,
  Page,
  Plan,
  PlanDetail,
  PlanItem,
  PlanKind,
  PlanStatus,
  RestockEpisode,
  RunClicks,
  RunListItem,
  RunRecord,
  RunStatus,
  RunSummary,
  SavedWorkflow,
  StepRecord,
  StepStatus,
  TestEvent as TestEventBody,
  TestRunStarted,
  Trigger,
  TriggerEntity,
  ValidateAnswer,
  VersionDefinition,
  WorkflowListItem,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowVersion,
} from "../../worker/contract";
import type { MatchingNowPreview, PreviewAnswer, PreviewImpactBody, PreviewRequest, PreviewStep, RunPreview } from "../../worker/contract";
export type { MatchingNowPreview, PreviewAnswer, PreviewImpactBody, PreviewRequest, PreviewStep, RunPreview };
import type { FlowStats } from "../../worker/contract/flow";
export type { FlowStats };
import type { Backfill, CronTimes } from "../../worker/contract/backfill";
export type { Backfill, CronTimes };
import type { Approval, DecisionBody, RetryAnswer, RetryBody } from "../../worker/contract";
export type { Approval, DecisionBody, RetryAnswer, RetryBody };
import type { DeadEvent, RefusedEvent, Replayed, StaleEvent } from "../../worker/contract/event";
export type { DeadEvent, RefusedEvent, StaleEvent };
import type { PlanLine, PlanLineEditAnswer, PlanTotals } from "../../worker/contract";
export type { PlanLine, PlanLineEditAnswer, PlanTotals };
import type { RunStats, StepFailures } from "../../worker/contract/run-stats";
export type { RunStats, StepFailures };

export type {
  BackInStockSummary,
  Definition,
  DefinitionInput,
  EntityKind,
  EntitySnapshot,
  EventKind,
  Issue,
  Page,
  PlanDetail,
  PlanItem,
  PlanKind,
  PlanStatus,
  RestockEpisode,
  RunListItem,
  RunStatus,
  RunSummary,
  StepRecord,
  StepStatus,
  Trigger,
  TriggerEntity,
  WorkflowListItem,
  WorkflowStatus,
  WorkflowVersion,
};

export type Workflow = WorkflowRecord;
export type { SavedWorkflow };
export type Validation = ValidateAnswer;
export type RunDetail = RunRecord;
export type PlanListItem = Plan;

/** A run still moving: its page polls until it is not. */
export const LIVE_RUN_STATUSES: readonly RunStatus[] = ["pending", "running"];

/** The builder sends the entity data as the person typed it; the server checks it. */
export type TestEvent = Omit<TestEventBody, "data" | "previous"> & { data: unknown; previous?: unknown };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A sentence for any failure, with the API's issues listed after it. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const issues = err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    return issues.length > 0 ? `${err.message} (${issues.join("; ")})` : err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

interface Hooks {
  token(): string | null;
  /** A 401: the token is missing or no longer accepted. */
  unauthorized(message: string): void;
}

let hooks: Hooks = { token: () => null, unauthorized: () => {} };

export function configureApi(h: Hooks): void {
  hooks = h;
}

type Query = Record<string, string | number | boolean | null | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

const STATUS_TEXT: Record<number, string> = {
  400: "The request was not accepted",
  401: "The API token was not accepted",
  403: "This is not allowed",
  404: "Not found",
  405: "This endpoint does not accept this method",
  409: "This conflicts with the current state",
  413: "The request is too large",
  422: "This cannot be done as it stands",
  429: "Too many requests; wait a moment and try again",
  500: "The server failed",
  502: "The server is not reachable right now",
  503: "The server is not available right now",
};

async function send(method: string, path: string, opts: { query?: Query; body?: unknown; token?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = opts.token !== undefined ? opts.token : hooks.token();
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(withQuery(`/api${path}`, opts.query), { method, headers, body });
  } catch (err) {
    throw new ApiError(0, "network", `Could not reach the server (${err instanceof Error ? err.message : String(err)}); check your connection and try again`);
  }
  if (res.ok) return res;
  let parsed: ErrorBody | undefined;
  try {
    parsed = (await res.json()) as ErrorBody;
  } catch {
    // Not our JSON error shape (a proxy page, an empty body): fall back to the status.
  }
  const e = parsed?.error;
  const error = new ApiError(
    res.status,
    e?.code ?? `http_${res.status}`,
    e?.message ?? `${STATUS_TEXT[res.status] ?? "The request failed"} (HTTP ${res.status})`,
    e?.issues ?? [],
  );
  if (res.status === 401 && opts.token === undefined) hooks.unauthorized(error.message);
  throw error;
}

async function json<T>(method: string, path: string, opts: { query?: Query; body?: unknown; token?: string | null } = {}): Promise<T> {
  const res = await send(method, path, opts);
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, "bad_response", `The server sent an answer that is not JSON for ${method} /api${path}`);
  }
}

const enc = encodeURIComponent;

export const api = {
  /** Checks a token without touching the stored one; throws ApiError 401 when it is refused. */
  checkToken: (token: string) => json<Page<WorkflowListItem>>("GET", "/workflows", { query: { limit: 1 }, token }),

  listWorkflows: (q: { status?: string; q?: string; limit?: number; cursor?: string | null }) => json<Page<WorkflowListItem>>("GET", "/workflows", { query: q }),
  getWorkflow: (id: string) => json<Workflow>("GET", `/workflows/${enc(id)}`),
  createWorkflow: (def: DefinitionInput) => json<SavedWorkflow>("POST", "/workflows", { body: def }),
  saveWorkflow: (id: string, def: DefinitionInput) => json<SavedWorkflow>("PUT", `/workflows/${enc(id)}`, { body: def }),
  setStatus: (id: string, status: WorkflowStatus) => json<Workflow>("POST", `/workflows/${enc(id)}/status`, { body: { status } }),
  listVersions: (id: string, cursor?: string | null) => json<Page<WorkflowVersion>>("GET", `/workflows/${enc(id)}/versions`, { query: { limit: 100, cursor } }),
  getVersion: (id: string, version: number) => json<VersionDefinition>("GET", `/workflows/${enc(id)}/versions/${version}`),
  validate: (def: unknown) => json<Validation>("POST", "/workflows/validate", { body: def }),
  credentials: () => json<Credentials>("GET", "/credentials"),
  startTest: (id: string, event: TestEvent) => json<TestRunStarted>("POST", `/workflows/${enc(id)}/test`, { body: event }),
  /** What a run of the saved version would do on real data (SPEC §13); writes nothing. */
  previewWorkflow: (id: string, body: PreviewRequest) => json<PreviewAnswer>("POST", `/workflows/${enc(id)}/preview`, { body }),
  /** What flow control did per day, and today's use of the daily caps (SPEC §14). */
  flowStats: (id: string, days = 14) => json<FlowStats>("GET", `/workflows/${enc(id)}/stats`, { query: { days } }),
  /** Backfills and schedules (SPEC §15): runs for what matches now, their progress, a cron's next times. */
  startBackfill: (id: string, limit?: number) => json<Backfill>("POST", `/workflows/${enc(id)}/backfill`, { body: limit === undefined ? {} : { limit } }),
  getBackfill: (id: string, backfillId: string) => json<Backfill>("GET", `/workflows/${enc(id)}/backfills/${enc(backfillId)}`),
  cancelBackfill: (id: string, backfillId: string) => json<Backfill>("POST", `/workflows/${enc(id)}/backfills/${enc(backfillId)}/cancel`),
  cronTimes: (cron: string, count = 5) => json<CronTimes>("GET", "/workflows/schedule/times", { query: { cron, count } }),

  listRuns: (q: { workflow_id?: string; status?: string; test?: string; limit?: number; cursor?: string | null }) => json<Page<RunListItem>>("GET", "/runs", { query: q }),
  getRun: (id: string) => json<RunDetail>("GET", `/runs/${enc(id)}`),
  cancelRun: (id: string) => json<RunDetail>("POST", `/runs/${enc(id)}/cancel`),
  /** The sent email's HTML body (or the raw RFC 822 message); fetched with the token, shown via srcdoc. */
  stepMessage: async (runId: string, nodeId: string, as: "html" | "raw") => {
    const res = await send("GET", `/runs/${enc(runId)}/steps/${enc(nodeId)}/message`, { query: as === "html" ? { as: "html" } : {} });
    return res.text();
  },
  /** The run's tracked links (track_links) with their clicks. */
  runClicks: (runId: string) => json<RunClicks>("GET", `/runs/${enc(runId)}/clicks`),
  /** Approve or reject an approval step that waits (SPEC §15); answers the run after the decision. */
  decide: (runId: string, nodeId: string, body: DecisionBody) => json<RunDetail>("POST", `/runs/${enc(runId)}/steps/${enc(nodeId)}/decision`, { body }),
  /** A new run that retries this one from a step; `dry_run` answers the side effects already made and starts nothing. */
  retryRun: (runId: string, body: RetryBody) => json<RetryAnswer>("POST", `/runs/${enc(runId)}/retry`, { body }),
  listApprovals: (q: { status?: string; limit?: number; cursor?: string | null }) => json<Page<Approval>>("GET", "/approvals", { query: q }),

  /** Events the consumer gave up on, requests the intake refused, events older than the snapshot held. */
  listDeadEvents: (cursor?: string | null) => json<Page<DeadEvent>>("GET", "/events/dead", { query: { limit: 50, cursor } }),
  listRefusedEvents: (cursor?: string | null) => json<Page<RefusedEvent>>("GET", "/events/refused", { query: { limit: 50, cursor } }),
  listStaleEvents: (cursor?: string | null) => json<Page<StaleEvent>>("GET", "/events/stale", { query: { limit: 50, cursor } }),
  replayDeadEvent: (id: string) => json<Replayed>("POST", `/events/dead/${enc(id)}/replay`),

  listPlans: (q: { kind?: string; status?: string; test?: string; limit?: number; cursor?: string | null }) => json<Page<PlanListItem>>("GET", "/plans", { query: q }),
  getPlan: (id: string, itemsCursor?: string | null, itemsLimit = 1000) =>
    json<PlanDetail>("GET", `/plans/${enc(id)}`, { query: { items_limit: itemsLimit, items_cursor: itemsCursor } }),
  /** A plan's lines with names, stock, values and reason (issue 14), filtered and paged. */
  planLines: (id: string, q: { q?: string; shop_id?: string; test?: string; limit?: number; cursor?: string | null }) =>
    json<Page<PlanLine>>("GET", `/plans/${enc(id)}/lines`, { query: q }),
  planTotals: (id: string) => json<PlanTotals>("GET", `/plans/${enc(id)}/totals`),
  setPlanStatus: (id: string, status: PlanStatus) => json<Plan>("POST", `/plans/${enc(id)}/status`, { body: { status } }),
  setPlanLineQuantity: (id: string, lineId: string, quantity: number) =>
    json<PlanLineEditAnswer>("PATCH", `/plans/${enc(id)}/lines/${enc(lineId)}`, { body: { quantity } }),
  /** The CSV export, fetched with the token (a plain link could not send it), and the file name the server gave. */
  exportPlanCsv: async (id: string, q: { q?: string; shop_id?: string; test?: string }) => {
    const res = await send("GET", `/plans/${enc(id)}/export.csv`, { query: q });
    const disposition = res.headers.get("content-disposition") ?? "";
    const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
    return { blob: await res.blob(), filename: utf8 ? decodeURIComponent(utf8) : `plan-${id}.csv` };
  },
  /** Runs per hour by outcome, test runs aside; and a workflow's failures per step. */
  runStats: (q: { hours: number; workflow_id?: string }) => json<RunStats>("GET", "/runs/stats", { query: q }),
  stepFailures: (workflowId: string, hours = 168) => json<StepFailures>("GET", `/workflows/${enc(workflowId)}/step-failures`, { query: { hours } }),

  listEntities: (entity: EntityKind, q: { q?: string; tag?: string; limit?: number; cursor?: string | null }) =>
    json<Page<EntitySnapshot>>("GET", `/entities/${enc(entity)}`, { query: q }),
  getEntity: (entity: EntityKind, id: string) => json<EntityDetail>("GET", `/entities/${enc(entity)}/${enc(id)}`),

  /** Waiting, notified, engaged, converted and revenue per variant for notifications in [from, to]. */
  backInStockSummary: (q: { from?: string; to?: string; limit?: number }) => json<BackInStockSummary>("GET", "/back-in-stock/summary", { query: q }),
  listRestocks: (q: { variant_id?: string; limit?: number; cursor?: string | null }) => json<Page<RestockEpisode>>("GET", "/restocks", { query: q }),
};
