/**
 * status.ts gathers one node's view of its cluster from nats-server's
 * loopback monitoring (/healthz, /routez, /jsz): which routes are up, who
 * leads the JetStream meta group, and which configured peers are missing.
 * `unibus status` prints it (the admin page draws its picture from the same
 * endpoints in lib/admin/cluster-view.ts). It only reads, and never throws
 * for a node that is down.
 */
import { natsDurationMs } from "../natsd/durations.ts";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { UnibusConfig } from "../config/load.ts";
import type { HostPort } from "../config/units.ts";
import { MonitorClient } from "../natsd/monitor.ts";

/** RouteStatus is one route of this node, or a configured peer with no route (connected: false). */
export interface RouteStatus {
  /** The remote server_name as the route reported it; for a missing peer the name JetStream last knew, if it can tell. */
  peerName?: string;
  /** The address seen on the route (ip:port), or the configured peer address when not connected. */
  address: string;
  /** The configured peer (cluster.peers entry) this route belongs to; undefined for a route to a stranger. */
  peer?: string;
  /** Round-trip time as nats reports it ("412µs") and in milliseconds. */
  rtt?: string;
  rttMs?: number;
  connected: boolean;
  /** True when this node dialed the route, false when the peer dialed in. */
  solicited?: boolean;
}

/** ClusterStatus is a typed snapshot of the node's cluster health. */
export interface ClusterStatus {
  node: string;
  /** Cluster name; undefined for a node without [cluster]. */
  cluster?: string;
  /** Whether nats-server's monitoring port answered at all. */
  reachable: boolean;
  /** nats-server's /healthz verdict (200 only when JetStream is current too). */
  health: { ok: boolean; detail: string };
  routes: RouteStatus[];
  /** Peer addresses this node should have a route to (cluster.peers without itself). */
  expectedPeers: string[];
  /** Configured peers without a route. */
  missingPeers: string[];
  /** JetStream meta-group leader (server_name), when there is one. */
  metaLeader?: string;
  /** Servers the meta group knows about, this one included. */
  metaClusterSize?: number;
  /** Meta-group members that are offline or lagging. */
  metaOffline: string[];
  /** This node's JetStream usage, when JetStream is enabled. */
  jetstream?: { streams: number; consumers: number; messages: number; bytes: number };
  /** Problems worth a human's attention, one sentence each. */
  problems: string[];
  /** True when every expected route is up, the meta group knows every server and has a leader (JetStream on), and /healthz is ok. */
  healthy: boolean;
  checkedAt: string;
}

interface RoutezRoute { remote_name?: string; ip: string; port: number; did_solicit?: boolean; rtt?: string }
interface Routez { server_name?: string; routes?: RoutezRoute[] }
interface MetaReplica { name: string; current?: boolean; offline?: boolean }
interface Jsz {
  disabled?: boolean;
  streams?: number; consumers?: number; messages?: number; bytes?: number;
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: MetaReplica[] };
}

