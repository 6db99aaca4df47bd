/**
 * metrics.ts renders /metrics in the Prometheus text exposition format. Where
 * the NATS Prometheus exporter has a metric for the same fact, the name and
 * labels are the exporter's (gnatsd_varz_*, gnatsd_routez_*, gnatsd_connz_*,
 * gnatsd_healthz_status, jetstream_server_*, jetstream_stream_*), so existing
 * Grafana dashboards work; unibus's own facts are unibus_*.
 */
import { natsDurationMs } from "../natsd/durations.ts";
import type { Overview, Versions } from "./model.ts";
import { PROBLEM_KINDS } from "../diagnosis/problem.ts";
import type { Snapshot } from "../natsd/snapshot.ts";
import { addExporterJsz, addExporterVarz } from "./metrics-exporter.ts";
import { addSurveyorStatz, type Survey } from "./metrics-surveyor.ts";

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Exposition collects samples grouped by family and prints them in the text format. */
class Exposition {
  readonly #families = new Map<string, { help: string; type: "gauge" | "counter" | "untyped"; lines: string[] }>();

  /** add appends one sample; the first call for a name fixes its HELP and TYPE. */
  add(name: string, help: string, value: number, labels: Labels = {}, type: "gauge" | "counter" | "untyped" = "gauge"): void {
    if (typeof value !== "number") return;
    let f = this.#families.get(name);
    if (!f) {
      f = { help, type, lines: [] };
      this.#families.set(name, f);
    }
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
    f.lines.push(`${name}${l ? `{${l}}` : ""} ${formatValue(value)}`);
  }

  /** text is the exposition, ending with a newline as the format requires. */
  text(): string {
    let out = "";
    for (const [name, f] of this.#families) {
      out += `# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${f.type}\n${f.lines.join("\n")}\n`;
    }
    return out;
  }
}

function addVarz(e: Exposition, s: Snapshot, id: string): void {
  if (s.varz.ok) addExporterVarz(e, s.varz.data, id);
}

function addRoutez(e: Exposition, s: Snapshot, id: string): void {
  if (!s.routez.ok) return;
  const r = s.routez.data;
  e.add("gnatsd_routez_server_id", "server_id", 1, { server_id: id, value: r.server_id });
  e.add("gnatsd_routez_server_name", "server_name", 1, { server_id: id, value: r.server_name });
  e.add("gnatsd_routez_num_routes", "num_routes", r.num_routes, { server_id: id });
  for (const route of r.routes ?? []) {
    const base = { server_id: id, rid: String(route.rid) };
    e.add("gnatsd_routez_route_info", "route_info", 1, { ...base, remote_id: route.remote_id, remote_name: route.remote_name ?? "", account: route.account ?? "", ip: route.ip, compression: route.compression ?? "" });
    const rtt = natsDurationMs(route.rtt);
    if (rtt !== undefined) e.add("gnatsd_routez_route_rtt_seconds", "rtt_seconds", rtt / 1000, base);
    e.add("gnatsd_routez_route_subscriptions", "subscriptions", route.subscriptions, base);
    const upMs = natsDurationMs(route.uptime);
    if (upMs !== undefined) e.add("gnatsd_routez_route_uptime_seconds", "uptime_seconds", upMs / 1000, base);
    e.add("gnatsd_routez_route_in_msgs", "in_msgs", route.in_msgs, base);
    e.add("gnatsd_routez_route_out_msgs", "out_msgs", route.out_msgs, base);
    e.add("gnatsd_routez_route_in_bytes", "in_bytes", route.in_bytes, base);
    e.add("gnatsd_routez_route_out_bytes", "out_bytes", route.out_bytes, base);
  }
}

function addJsz(e: Exposition, s: Snapshot, id: string): void {
  if (s.jsz.ok) addExporterJsz(e, s.jsz.data, { serverId: id, serverName: s.varz.ok ? s.varz.data.server_name : "" });
}

