import type { BackInStockVariant } from "../../../models/back-in-stock";
import { variantLabel } from "./format";

/** The three measures the chart compares per variant, in funnel order, with their colour class. */
export const MEASURES = [
  { key: "notified", label: "Notified", cls: "bis-notified" },
  { key: "engaged", label: "Engaged", cls: "bis-engaged" },
  { key: "converted", label: "Converted", cls: "bis-converted" },
] as const;

const ROW = 58;
const BAR = 8;
const LABEL = 16;
/** Bar pitch: a bar and the gap its value text needs. */
const PITCH = 12;

/**
 * Grouped horizontal bars, one group per variant (the most wanted first). Bar lengths are
 * percentages of the largest `notified`, so the chart follows the width of its box while the
 * labels keep their size (no viewBox scaling: readable at phone width). Screen readers get the
 * title and description; the numbers are in the table below it.
 */
export function BackInStockChart({ variants, table }: { variants: BackInStockVariant[]; table: string }) {
  const max = Math.max(1, ...variants.map((v) => v.notified));
  const height = variants.length * ROW;
  return (
    <figure class="bis-chart">
      <figcaption>
        <span class="strong">Notified, engaged and converted: the {variants.length} most wanted sizes</span>
        <span class="bis-legend" aria-hidden="true">
          {MEASURES.map((m) => (
            <span key={m.key}>
              <i class={`bis-swatch ${m.cls}`} /> {m.label}
            </span>
          ))}
        </span>
      </figcaption>
      <svg width="100%" height={height} role="img" aria-labelledby="bis-chart-title" aria-describedby="bis-chart-desc">
        <title id="bis-chart-title">Back-in-stock results of the {variants.length} most wanted sizes</title>
        <desc id="bis-chart-desc">
          For each size, bars for the subscriptions notified, engaged and converted in the window; the numbers are in the table “{table}” below.
        </desc>
        {variants.map((v, i) => {
          const y = i * ROW;
          return (
            <g key={v.variant_id} data-variant={v.variant_id}>
              <text x="0" y={y + LABEL - 2} class="bis-chart-label">
                {variantLabel(v)} · {v.waiting} waiting
              </text>
              {v.notified === 0 ? (
                <text x="0" y={y + LABEL + 14} class="bis-chart-value">
                  nobody notified in this window
                </text>
              ) : (
                MEASURES.map((m, j) => {
                  const n = v[m.key];
                  const pct = (n / max) * 80;
                  const top = y + LABEL + j * PITCH;
                  return (
                    <g key={m.key}>
                      <rect x="0" y={top} width={`${Math.max(pct, n > 0 ? 0.5 : 0)}%`} height={BAR} rx="2" class={m.cls}>
                        <title>
                          {m.label}: {n}
                        </title>
                      </rect>
                      <text x={`${pct + 1}%`} y={top + BAR} class="bis-chart-value">
                        {n} {m.label.toLowerCase()}
                      </text>
                    </g>
                  );
                })
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
