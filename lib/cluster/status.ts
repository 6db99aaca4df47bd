/**
 * status.ts gathers one node's view of its cluster from nats-server's
 * loopback monitoring (/healthz, /routez, /jsz, /leafz): which routes are up,
 * who leads the JetStream meta group, which configured peers are missing and
 * why (lib/diagnosis). `unibus status` prints it; the admin page shows the
 * same diagnosis. It only reads, and never throws for a node that is down.
 */
import { natsDurationMs } from "../natsd/durations.ts";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { UnibusConfig } from "../config/load.ts";
import type { HostPort } from "../config/units.ts";
import { memberViews, withMembers, type MemberView } from "../membership/status-view.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import { takeSnapshot, type Snapshot } from "../admin/snapshot.ts";
import { assess, probeMissing } from "../diagnosis/assess.ts";
import type { CertFacts } from "../diagnosis/facts.ts";
import type { NatsEvent } from "../diagnosis/nats-events.ts";
import type { Problem, Verdict } from "../diagnosis/problem.ts";
import { joinHostPort } from "../config/units.ts";

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

interface RoutezRoute { remote_name?: string; ip: string; port: number; did_solicit?: boolean; rtt?: string }

/** LeafStatus is one [[leafnodes.remotes]] uplink and whether it is connected. */
export interface LeafStatus { url: string; up: boolean }

/** ClusterStatus is a typed snapshot of the node's health: its cluster, uplinks, certificate and the diagnosis. */
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
  /** Meta-group members that are offline (or, seen from the leader, behind). A follower cannot tell whether other followers are current. */
  metaOffline: string[];
  /** This node's JetStream usage, when JetStream is enabled. */
  jetstream?: { streams: number; consumers: number; messages: number; bytes: number };
  /** Leaf uplinks ([[leafnodes.remotes]]) and whether each is connected. */
  leafs: LeafStatus[];
  /** The node certificate and the CA it trusts (its SHA-256 fingerprint must be the same on every node). */
  certificate?: CertFacts;
  /** The cluster's members as this node knows them (lib/membership). */
  members?: MemberView[];
  /** healthy, degraded or broken. */
  verdict: Verdict;
  /** Every problem with its node, cause and fix. */
  problems: Problem[];
  /** True when the verdict is healthy. */
  healthy: boolean;
  checkedAt: string;
}

/** GatherOptions let callers pass the nats error book and choose whether to probe missing peers. */
export interface GatherOptions { monitor?: MonitorClient; events?: NatsEvent[]; probe?: boolean }

/** gatherClusterStatus asks the node's nats-server and matches what it says against the config. */
export async function gatherClusterStatus(given: UnibusConfig, options: GatherOptions = {}): Promise<ClusterStatus> {
  // The members list (lib/membership) adds the members that joined later and drops removed ones.
  const config = withMembers(given);
  const monitor = options.monitor ?? new MonitorClient(config.monitor.listen.text);
  const snapshot = await settle(monitor, await takeSnapshot(monitor));
  const { diagnosis, facts } = await assess(config, snapshot, { events: options.events ?? [], ...(options.probe === false ? {} : { probe: probeMissing }) });
  const routez = snapshot.routez.ok ? (snapshot.routez.data.routes ?? []) : [];
  const paired = await pairRoutes(routez, config.cluster?.routes ?? []);
  const jsz = snapshot.jsz.ok && !snapshot.jsz.data.disabled ? snapshot.jsz.data : undefined;
  const meta = facts.meta;
  const missingPeers = facts.missingPeers;
  const lost = (meta?.peers ?? []).filter((p) => p.offline && !paired.routes.some((r) => r.peerName === p.name)).map((p) => p.name);
  const routes = facts.reachable ? paired.routes : [];
  for (const address of missingPeers) {
    const probe = facts.probes.find((p) => p.address === address);
    const name = probe?.serverName ?? (missingPeers.length === 1 && lost.length === 1 ? lost[0] : undefined);
    routes.push({ ...(name ? { peerName: name } : {}), address, peer: address, connected: false });
  }
  const remotes = config.leafnodes?.remotes ?? [];
  const uplinks = facts.leafs.filter((l) => l.solicited).length;
  return {
    node: facts.node,
    ...(config.cluster ? { cluster: config.cluster.name } : {}),
    reachable: facts.reachable,
    health: snapshot.healthz,
    routes,
    expectedPeers: (config.cluster?.routes ?? []).map((p) => p.text),
    missingPeers,
    ...(meta?.leader ? { metaLeader: meta.leader } : {}),
    ...(meta?.clusterSize !== undefined ? { metaClusterSize: meta.clusterSize } : {}),
    metaOffline: (meta?.peers ?? []).filter((p) => p.offline || p.current === false).map((p) => p.name),
    ...(jsz ? { jetstream: { streams: jsz.streams ?? 0, consumers: jsz.consumers ?? 0, messages: jsz.messages ?? 0, bytes: jsz.bytes ?? 0 } } : {}),
    leafs: remotes.map((r, i) => ({ url: r.url.text, up: i < uplinks })),
    ...(facts.certificate ? { certificate: facts.certificate } : {}),
    ...(config.cluster && config.tls ? { members: memberViews(config, jsz?.meta_cluster) } : {}),
    verdict: diagnosis.verdict,
    problems: diagnosis.problems,
    healthy: diagnosis.verdict === "healthy",
    checkedAt: diagnosis.checkedAt,
  };
}