function addUnibus(e: Exposition, s: Snapshot, o: Overview, versions: Versions): void {
  e.add("unibus_info", "unibus build information", 1, { version: versions.unibus, nats_version: versions.nats, target: versions.target });
  e.add("unibus_uptime_seconds", "Seconds since unibus started", o.node.unibusUptimeSeconds);
  e.add("unibus_ready", "1 when /readyz answers 200", o.readiness.ready ? 1 : 0);
  for (const v of ["healthy", "degraded", "broken"] as const) e.add("unibus_health_verdict", "1 for the node's verdict (healthy, degraded or broken), as unibus status says it", o.health.verdict === v ? 1 : 0, { verdict: v });
  for (const kind of PROBLEM_KINDS) {
    const n = o.health.problems.filter((p) => p.kind === kind).length;
    e.add("unibus_problems", "Problems of this kind now (0 when none): alert on > 0; the page and unibus status name the cause and fix", n, { kind });
  }
  for (const p of o.health.problems) e.add("unibus_problem", "1 for each current problem, labelled with its kind, severity and the node that must change", 1, { kind: p.kind, severity: p.severity, node: p.node });
  for (const l of o.leafs) e.add("unibus_leaf_uplink_up", "1 when this leaf uplink ([[leafnodes.remotes]] url or urls) is connected; hub is the hub node it is connected to", l.up ? 1 : 0, { url: l.url, ...(l.hub ? { hub: l.hub } : {}) });
  for (const g of (o.gateways ?? []).filter((l) => !l.unknown)) {
    e.add("unibus_gateway_up", "1 while the link to this other site ([gateway]) is up; via is gateway (one supercluster) or leaf (an independent site)", g.up ? 1 : 0, { remote: g.remote, via: g.via });
    if (g.since) e.add("unibus_gateway_since_timestamp_seconds", "when the link to this other site last came up or went down (Unix seconds), when this node saw it", Math.floor(Date.parse(g.since) / 1000), { remote: g.remote, via: g.via });
  }
  for (const r of o.fleet ?? []) {
    e.add("unibus_edge_connected", "on a hub: 1 while this edge has a leaf connection on some hub node (hub names it), 0 while an expected edge has none", r.connected ? 1 : 0, { edge: r.name, via: r.via, ...(r.hub ? { hub: r.hub } : {}) });
    if (r.certDaysLeft !== undefined) e.add("unibus_edge_certificate_days_left", "on a hub: days until an enrolled edge's certificate expires", r.certDaysLeft, { edge: r.name });
    if (r.report) {
      // A stale report is the edge's word from before: every state 0, its age says how old.
      for (const v of ["healthy", "degraded", "broken"] as const) e.add("unibus_edge_verdict", "on a hub: 1 for the verdict an edge reports about itself over its uplink (0 for all while its report is stale)", !r.report.stale && r.report.verdict === v ? 1 : 0, { edge: r.name, verdict: v });
      e.add("unibus_edge_report_age_seconds", "on a hub: seconds since an edge's last verdict report arrived (stale after 30)", r.report.ageS, { edge: r.name });
    }
  }
  for (const m of o.clusterHealth?.verdicts ?? []) {
    for (const v of ["healthy", "degraded", "broken"] as const) e.add("unibus_member_verdict", "1 for each member's own verdict, as that member judges itself (asked over the system account)", m.verdict === v ? 1 : 0, { member: m.node, verdict: v });
  }
  if (o.clusterHealth) {
    e.add("unibus_cluster_members_answered", "Members that answered this node's last health round", o.clusterHealth.verdicts.length);
    e.add("unibus_streams_led", "Streams whose leader answered the last health round", o.clusterHealth.streams);
    e.add("unibus_replicas_behind", "Replicas their stream leader reports not current (offline ones excluded)", o.clusterHealth.behind.filter((r) => !r.offline).length);
    for (const st of o.clusterHealth.storage) e.add("unibus_member_storage_ratio", "Each member's JetStream file storage as a share of its limit", st.used / st.max, { member: st.node });
  }
  for (const c of o.readiness.checks) e.add("unibus_readiness_check", "1 when this readiness condition holds", c.ok ? 1 : 0, { check: c.name });
  for (const [endpoint, doc] of [["varz", s.varz], ["connz", s.connz], ["routez", s.routez], ["jsz", s.jsz]] as const) {
    e.add("unibus_nats_monitor_up", "1 when nats-server's monitoring endpoint answered", doc.ok ? 1 : 0, { endpoint });
  }
  if (o.cluster.clustered) {
    e.add("unibus_cluster_expected_size", "Nodes the cluster should have, this one included", o.cluster.expectedSize);
    e.add("unibus_cluster_routes_up", "Peers this node has a route to", o.cluster.routesUp);
    for (const r of o.cluster.routes.filter((x) => x.observed)) e.add("unibus_cluster_route_up", "1 when the route to this peer is up", r.up ? 1 : 0, { peer: r.to });
  }
  e.add("unibus_data_dir_bytes", "Bytes used by files in the data dir", o.node.disk.usedBytes);
  if (o.node.disk.fsFreeBytes !== undefined) e.add("unibus_data_dir_fs_free_bytes", "Bytes free on the data dir's file system", o.node.disk.fsFreeBytes);
  const c = o.certificate;
  if (c.present && c.notAfter) {
    e.add("unibus_certificate_expiry_timestamp_seconds", "When the node certificate expires (Unix time)", Math.floor(Date.parse(c.notAfter) / 1000));
    e.add("unibus_certificate_days_left", "Whole days until the node certificate expires", c.daysLeft ?? 0);
  }
}

/** renderMetrics builds the whole /metrics body from one snapshot and its overview. */
export function renderMetrics(s: Snapshot, o: Overview, versions: Versions, survey?: Survey): string {
  const e = new Exposition();
  const id = s.varz.ok ? s.varz.data.server_id : (o.node.serverId ?? o.node.name);
  addVarz(e, s, id);
  if (s.connz.ok) {
    e.add("gnatsd_connz_num_connections", "num_connections", s.connz.data.num_connections, { server_id: id });
    e.add("gnatsd_connz_total", "total", s.connz.data.total, { server_id: id });
  }
  addRoutez(e, s, id);
  e.add("gnatsd_healthz_status", "status", s.healthz.ok ? 0 : 1, { server_id: id });
  addJsz(e, s, id);
  addUnibus(e, s, o, versions);
  if (survey) addSurveyorStatz(e, survey);
  return e.text();
}
