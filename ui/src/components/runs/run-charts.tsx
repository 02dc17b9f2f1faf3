import { useModel } from "@preact/signals";
import { RunStatsModel, WINDOWS } from "../../../models/run-stats";
import type { RunStats, StepFailures } from "../../api";
import { count } from "../../lib/util";
import { HBars, TimeBars, type Series } from "../common/charts";
import { ErrorNote, Loading } from "../common/ui";

type Outcome = "completed" | "failed" | "cancelled";
const OUTCOMES: readonly Series<Outcome>[] = [
  { key: "completed", label: "Completed", cls: "chart-completed" },
  { key: "failed", label: "Failed", cls: "chart-failed" },
  { key: "cancelled", label: "Cancelled", cls: "chart-cancelled" },
];

const windowText = (hours: number) => (hours === 24 ? "the last 24 hours" : hours === 168 ? "the last 7 days" : `the last ${count(hours, "hour")}`);

function summary(s: RunStats): string {
  const t = s.totals;
  return `In ${windowText(s.hours)}: ${t.completed} completed, ${t.failed} failed, ${t.cancelled} cancelled, ${t.running} still running. Test runs are not counted.`;
}

function StepFailureChart({ f }: { f: StepFailures }) {
  const rows = f.steps.map((s) => ({
    key: s.node_id,
    label: s.name ? `${s.name} (${s.node_id})` : s.type ? `${s.node_id} · ${s.type.replaceAll("_", " ")}` : `${s.node_id} (no longer in the workflow)`,
    value: s.failure_rate,
    text: s.runs === 0 ? "not reached" : `${Math.round(s.failure_rate * 100)} % (${s.failed} of ${s.runs})`,
    cls: "chart-failed",
  }));
  return (
    <HBars
      title={`Failure rate per step, ${windowText(f.hours)}`}
      desc={`For each step, the share of the ${count(f.runs, "run")} that reached it in which it failed; test runs are not counted.`}
      rows={rows}
      max={1}
    />
  );
}

/** Runs per hour by outcome, and a workflow's failures per step: above the runs list, following its workflow filter. */
export function RunCharts() {
  const m = useModel(RunStatsModel);
  const v = m.view;
  const stats = m.data.stats.value;
  const failures = m.data.failures.value;
  const picker = (
    <span class="segmented" role="group" aria-label="Window">
      {WINDOWS.map((w) => (
        <button key={w.hours} type="button" class={v.hours.value === w.hours ? "btn btn-small btn-on" : "btn btn-small"} aria-pressed={v.hours.value === w.hours} onClick={() => m.setHours(w.hours)}>
          {w.label}
        </button>
      ))}
    </span>
  );
  return (
    <section class="run-charts" aria-label="Runs over time">
      <ErrorNote error={v.error.value} onRetry={() => void m.refresh()} />
      {stats ? (
        <TimeBars
          title={`Runs per hour${v.workflowId.value ? " of this workflow" : ""}`}
          summary={summary(stats)}
          buckets={stats.buckets.map((b) => ({ start: b.start, values: { completed: b.completed, failed: b.failed, cancelled: b.cancelled } }))}
          series={OUTCOMES}
          actions={picker}
          empty={`No runs started in ${windowText(stats.hours)}${v.workflowId.value ? " for this workflow" : ""}. Test runs are not counted.`}
        />
      ) : (
        !v.error.value && <Loading label="Loading the runs per hour…" />
      )}
      <ErrorNote error={v.failuresError.value} />
      {failures && failures.steps.length > 0 && <StepFailureChart f={failures} />}
    </section>
  );
}
