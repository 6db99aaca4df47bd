/**
 * status.ts gathers one node's view of its cluster from nats-server's
 * loopback monitoring (/healthz, /routez, /jsz, /leafz): which routes are up,
 * who leads the JetStream meta group, which configured peers are missing and
 * why (lib/diagnosis). `unibus status` prints it; the admin page shows the
 * same diagnosis. It only reads, and never throws for a node that is down.
 */
import type { FleetRow } from "../fleet/fleet-view.ts";
import type { FleetStreamState } from "../fleet/store-and-forward.ts";
import { readForwardState, type ForwardState } from "../fleet/forward-watch.ts";
import { readUplinkState, type EdgeUplinkState } from "../membership/edge-agent.ts";
import { enrolledUplink } from "../config/section-leafnodes.ts";
import type { UnibusConfig } from "../config/load.ts";
import { memberViews, type MemberView } from "../membership/status-view.ts";
import { caView, type CaView } from "../membership/rotation-view.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import { takeSnapshot, type Snapshot } from "../natsd/snapshot.ts";
import { assess, probeMissing, type Assessment } from "../diagnosis/assess.ts";
import { STREAM_CATCHUP_GRACE_MS } from "../diagnosis/rules/streams-catching-up.ts";
import { leafUplinks } from "../diagnosis/leaf-uplinks.ts";
import { gatewayLinks, type GatewayLink } from "../diagnosis/gateway-links.ts";
import { pairRoutes, type RouteStatus } from "../diagnosis/route-pairing.ts";
import type { CertFacts, HealthFacts } from "../diagnosis/facts.ts";
import { askCluster, membersToAsk, type ClusterFacts, type ReplicaFact, type StorageFact } from "../diagnosis/cluster-facts.ts";
import { diagnose } from "../diagnosis/diagnose.ts";
import { SystemClient } from "../natsd/system-client.ts";
import type { NatsEvent } from "../diagnosis/nats-events.ts";
import type { Problem, Verdict } from "../diagnosis/problem.ts";

/** LeafStatus is one [[leafnodes.remotes]] uplink (url: its configured hub addresses), whether it is connected, and to which hub node (server name and address). */
export interface LeafStatus { url: string; up: boolean; hub?: string; address?: string; /** The hub node (address) this edge dials first, with several; atHome: the uplink is on it. */ home?: string; atHome?: boolean }

/** ClusterStatus is a typed snapshot of the node's health: its cluster, uplinks, certificate and the diagnosis. */
export interface ClusterStatus {
  node: string;
  /** Cluster name; undefined for a node without [cluster]. */
  cluster?: string;
  /** Whether nats-server's monitoring port answered at all. */
  reachable: boolean;
  /** nats-server's /healthz verdict (200 only when JetStream is current too). */
  /** nats-server's /healthz; catchingUpMs: how long JetStream has lagged while still inside the grace a rejoin or a new stream gets (no problem yet). */
  health: { ok: boolean; detail: string; catchingUpMs?: number };
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
  /** With [gateway]: every other site, whether its link is up and since when; `site` is this node's own when it keeps its own JetStream. */
  gateways?: GatewayLink[];
  site?: string;
  /** On a hub: every expected and connected edge, where and since when (lib/fleet/fleet-view.ts). */
  fleet?: FleetRow[];
  /** On a hub's JetStream meta leader: UNIBUS_FLEET and each forwarding edge's backlog. */
  fleetStream?: FleetStreamState;
  /** On an enrolled edge: its last check-in with the hub's CA holders (lib/membership/edge-agent.ts). */
  uplinkCheckin?: EdgeUplinkState;
  /** On an edge with store_and_forward: its UNIBUS_FORWARD stream. */
  forward?: ForwardState;
  /** The node certificate and the CA it trusts (its SHA-256 fingerprint must be the same on every node). */
  certificate?: CertFacts;
  /** The cluster's members as this node knows them (lib/membership). */
  members?: MemberView[];
  /** The CAs this node trusts and, on the CA holder, a CA rotation's progress. */
  ca?: CaView;
  /** What the whole cluster said: every member's own verdict, the replicas their stream leaders report behind, storage per member. */
  clusterHealth?: ClusterHealthView;
  /** healthy, degraded or broken. */
  verdict: Verdict;
  /** Every problem with its node, cause and fix. */
  problems: Problem[];
  /** True when the verdict is healthy. */
  healthy: boolean;
  checkedAt: string;
}

