/**
 * rate-chart.tsx draws the message-rate history as a small inline SVG: two
 * lines (in and out) over the last minutes, scaled to the largest value.
 */
import type { RatePoint } from "../sampler.ts";

const W = 440;
const H = 110;
const PAD = 4;

function polyline(points: RatePoint[], pick: (p: RatePoint) => number, max: number, t0: number, span: number): string {
  return points.map((p) => {
    const x = PAD + ((p.t - t0) / span) * (W - 2 * PAD);
    const y = H - PAD - (pick(p) / max) * (H - 2 * PAD);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(" ");
}

/** RateChart renders in/out series picked from the rate points. */
export function RateChart(props: { title: string; points: RatePoint[]; in: (p: RatePoint) => number; out: (p: RatePoint) => number; format: (n: number) => string }) {
  const { points } = props;
  if (points.length < 2) {
    return <p class="muted">{props.title}: collecting samples…</p>;
  }
  const t0 = points[0]!.t;
  const span = Math.max(1, points[points.length - 1]!.t - t0);
  const max = Math.max(1e-9, ...points.map(props.in), ...points.map(props.out));
  const last = points[points.length - 1]!;
  return (
    <figure class="chart">
      <figcaption>
        {props.title}: <span class="in">in {props.format(props.in(last))}</span> · <span class="out">out {props.format(props.out(last))}</span>
        <span class="muted"> (peak {props.format(max)}, last {Math.round(span / 60_000) || "<1"} min)</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={props.title}>
        <rect x="0" y="0" width={W} height={H} fill="none" stroke="#ccc" />
        <polyline points={polyline(points, props.in, max, t0, span)} fill="none" stroke="#1565c0" stroke-width="2" />
        <polyline points={polyline(points, props.out, max, t0, span)} fill="none" stroke="#ef6c00" stroke-width="2" />
      </svg>
    </figure>
  );
}