/** gatherClusterStatus asks the node's nats-server and matches what it says against the config. */
export async function gatherClusterStatus(config: UnibusConfig, monitor = new MonitorClient(config.monitor.listen.text)): Promise<ClusterStatus> {
  const status: ClusterStatus = {
    node: config.node.name,
    ...(config.cluster ? { cluster: config.cluster.name } : {}),
    reachable: false,
    health: { ok: false, detail: "" },
    routes: [],
    expectedPeers: (config.cluster?.routes ?? []).map((p) => p.text),
    missingPeers: [],
    metaOffline: [],
    problems: [],
    healthy: false,
    checkedAt: new Date().toISOString(),
  };
  status.health = await monitor.healthy();
  const [routez, jsz] = await Promise.all([
    monitor.get<Routez>("routez").catch(() => undefined),
    config.jetstream.enabled ? monitor.get<Jsz>("jsz").catch(() => undefined) : Promise.resolve(undefined),
  ]);
  status.reachable = routez !== undefined;
  if (!status.reachable) {
    status.missingPeers = [...status.expectedPeers];
    status.routes = status.expectedPeers.map((address) => ({ address, peer: address, connected: false }));
    status.problems.push(`nats-server monitoring at http://${config.monitor.listen.text} does not answer: is unibus running? (${status.health.detail})`);
    return status;
  }
  if (jsz && !jsz.disabled) {
    status.jetstream = { streams: jsz.streams ?? 0, consumers: jsz.consumers ?? 0, messages: jsz.messages ?? 0, bytes: jsz.bytes ?? 0 };
    const meta = jsz.meta_cluster;
    if (meta?.leader) status.metaLeader = meta.leader;
    if (meta?.cluster_size !== undefined) status.metaClusterSize = meta.cluster_size;
    status.metaOffline = (meta?.replicas ?? []).filter((r) => r.offline || r.current === false).map((r) => r.name);
  }
  await matchRoutes(status, routez?.routes ?? [], config.cluster?.routes ?? []);
  for (const r of status.routes) {
    if (r.connected && r.peerName === config.node.name) status.problems.push(`a peer at ${r.address} uses this node's name "${config.node.name}": every node needs its own [node] name`);
    if (r.connected && !r.peer) status.problems.push(`route to ${r.peerName ?? "?"} at ${r.address} is not one of cluster.peers`);
  }
  if (status.missingPeers.length) status.problems.push(`no route to ${status.missingPeers.join(", ")}`);
  if (config.jetstream.enabled && config.cluster && !status.metaLeader) status.problems.push("JetStream has no meta leader (fewer than a majority of nodes can see each other)");
  const servers = (config.cluster?.routes.length ?? 0) + 1;
  const metaShort = Boolean(config.cluster && status.jetstream && status.metaClusterSize !== undefined && status.metaClusterSize < servers);
  if (metaShort) status.problems.push(`the JetStream meta group knows ${status.metaClusterSize} of ${servers} servers (still forming)`);
  if (!status.health.ok) status.problems.push(`nats-server /healthz: ${status.health.detail || "not ok"}`);
  status.healthy = status.health.ok && status.missingPeers.length === 0 && !metaShort && (!config.cluster || !config.jetstream.enabled || Boolean(status.metaLeader));
  return status;
}

/**
 * matchRoutes pairs routes with configured peers: a route this node dialed
 * carries the peer's address exactly; a route the peer dialed carries its IP
 * only (the port is ephemeral), so it is matched by IP. Several peers on one
 * IP (a test on loopback) are told apart by count, not identity.
 */
async function matchRoutes(status: ClusterStatus, routes: RoutezRoute[], peers: HostPort[]): Promise<void> {
  const ips = await Promise.all(peers.map((p) => addressesOf(p.host)));
  const unmatched = new Set(peers.map((_, i) => i));
  const take = (route: RoutezRoute, exactPort: boolean): number | undefined => {
    for (const i of unmatched) {
      if (ips[i]!.includes(route.ip) && (!exactPort || peers[i]!.port === route.port)) {
        unmatched.delete(i);
        return i;
      }
    }
    return undefined;
  };
  const ordered = [...routes].sort((a, b) => Number(Boolean(b.did_solicit)) - Number(Boolean(a.did_solicit)));
  for (const route of ordered) {
    const i = take(route, Boolean(route.did_solicit)) ?? take(route, false);
    status.routes.push({
      ...(route.remote_name ? { peerName: route.remote_name } : {}),
      address: isIP(route.ip) === 6 ? `[${route.ip}]:${route.port}` : `${route.ip}:${route.port}`,
      ...(i !== undefined ? { peer: peers[i]!.text } : {}),
      ...(route.rtt ? { rtt: route.rtt, rttMs: natsDurationMs(route.rtt) } : {}),
      connected: true,
      solicited: Boolean(route.did_solicit),
    });
  }
  const missing = [...unmatched].map((i) => peers[i]!.text);
  status.missingPeers = missing;
  // JetStream names the servers it lost; with one missing peer the pairing is certain.
  const lost = status.metaOffline.filter((name) => !status.routes.some((r) => r.peerName === name));
  for (const address of missing) {
    status.routes.push({ ...(missing.length === 1 && lost.length === 1 ? { peerName: lost[0] } : {}), address, peer: address, connected: false });
  }
}

async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [host.toLowerCase()];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address.toLowerCase());
  } catch {
    return [];
  }
}