/** ClusterHealthView is the cluster-wide part of status: who answered with which verdict, and what the stream leaders report. */
export interface ClusterHealthView {
  expected: number;
  verdicts: { node: string; verdict: Verdict }[];
  streams: number;
  behind: ReplicaFact[];
  storage: StorageFact[];
  error?: string;
}

/** GatherOptions let callers pass the nats error book and choose whether to probe missing peers and ask the other members. */
export interface GatherOptions { monitor?: MonitorClient; events?: NatsEvent[]; probe?: boolean; cluster?: boolean }

/** gatherClusterStatus asks the node's nats-server and matches what it says against the config: for a CLI without the running node's engine. */
export async function gatherClusterStatus(given: UnibusConfig, options: GatherOptions = {}): Promise<ClusterStatus> {
  const monitor = options.monitor ?? new MonitorClient(given.monitor.listen.text);
  const snapshot = await settle(monitor, await takeSnapshot(monitor));
  const local = await assess(given, snapshot, { events: options.events ?? [], ...(options.probe === false ? {} : { probe: probeMissing }) });
  const cluster = options.cluster === false || !given.cluster || !local.facts.reachable ? undefined : await askClusterOnce(local.facts);
  if (!cluster) return statusOf(snapshot, local);
  const facts = { ...local.facts, cluster };
  return statusOf(snapshot, { facts, diagnosis: diagnose(facts) });
}

/** askClusterOnce asks every member over the node's system account, as the running node does; a CLI that cannot sign in (not root) gets a round that says why. */
async function askClusterOnce(facts: HealthFacts): Promise<ClusterFacts> {
  const ask = membersToAsk(facts);
  let client: SystemClient;
  try {
    client = await SystemClient.connect(facts.config, { name: "unibus-status", timeoutMs: 3_000 });
  } catch (err) {
    return { at: Date.now(), expected: ask.expected, verdicts: [], behind: [], streams: 0, storage: [], answered: [], error: (err as Error).message };
  }
  try {
    return await askCluster((subject, payload, o) => client.requestAll(subject, payload, o), ask.expected, ask.names);
  } finally {
    await client.close().catch(() => {});
  }
}

