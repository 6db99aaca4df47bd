/**
 * cluster-svg.tsx draws the cluster picture: nodes on a circle, this node at
 * the top, one line per route of the full mesh, green when up (with its RTT
 * for the routes of this node, which it can measure), red and dashed when
 * down. Plain SVG attributes only, so the strict CSP needs no styles.
 */
import type { ClusterView } from "../cluster-view.ts";

const W = 440;
const H = 300;
const R = 105;
const UP = "#2e7d32";
const DOWN = "#c62828";

/** ClusterSvg renders a ClusterView as an inline SVG. */
export function ClusterSvg({ view }: { view: ClusterView }) {
  const n = view.nodes.length;
  const h = n === 1 ? 80 : H;
  const cx = W / 2;
  const cy = n === 1 ? 28 : H / 2 + 5;
  const pos = new Map<string, { x: number; y: number }>();
  view.nodes.forEach((node, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    pos.set(node.name, n === 1 ? { x: cx, y: cy } : { x: cx + R * 1.5 * Math.cos(a), y: cy + R * Math.sin(a) });
  });
  return (
    <svg class="cluster" viewBox={`0 0 ${W} ${h}`} width={W} height={h} role="img" aria-label={`cluster ${view.name ?? ""}: ${view.routes.filter((r) => r.up).length} of ${view.routes.length} routes up`}>
      <title>{`routes up: ${view.routes.filter((r) => r.up).length} of ${view.routes.length}`}</title>
      {view.routes.map((r) => {
        const a = pos.get(r.from)!;
        const b = pos.get(r.to)!;
        const mx = (a.x + b.x) / 2;
        const my = (a.y + b.y) / 2;
        return (
          <g class={`route ${r.up ? "up" : "down"}`} data-route-from={r.from} data-route-to={r.to} data-state={r.up ? "up" : "down"} data-observed={r.observed ? "measured" : "inferred"}>
            <title>{r.observed ? `${r.from} → ${r.to}: ${r.up ? `up, RTT ${r.rtt ?? "?"}` : "down"}` : `${r.from} ↔ ${r.to}: ${r.up ? "both ends up" : "an end is down"} (not measurable from this node)`}</title>
            <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} stroke={r.up ? UP : DOWN} stroke-width={r.observed ? 4 : 2} stroke-dasharray={r.up ? undefined : "8 6"} />
            <text x={mx} y={my - 6} text-anchor="middle" font-size="12" fill={r.up ? UP : DOWN}>{r.observed ? (r.up ? (r.rtt ?? "up") : "down") : (r.up ? "" : "down")}</text>
          </g>
        );
      })}
      {view.nodes.map((node) => {
        const p = pos.get(node.name)!;
        const fill = node.self ? "#1565c0" : node.up ? UP : DOWN;
        return (
          <g class="node" data-node={node.name} data-state={node.up ? "up" : "down"}>
            <circle cx={p.x} cy={p.y} r="22" fill={fill} stroke={node.metaLeader ? "#f9a825" : "#ffffff"} stroke-width={node.metaLeader ? 5 : 2} />
            <text x={p.x} y={p.y + 40} text-anchor="middle" font-size="13" font-weight={node.self ? "bold" : "normal"} fill="currentColor">{node.name}</text>
            {node.metaLeader ? <text x={p.x} y={p.y + 4} text-anchor="middle" font-size="11" fill="#ffffff">leader</text> : null}
          </g>
        );
      })}
    </svg>
  );
}
