/**
 * fleet-view.ts is a hub's picture of its edges: the edges it expects (those
 * enrolled with `unibus join --edge` and the [[leafnodes.users]] of its
 * config) against the leaf connections every hub node reports over the
 * system account (`$SYS.REQ.SERVER.PING.CONNZ`: one answer per server, each
 * naming the server, so an edge is found on whichever hub node it is on).
 * Edges signing in with a shared secret are listed as they come; only named
 * ones can be missed.
 */
import type { ConnInfo } from "../natsd/monitoring-types.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { EdgeRecord } from "../membership/edges.ts";
import type { FleetStreamState } from "./store-and-forward.ts";
import { EDGE_REPORT_STALE_MS, type EdgeReport, type ReceivedReport } from "./edge-report.ts";

/** ExpectedEdge is an edge the hub should see: by enrollment (its nkey) or by a [[leafnodes.users]] entry (its user). */
export interface ExpectedEdge { name: string; via: "enrolled" | "user"; signIn: string; certNotAfter?: string }

/** EdgeConnection is one edge's leaf connection on some hub node. */
export interface EdgeConnection { name: string; hub: string; since?: string; version?: string; signIn?: string; rtt?: string }

/**
 * FleetRow is one edge as the hub sees it: expected or not, connected or
 * missing, and where. via "secret" marks an edge that signed in with the
 * shared leaf secret (nothing names it in advance).
 */
export interface FleetRow {
  name: string;
  via: "enrolled" | "user" | "secret";
  connected: boolean;
  hub?: string;
  since?: string;
  version?: string;
  rtt?: string;
  certDaysLeft?: number;
  /** The edge's own verdict, as it last reported it over its uplink (lib/fleet/edge-report.ts); absent when none was heard. */
  report?: EdgeVerdictView;
}

/**
 * EdgeVerdictView is an edge's last report as a hub shows it: its verdict
 * and first problem, its unibus version, and how old the report is; a stale
 * report (older than EDGE_REPORT_STALE_MS) is the edge's word from before,
 * not its state now.
 */
export interface EdgeVerdictView {
  verdict: EdgeReport["verdict"];
  problem?: EdgeReport["problem"];
  problems: number;
  unibus?: string;
  /** When the hub node received it (ISO time) and its age then, in seconds. */
  receivedAt: string;
  ageS: number;
  stale: boolean;
}

/** verdictView turns a received report into what a row shows at `now` (ms). */
export function verdictView(r: ReceivedReport, now: number): EdgeVerdictView {
  const ageS = Math.max(0, Math.round((now - r.receivedAt) / 1000));
  return {
    verdict: r.report.verdict, problems: r.report.problems, receivedAt: new Date(r.receivedAt).toISOString(), ageS, stale: now - r.receivedAt > EDGE_REPORT_STALE_MS,
    ...(r.report.problem ? { problem: r.report.problem } : {}), ...(r.report.unibus ? { unibus: r.report.unibus } : {}),
  };
}

/** FleetView is the whole fleet at one moment, as a hub node wrote it; stream is UNIBUS_FLEET's state (store and forward) where this node keeps it. */
export interface FleetView { at: string; hubNodes: string[]; rows: FleetRow[]; error?: string; stream?: FleetStreamState }

/** expectedEdges lists the edges a hub expects: the active enrolled edges and the configured edge users. */
export function expectedEdges(config: UnibusConfig, enrolled: EdgeRecord[]): ExpectedEdge[] {
  const leaf = config.leafnodes;
  if (!leaf?.listen) return [];
  const out: ExpectedEdge[] = leaf.users.map((u) => ({ name: u.user, via: "user" as const, signIn: u.user }));
  if (leaf.enroll) for (const e of enrolled.filter((r) => !r.removed)) out.push({ name: e.name, via: "enrolled", signIn: e.nkey, ...(e.certNotAfter ? { certNotAfter: e.certNotAfter } : {}) });
  return out;
}

/** ConnzAnswer is one server's answer to `$SYS.REQ.SERVER.PING.CONNZ`. */
export interface ConnzAnswer { server?: { name?: string }; data?: { connections?: ConnInfo[] | null } }

/** edgeConnections picks the accepted leaf connections out of every server's connz answer. */
export function edgeConnections(answers: ConnzAnswer[]): EdgeConnection[] {
  const out: EdgeConnection[] = [];
  for (const a of answers) {
    const hub = a.server?.name ?? "?";
    for (const c of a.data?.connections ?? []) {
      if (!(c.kind ?? "").toLowerCase().startsWith("leaf")) continue;
      // Not signed in (yet): an edge's look at its home's leaf port (lib/fleet/leaf-probe.ts), or one still handshaking.
      if (!c.name && !c.authorized_user) continue;
      out.push({
        name: c.name ?? `${c.ip}:${c.port}`, hub,
        ...((c as { start?: string }).start ? { since: (c as { start?: string }).start } : {}),
        ...(c.version ? { version: c.version } : {}),
        ...(c.authorized_user ? { signIn: c.authorized_user } : {}),
        ...((c as { rtt?: string }).rtt ? { rtt: (c as { rtt?: string }).rtt } : {}),
      });
    }
  }
  return out;
}

const DAY_MS = 86_400_000;

/**
 * fleetRows matches expected edges with connections (by sign-in, else by
 * name): every expected edge once, connected or not, then the connections no
 * expected edge claims (shared-secret edges).
 */
export function fleetRows(expected: ExpectedEdge[], connections: EdgeConnection[], now = Date.now(), reports: ReadonlyMap<string, ReceivedReport> = new Map()): FleetRow[] {
  // An edge reports under its node name: the connection's name, else the expected edge's.
  const reportOf = (...names: (string | undefined)[]) => {
    for (const n of names) {
      const r = n ? reports.get(n) : undefined;
      if (r) return { report: verdictView(r, now) };
    }
    return {};
  };
  const taken = new Set<EdgeConnection>();
  const rows: FleetRow[] = expected.map((e) => {
    const c = connections.find((x) => !taken.has(x) && x.signIn === e.signIn) ?? connections.find((x) => !taken.has(x) && !x.signIn && x.name === e.name);
    if (c) taken.add(c);
    const certDaysLeft = e.certNotAfter ? Math.floor((Date.parse(e.certNotAfter) - now) / DAY_MS) : undefined;
    return {
      name: e.via === "enrolled" ? e.name : (c?.name && c.name !== e.name ? `${e.name} (${c.name})` : e.name),
      via: e.via, connected: Boolean(c),
      ...(c ? { hub: c.hub } : {}), ...(c?.since ? { since: c.since } : {}), ...(c?.version ? { version: c.version } : {}), ...(c?.rtt ? { rtt: c.rtt } : {}),
      ...(certDaysLeft !== undefined ? { certDaysLeft } : {}),
      ...reportOf(c?.name, e.name),
    };
  });
  for (const c of connections.filter((x) => !taken.has(x))) {
    rows.push({ name: c.name, via: "secret", connected: true, hub: c.hub, ...(c.since ? { since: c.since } : {}), ...(c.version ? { version: c.version } : {}), ...(c.rtt ? { rtt: c.rtt } : {}), ...reportOf(c.name) });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}
