/**
 * cluster.tsx is the cluster panel: the leaf uplinks, the picture of the
 * mesh as this node sees it (lib/admin/cluster-view.ts) and its routes.
 */
import type { ClusterView } from "../cluster-view.ts";
import { ClusterSvg } from "../pages/cluster-svg.tsx";
import { overviewPanel } from "../panel.ts";
import { ErrorLine } from "./_parts.tsx";
import type { FleetRow } from "../../fleet/fleet-view.ts";

/** clusterPanel shows routes, peers and leaf uplinks; its view is the one /readyz decides on. */
export const clusterPanel = overviewPanel({
  id: "cluster",
  title: "Cluster",
  view: (i): ClusterView => i.cluster,
  render: (c, facts) => (
    <>
      <h2>Cluster{c.name ? ` ${c.name}` : ""}</h2>
      <ErrorLine text={c.error} />
      {facts.leafs.length ? (
        <table id="leafs">
          <thead><tr><th>leaf uplink</th><th>state</th><th>hub node</th><th class="num">RTT</th></tr></thead>
          <tbody>{facts.leafs.map((l) => <tr data-leaf={l.url} data-state={l.up ? "up" : "down"}><td>{l.url}</td><td class={l.up ? "ok" : "bad"}>{l.up ? "up" : "DOWN"}</td><td data-hub>{l.up ? `${l.hub ?? "?"}${l.address ? ` (${l.address})` : ""}` : "–"}</td><td class="num">{l.rtt ?? "–"}</td></tr>)}</tbody>
        </table>
      ) : null}
      {facts.gateways?.length ? (
        <table id="gateways">
          <thead><tr><th>gateway to site</th><th>state</th><th>since</th><th>servers</th><th>link</th></tr></thead>
          <tbody>{facts.gateways.map((g) => <tr data-gateway={g.remote} data-state={g.up ? "up" : g.unknown ? "elsewhere" : "down"}><td>{g.remote}</td><td class={g.up ? "ok" : g.unknown ? "muted" : "bad"}>{g.up ? "connected" : g.unknown ? "not on this node" : "DOWN"}</td><td>{g.since ?? "–"}</td><td>{g.servers.join(", ") || "–"}</td><td>{g.via === "leaf" ? `leaf (own JetStream; ${g.dials ? "this site dials" : `${g.remote} dials`})` : g.configured ? "gateway" : "gateway, learned by gossip"}</td></tr>)}</tbody>
        </table>
      ) : null}
      {facts.fleet?.length ? (
        <table id="fleet">
          <thead><tr><th>edge</th><th>state</th><th>its verdict</th><th>hub node</th><th>since</th><th>version</th><th class="num">cert days</th></tr></thead>
          <tbody>{facts.fleet.map((r) => <tr data-edge={r.name} data-state={r.connected ? "up" : "missing"} data-verdict={r.report ? (r.report.stale ? "stale" : r.report.verdict) : "none"}><td>{r.name}</td><td class={r.connected ? "ok" : "bad"}>{r.connected ? "connected" : "MISSING"}</td><td class={!r.report || r.report.stale ? "" : r.report.verdict === "healthy" ? "ok" : "bad"}>{edgeVerdictText(r)}</td><td>{r.hub ?? "–"}</td><td>{r.since ?? "–"}</td><td>{[r.report?.unibus && `unibus ${r.report.unibus}`, r.version && `nats ${r.version}`].filter(Boolean).join(", ") || "–"}</td><td class="num">{r.certDaysLeft ?? "–"}</td></tr>)}</tbody>
        </table>
      ) : null}
      {c.clustered ? <p>{c.routesUp} of {c.expectedSize - 1} peers reachable{c.metaLeader ? ` · JetStream meta leader ${c.metaLeader}` : ""}</p> : <p class="muted">Single node: no [cluster] configured.</p>}
      <ClusterSvg view={c} />
      {c.routes.length ? (
        <table>
          <thead><tr><th>route</th><th>state</th><th class="num">RTT</th></tr></thead>
          <tbody>
            {c.routes.map((r) => (
              <tr data-route={`${r.from}-${r.to}`}><td>{r.from} – {r.to}</td><td class={r.up ? "ok" : "bad"}>{r.up ? "up" : "down"}</td><td class="num">{r.observed ? (r.rtt ?? "–") : <span class="muted">not measured here</span>}</td></tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  ),
});

/** edgeVerdictText is an edge's own verdict as the fleet table shows it: the verdict and first problem, or how stale its last report is. */
function edgeVerdictText(r: FleetRow): string {
  const v = r.report;
  if (!v) return r.connected ? "not reported" : "–";
  if (v.stale) return `stale (${v.verdict} ${v.ageS} s ago)`;
  return v.problem ? `${v.verdict}: ${v.problem.kind}: ${v.problem.cause}` : v.verdict;
}
