import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

/*
 * Small SVG charts, no library (issue 14: the bundle stays small). Lengths are percentages of the
 * box and text keeps its size, so a chart follows its container from a phone to a wide screen
 * without scaling its labels. Each chart is an image with a title and a description for screen
 * readers, and its numbers are in a table beside it (a <details>, or the page's own table).
 */

/** One measure of a stacked bar: its label and the class that colours it (styles.css, .chart-*). */
export interface Series<K extends string> {
  key: K;
  label: string;
  cls: string;
}

export function Legend<K extends string>({ series }: { series: readonly Series<K>[] }) {
  return (
    <span class="chart-legend" aria-hidden="true">
      {series.map((s) => (
        <span key={s.key}>
          <i class={`chart-swatch ${s.cls}`} /> {s.label}
        </span>
      ))}
    </span>
  );
}

export interface TimeBucket<K extends string> {
  /** ISO instant the bucket starts at. */
  start: string;
  values: Record<K, number>;
}

const PLOT = 150;
const AXIS = 22;
const pct = (n: number) => `${Math.round(n * 1000) / 1000}%`;

/**
 * At most five short hour labels ("5 PM", counted back from the latest hour) for windows up to two
 * days, so that they fit a phone; for longer ones only midnights are labelled ("Tue 3").
 */
function timeLabels(starts: readonly string[]): (string | null)[] {
  const n = starts.length;
  if (n <= 48) {
    const every = Math.max(1, Math.ceil(n / 5));
    return starts.map((s, i) => ((n - 1 - i) % every === 0 ? new Date(s).toLocaleTimeString(undefined, { hour: "numeric" }) : null));
  }
  return starts.map((s) => {
    const d = new Date(s);
    return d.getHours() === 0 ? d.toLocaleDateString(undefined, { weekday: "short", day: "numeric" }) : null;
  });
}

const hourText = (iso: string) => new Date(iso).toLocaleString(undefined, { weekday: "short", hour: "numeric" });

/**
 * Stacked vertical bars over time, one per bucket, oldest left. `empty` is shown instead when
 * every bucket is zero; `summary` (a sentence of the totals) is the chart's description, and is
 * written under it.
 */