/** statusOf is the status of one snapshot and its assessment: what `unibus status` prints, from the node's engine or gathered by the CLI. */
export async function statusOf(snapshot: Snapshot, { diagnosis, facts }: Assessment): Promise<ClusterStatus> {
  // The members list (lib/membership) adds the members that joined later and drops removed ones: the facts' config has them.
  const config = facts.config;
  const routez = snapshot.routez.ok ? (snapshot.routez.data.routes ?? []) : [];
  const paired = await pairRoutes(routez, config.cluster?.routes ?? []);
  const jsz = snapshot.jsz.ok && !snapshot.jsz.data.disabled ? snapshot.jsz.data : undefined;
  const meta = facts.meta;
  const missingPeers = facts.missingPeers;
  const lost = (meta?.peers ?? []).filter((p) => p.offline && !paired.routes.some((r) => r.peerName === p.name)).map((p) => p.name);
  const routes = facts.reachable ? paired.routes : [];
  for (const address of missingPeers) {
    const probe = facts.probes.find((p) => p.address === address);
    // The members list names a member by its route address when neither the probe nor gossip can (a powered-off box).
    const name = probe?.serverName ?? (missingPeers.length === 1 && lost.length === 1 ? lost[0] : undefined) ?? facts.members.find((m) => m.route === address && !m.removed)?.name;
    routes.push({ ...(name ? { peerName: name } : {}), address, peer: address, connected: false });
  }
  const ca = await caView(config);
  const forward = config.leafnodes?.storeAndForward.length ? readForwardState(config.node.dataDir) : undefined;
  const uplinkCheckin = enrolledUplink(config) ? readUplinkState(config.node.dataDir) : undefined;
  return {
    node: facts.node,
    // The running name (varz), not the file's: they differ until a restart applies a new one.
    ...(config.cluster ? { cluster: (snapshot.varz.ok ? snapshot.varz.data.cluster?.name : undefined) ?? config.cluster.name } : {}),
    reachable: facts.reachable,
    health: { ...snapshot.healthz, ...(!snapshot.healthz.ok && facts.streamsBehindMs !== undefined && facts.streamsBehindMs < STREAM_CATCHUP_GRACE_MS ? { catchingUpMs: facts.streamsBehindMs } : {}) },
    routes,
    expectedPeers: (config.cluster?.routes ?? []).map((p) => p.text),
    missingPeers,
    ...(meta?.leader ? { metaLeader: meta.leader } : {}),
    ...(meta?.clusterSize !== undefined ? { metaClusterSize: meta.clusterSize } : {}),
    metaOffline: [...new Set([...(meta?.peers ?? []).filter((p) => p.offline || p.current === false).map((p) => p.name), ...metaBehindByLeader(facts.cluster).filter((r) => r.offline || !r.current).map((r) => r.replica)])].sort(),
    ...(jsz ? { jetstream: { streams: jsz.streams ?? 0, consumers: jsz.consumers ?? 0, messages: jsz.messages ?? 0, bytes: jsz.bytes ?? 0 } } : {}),
    leafs: leafUplinks(facts).map(({ url, up, hub, address, home, atHome }) => ({ url, up, ...(hub ? { hub } : {}), ...(address ? { address } : {}), ...(home ? { home } : {}), ...(atHome !== undefined ? { atHome } : {}) })),
    ...(config.gateway ? { gateways: gatewayLinks(facts) } : {}),
    ...(config.gateway?.site !== undefined ? { site: config.gateway.site } : {}),
    ...(facts.fleet ? { fleet: facts.fleet.rows } : {}),
    ...(facts.fleet?.stream ? { fleetStream: facts.fleet.stream } : {}),
    ...(forward ? { forward } : {}),
    ...(uplinkCheckin ? { uplinkCheckin } : {}),
    ...(facts.certificate ? { certificate: facts.certificate } : {}),
    ...(config.cluster && config.tls ? { members: withUnreachable(withLeaderMetaView(memberViews(config, jsz?.meta_cluster, facts.now, facts.members), facts.cluster, meta?.leader), facts.reachable ? missingPeers : []) } : {}),
    ...(ca ? { ca } : {}),
    ...(facts.cluster ? { clusterHealth: { expected: facts.cluster.expected, verdicts: facts.cluster.verdicts.map((v) => ({ node: v.node, verdict: v.verdict })), streams: facts.cluster.streams, behind: facts.cluster.behind, storage: facts.cluster.storage, ...(facts.cluster.error ? { error: facts.cluster.error } : {}) } } : {}),
    verdict: diagnosis.verdict,
    problems: diagnosis.problems,
    healthy: diagnosis.verdict === "healthy",
    checkedAt: diagnosis.checkedAt,
  };
}

/**
 * withUnreachable says "unreachable" for a member this node has no route to
 * whose meta state is only "current", "lagging" or "?": nats' leader calls a box whose
 * power was cut "lagging" (with 0 ops behind) until gossip marks it offline,
 * a minute or more later, while the routes line already says MISSING (on the
 * bed, a power-cut hub-3 was "meta current" 3 s after the cut and "meta
 * lagging" 20 s after, beside its MISSING route).
 * `missingRoutes` are the route addresses ("host:port") with no route.
 */
export function withUnreachable(views: MemberView[], missingRoutes: readonly string[]): MemberView[] {
  const missing = new Set(missingRoutes);
  return views.map((v) => (missing.has(v.route) && (v.meta === "lagging" || v.meta === "?" || v.meta === "current") ? { ...v, meta: "unreachable" } : v));
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

/** metaBehindByLeader is the meta group's replicas its leader reported not current in the last cluster round (none without a round). */
export function metaBehindByLeader(cluster: ClusterFacts | undefined): ReplicaFact[] {
  return (cluster?.behind ?? []).filter((r) => r.stream === "");
}

/**
 * withLeaderMetaView fills in what a follower cannot see in its own /jsz (the
 * "?" of another follower) from the meta leader's answer in the cluster
 * round, so every member's status shows the same meta state: on the bed a
 * power-cut pi-2 was "lagging" and "offline" on the leader and "?" elsewhere.
 */
export function withLeaderMetaView(views: MemberView[], cluster: ClusterFacts | undefined, leader: string | undefined): MemberView[] {
  if (!cluster || cluster.error || !leader || !cluster.answered.includes(leader)) return views;
  const behind = metaBehindByLeader(cluster);
  return views.map((v) => {
    if (v.meta !== "?") return v;
    const r = behind.find((x) => x.replica === v.name);
    return { ...v, meta: r ? (r.offline ? "offline" : "lagging") : "current" };
  });
}
