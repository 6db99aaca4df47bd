/**
 * cluster-view.ts draws the cluster as this node sees it: itself, the peers
 * it has routes to (with their RTT), and the peers it expects but cannot
 * reach. It reads nats /routez and /jsz, plus the configured peer list when
 * the config has a [cluster] table, so it does not depend on how that table
 * is modelled beyond `cluster.peers`, `cluster.listen` and `cluster.name`.
 */
import { natsDurationMs } from "../natsd/durations.ts";
import { unknownPeerId } from "../natsd/raft-peer-id.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { RouteInfo } from "../natsd/monitoring-types.ts";
import type { Quorum } from "../diagnosis/quorum.ts";
import type { Snapshot } from "../natsd/snapshot.ts";

/** ClusterNodeView is one node in the picture. */
export interface ClusterNodeView {
  name: string;
  self: boolean;
  /** Reachable: this node itself, or a peer with a live route. */
  up: boolean;
  /** Where it was seen (route address) or configured (peer address). */
  address?: string;
  metaLeader: boolean;
  /** A configured peer whose server name is not known yet. */
  unnamed?: boolean;
}

/**
 * RouteView is one route of the full mesh. Routes from this node are
 * measured (`observed`, with RTT); a route between two peers cannot be seen
 * from here and is inferred: up when both peers are up.
 */
export interface RouteView {
  from: string;
  to: string;
  up: boolean;
  observed: boolean;
  rtt?: string;
  rttMs?: number;
}

/** ClusterView is the whole picture plus the numbers /readyz decides on (lib/diagnosis/quorum.ts). */
export interface ClusterView {
  clustered: boolean;
  name?: string;
  self: string;
  nodes: ClusterNodeView[];
  routes: RouteView[];
  /** Nodes the cluster should have, this one included (the quorum's size). */
  expectedSize: number;
  /** Configured peers with a live route (the quorum's count). */
  routesUp: number;
  metaLeader?: string;
  error?: string;
}

/**
 * ClusterTracker remembers the peers this node has seen since it started, so
 * a peer that went away is drawn red under its name rather than vanishing.
 */
export class ClusterTracker {
  readonly #seen = new Map<string, { address?: string }>();

  /** observe records the names behind live routes. */
  observe(routes: RouteInfo[]): void {
    for (const r of routes) if (r.remote_name) this.#seen.set(r.remote_name, { address: `${r.ip}:${r.port}` });
  }

  /** seen lists every peer name observed so far. */
  seen(): Map<string, { address?: string }> {
    return this.#seen;
  }
}

/**
 * buildClusterView combines routez, jsz, the configured peers and what was
 * seen before into the picture; its counts are the quorum's, the same that
 * /readyz and `unibus status` decide on.
 */
export function buildClusterView(snapshot: Snapshot, config: UnibusConfig, quorum: Quorum, tracker = new ClusterTracker(), probedNames: ReadonlyMap<string, string> = new Map()): ClusterView {
  const cluster = config.cluster;
  const self = snapshot.varz.ok ? snapshot.varz.data.server_name : config.node.name;
  const meta = snapshot.jsz.ok ? snapshot.jsz.data.meta_cluster : undefined;
  const metaLeader = meta?.leader || undefined;
  const routes = snapshot.routez.ok ? (snapshot.routez.data.routes ?? []) : [];
  tracker.observe(routes);

  // One entry per peer: route pooling can open several routes to one node; keep the fastest.
  const live = new Map<string, RouteInfo>();
  for (const r of routes) {
    const name = r.remote_name || r.remote_id;
    const prev = live.get(name);
    if (!prev || (natsDurationMs(r.rtt) ?? Infinity) < (natsDurationMs(prev.rtt) ?? Infinity)) live.set(name, r);
  }
  const nodes: ClusterNodeView[] = [{ name: self, self: true, up: true, metaLeader: metaLeader === self, ...(cluster ? { address: (cluster.self ?? cluster.listen).text } : {}) }];
  const out: RouteView[] = [];
  for (const [name, r] of [...live].sort(([a], [b]) => a.localeCompare(b))) {
    nodes.push({ name, self: false, up: true, address: `${r.ip}:${r.port}`, metaLeader: metaLeader === name });
    const rttMs = natsDurationMs(r.rtt);
    out.push({ from: self, to: name, up: true, observed: true, ...(r.rtt ? { rtt: r.rtt } : {}), ...(rttMs !== undefined ? { rttMs } : {}) });
  }
  // Peers known by name but without a route now: seen earlier, or listed by the JetStream meta group.
  const down = new Map<string, string | undefined>();
  for (const [name, info] of tracker.seen()) if (!live.has(name) && name !== self) down.set(name, info.address);
  // A server nats knows only by peer id ("Server name unknown at this time") is no node to draw: it
  // would take the place of a configured peer that never routed (a refused one) in the count below.
  for (const p of meta?.replicas ?? []) if (!unknownPeerId(p.name) && !live.has(p.name) && p.name !== self && !down.has(p.name)) down.set(p.name, undefined);
  // A peer down by name whose configured address said that name (its route port, probed) is that address.
  for (const [name, address] of down) {
    if (address) continue;
    const probed = (cluster?.routes ?? []).find((p) => probedNames.get(p.text) === name);
    if (probed) down.set(name, probed.text);
  }
  for (const [name, address] of [...down].sort(([a], [b]) => a.localeCompare(b))) {
    nodes.push({ name, self: false, up: false, metaLeader: metaLeader === name, ...(address ? { address } : {}) });
    out.push({ from: self, to: name, up: false, observed: true });
  }
  // Configured peers still unaccounted for: drawn red under their address.
  // config resolved which peer is this node (advertise, or matching this host): the rest are routes.
  const configured = (cluster?.routes ?? []).map((p) => p.text);
  const matched = new Set<string>();
  for (const r of routes) matched.add(`${r.ip}:${r.port}`);
  for (const n of nodes) if (n.address) matched.add(n.address);
  const missing = configured.length - (nodes.length - 1);
  const unmatched = configured.filter((p) => !matched.has(p));
  for (let i = 0; i < missing && i < unmatched.length; i++) {
    const address = unmatched[i]!;
    // A missing peer's own route port may have said its name (lib/diagnosis/peer-probe.ts).
    const name = probedNames.get(address);
    nodes.push({ name: name ?? address, self: false, up: false, metaLeader: false, address, ...(name ? {} : { unnamed: true }) });
    out.push({ from: self, to: name ?? address, up: false, observed: true });
  }
  // nats meshes fully: draw the routes between peers too, inferred from both ends being up.
  const offline = new Set((meta?.replicas ?? []).filter((p) => p.offline).map((p) => p.name));
  const peers = nodes.filter((n) => !n.self);
  for (let i = 0; i < peers.length; i++) {
    for (let j = i + 1; j < peers.length; j++) {
      const a = peers[i]!;
      const b = peers[j]!;
      out.push({ from: a.name, to: b.name, up: a.up && b.up && !offline.has(a.name) && !offline.has(b.name), observed: false });
    }
  }
  const clustered = Boolean(cluster) || routes.length > 0 || quorum.clustered;
  return {
    clustered,
    ...(cluster ? { name: cluster.name } : snapshot.varz.ok && snapshot.varz.data.cluster?.name ? { name: snapshot.varz.data.cluster.name } : {}),
    self,
    nodes,
    routes: out,
    expectedSize: quorum.size,
    routesUp: quorum.reached,
    ...(metaLeader ? { metaLeader } : {}),
    ...(!snapshot.routez.ok ? { error: snapshot.routez.error } : {}),
  };
}