export function TimeBars<K extends string>(props: {
  title: string;
  summary: string;
  buckets: readonly TimeBucket<K>[];
  series: readonly Series<K>[];
  empty: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const id = useId();
  const { buckets, series } = props;
  const totals = buckets.map((b) => series.reduce((n, s) => n + b.values[s.key], 0));
  const max = Math.max(0, ...totals);
  const n = buckets.length;
  const slot = 100 / Math.max(1, n);
  const gap = n > 60 ? 0.15 : slot * 0.18;
  const labels = timeLabels(buckets.map((b) => b.start));
  const busy = buckets.filter((_, i) => totals[i]! > 0);
  return (
    <figure class="chart" data-chart="time-bars">
      <figcaption class="chart-head">
        <span class="strong" id={`${id}-t`}>
          {props.title}
        </span>
        <Legend series={series} />
        {props.actions}
      </figcaption>
      {max === 0 ? (
        <p class="chart-empty">{props.empty}</p>
      ) : (
        <>
          <svg class="chart-svg" width="100%" height={PLOT + AXIS} role="img" aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`}>
            <desc id={`${id}-d`}>{props.summary}</desc>
            <line x1="0" x2="100%" y1={PLOT + 0.5} y2={PLOT + 0.5} class="chart-axis" />
            <line x1="0" x2="100%" y1="12.5" y2="12.5" class="chart-grid" />
            <text x="0" y="10" class="chart-tick">
              {max}
            </text>
            {buckets.map((b, i) => {
              let top = PLOT;
              return (
                <g key={b.start} data-bucket={b.start}>
                  <title>
                    {hourText(b.start)}: {series.map((s) => `${b.values[s.key]} ${s.label.toLowerCase()}`).join(", ")}
                  </title>
                  {/* An invisible full-height bar, so that the hover title works above short bars too. */}
                  <rect x={pct(i * slot)} y="0" width={pct(slot)} height={PLOT} class="chart-hit" />
                  {series.map((s) => {
                    const v = b.values[s.key];
                    if (v <= 0) return null;
                    const h = Math.max(1.5, (v / max) * (PLOT - 14));
                    top -= h;
                    return <rect key={s.key} x={pct(i * slot + gap / 2)} y={top} width={pct(slot - gap)} height={h} class={s.cls} data-series={s.key} data-value={v} />;
                  })}
                </g>
              );
            })}
            {labels.map((l, i) => {
              if (l === null) return null;
              // Centred under its bar, but kept inside the box at either end.
              const at = (i + 0.5) * slot;
              const [x, anchor] = at > 96 ? ["100%", "end"] : at < 4 ? ["0", "start"] : [pct(at), "middle"];
              return (
                <text key={i} x={x} y={PLOT + 16} class="chart-tick" text-anchor={anchor}>
                  {l}
                </text>
              );
            })}
          </svg>
          <p class="hint chart-summary">{props.summary}</p>
          <details class="chart-numbers">
            <summary>Show the numbers</summary>
            <div class="chart-numbers-scroll">
              <table class="table compact">
                <caption class="visually-hidden">{props.title}: the hours that are not empty</caption>
                <thead>
                  <tr>
                    <th scope="col">Hour</th>
                    {series.map((s) => (
                      <th scope="col" class="num" key={s.key}>
                        {s.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {busy.map((b) => (
                    <tr key={b.start}>
                      <td>{hourText(b.start)}</td>
                      {series.map((s) => (
                        <td class="num" key={s.key}>
                          {b.values[s.key]}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </figure>
  );
}

export interface BarRow {
  key: string;
  label: string;
  /** The bar's length against the largest value (or `max`). */
  value: number;
  /** What is written after the bar: the value in words. */
  text: string;
  cls?: string;
}

const ROW = 44;
const BAR = 12;
const LABEL_MAX = 48;
/** The full scale's length in % of the box; the values are written in a column after it. */
const FULL = 62;

/**
 * Horizontal bars, one per row, the label above its bar (so long names fit a phone) and the value
 * written in a column after the scale's track. `max` is the full scale (1 for rates); else the largest value.
 */
export function HBars(props: { title: string; desc: string; rows: readonly BarRow[]; max?: number; actions?: ComponentChildren; legend?: ComponentChildren }) {
  const id = useId();
  const max = props.max ?? Math.max(0, ...props.rows.map((r) => r.value));
  return (
    <figure class="chart" data-chart="bars">
      <figcaption class="chart-head">
        <span class="strong" id={`${id}-t`}>
          {props.title}
        </span>
        {props.legend}
        {props.actions}
      </figcaption>
      <svg class="chart-svg" width="100%" height={props.rows.length * ROW} role="img" aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`}>
        <desc id={`${id}-d`}>{props.desc}</desc>
        {props.rows.map((r, i) => {
          const y = i * ROW;
          const share = max > 0 ? Math.max(0, r.value) / max : 0;
          const len = share * FULL;
          const label = r.label.length > LABEL_MAX ? `${r.label.slice(0, LABEL_MAX - 1)}…` : r.label;
          return (
            <g key={r.key} data-row={r.key} data-value={r.value}>
              <title>
                {r.label}: {r.text}
              </title>
              <text x="0" y={y + 14} class="chart-label">
                {label}
              </text>
              <rect x="0" y={y + 20} width={pct(FULL)} height={BAR} rx="2" class="chart-track" />
              <rect x="0" y={y + 20} width={pct(Math.max(len, r.value > 0 ? 0.6 : 0))} height={BAR} rx="2" class={r.cls ?? "chart-bar"} />
              <text x={pct(FULL + 2)} y={y + 30} class="chart-value">
                {r.text}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