/** SETTLE_MS is how long status re-asks a failing /healthz: a lag of a moment (streams created and deleted) is not a problem. */
const SETTLE_MS = 3_000;

/**
 * settle re-asks /healthz (full and meta-only) for up to SETTLE_MS when they
 * fail on a node that answers, and keeps the answer once it is ok: one
 * status call has no history to smooth over, so it looks twice instead.
 */
async function settle(monitor: MonitorClient, s: Snapshot): Promise<Snapshot> {
  if (!s.varz.ok || (s.healthz.ok && s.metaHealthz.ok)) return s;
  let { healthz, metaHealthz } = s;
  for (const until = Date.now() + SETTLE_MS; Date.now() < until && !(healthz.ok && metaHealthz.ok);) {
    await new Promise((r) => setTimeout(r, 300));
    const [full, meta] = await Promise.all([healthz.ok ? healthz : monitor.healthy(), metaHealthz.ok ? metaHealthz : monitor.healthy("js-meta-only=true")]);
    healthz = full.ok ? full : healthz;
    metaHealthz = meta.ok ? meta : metaHealthz;
  }
  return { ...s, healthz, metaHealthz };
}

/** RoutePairing is routes matched with configured peers, and the peers left without a route. */
export interface RoutePairing { routes: RouteStatus[]; missing: string[] }

/**
 * pairRoutes pairs routes with configured peers: a route this node dialed
 * carries the peer's address exactly; a route the peer dialed carries its IP
 * only (the port is ephemeral), so it is matched by IP. Several peers on one
 * IP (a test on loopback) are told apart by count, not identity.
 */
export async function pairRoutes(routes: RoutezRoute[], peers: HostPort[]): Promise<RoutePairing> {
  const status = { routes: [] as RouteStatus[], missingPeers: [] as string[] };
  await matchRoutes(status, routes, peers);
  return { routes: status.routes, missing: status.missingPeers };
}

/**
 * matchRoutes pairs routes with configured peers: a route this node dialed
 * carries the peer's address exactly; a route the peer dialed carries its IP
 * only (the port is ephemeral), so it is matched by IP. Several peers on one
 * IP (a test on loopback) are told apart by count, not identity.
 */
async function matchRoutes(status: { routes: RouteStatus[]; missingPeers: string[] }, routes: RoutezRoute[], peers: HostPort[]): Promise<void> {
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
      address: joinHostPort(route.ip, route.port),
      ...(i !== undefined ? { peer: peers[i]!.text } : {}),
      ...(route.rtt ? { rtt: route.rtt, rttMs: natsDurationMs(route.rtt) } : {}),
      connected: true,
      solicited: Boolean(route.did_solicit),
    });
  }
  status.missingPeers = [...unmatched].map((i) => peers[i]!.text);
}

async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [host.toLowerCase()];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address.toLowerCase());
  } catch {
    return [];
  }
}
