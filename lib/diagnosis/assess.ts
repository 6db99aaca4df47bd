/**
 * assess.ts is the one path from a nats monitoring snapshot to a Diagnosis,
 * shared by `unibus status`, the node's health engine and the admin page. It
 * only gathers: pair routes with configured peers, read the JetStream meta
 * group the way a follower must (see meta-view.ts), probe the peers that are
 * missing, and read the certificate, disk, members, membership state, left
 * marker and config drift once each; diagnose() (the rules) does the judging.
 */
import type { RouteInfo } from "../natsd/monitoring-types.ts";
import { nodeProcesses, processState } from "./process-state.ts";
import { readStartProgress, type StartProgressRecord } from "../natsd/start-progress.ts";
import { configDrift } from "./config-drift.ts";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import type { Snapshot } from "../natsd/snapshot.ts";
import { pairRoutes } from "./route-pairing.ts";
import { certFacts, diskFacts, nameFromHost, type GatewayConnFact, type HealthFacts, type LeafFact, type RouteFact, type TwinFact } from "./facts.ts";
import { diagnose } from "./diagnose.ts";
import { metaPeers } from "./meta-view.ts";
import type { NatsEvent } from "./nats-events.ts";
import { probePeer, type PeerProbe, type ProbeCredentials } from "./peer-probe.ts";
import type { Diagnosis } from "./problem.ts";
import { memberName, type ClusterFacts } from "./cluster-facts.ts";
import { membersOf } from "../membership/status-view.ts";
import { withMemberRoutes } from "../membership/routes.ts";
import { readMembershipState } from "../membership/agent.ts";
import { readAccessReplicaState } from "../access/replica-state.ts";
import { readFleetView } from "../fleet/fleet-watch.ts";
import { readUplinkState } from "../membership/edge-agent.ts";
import { readLeftMarker } from "../membership/left-marker.ts";
import { readBackupState } from "../backup/state.ts";
import { manualBackups } from "../backup/files.ts";
import { presentedCertificate, trustFile } from "../membership/presented-certificate.ts";
import { joinHostPort } from "../config/units.ts";
import { readEdges } from "../membership/edges.ts";
import { dataDirLayout } from "../data-dir.ts";

/** AssessOptions are the facts beyond the snapshot. */
export interface AssessOptions {
  events: NatsEvent[];
  /** Probe missing peers' route ports (status does; the page uses a cache). */
  probe?: (config: UnibusConfig, missing: string[]) => Promise<PeerProbe[]>;
  streamsBehindMs?: number;
  now?: number;
  /** What the whole cluster said (members' verdicts, replica views); without it the assessment is this node's own view. */
  cluster?: ClusterFacts;
}

/** Assessment is a diagnosis with the facts it came from (status prints both). */
export interface Assessment { diagnosis: Diagnosis; facts: HealthFacts }

/** probeCredentials reads the CA and node certificate the probe presents; undefined without [tls]. */
export function probeCredentials(config: UnibusConfig): ProbeCredentials | undefined {
  if (!config.tls) return undefined;
  try {
    const caPem = readFileSync(trustFile(config) ?? config.tls.caCert, "utf8");
    const { certFile, keyFile } = presentedCertificate(config) ?? {};
    try {
      return { caPem, certPem: readFileSync(certFile!, "utf8"), keyPem: readFileSync(keyFile!, "utf8") };
    } catch {
      return { caPem };
    }
  } catch {
    return undefined;
  }
}

/** probeMissing asks each missing peer's route port who it is. */
export async function probeMissing(config: UnibusConfig, missing: string[]): Promise<PeerProbe[]> {
  const creds = probeCredentials(config);
  const peers = (config.cluster?.routes ?? []).filter((p) => missing.includes(p.text));
  return Promise.all(peers.map(async (p) => ({ ...(await probePeer(p.host, p.port, creds)), address: p.text })));
}

/** gatewayConns lists the gateway connections /gatewayz reports, outbound and inbound. */
function gatewayConns(s: Snapshot): GatewayConnFact[] {
  if (!s.gatewayz?.ok) return [];
  const out: GatewayConnFact[] = [];
  const one = (cluster: string, outbound: boolean, conn: { name?: string; ip?: string; port?: number; start?: string } | undefined) => {
    if (!conn) return;
    // Not conn.name: for a gateway that is the remote server's id, not its name.
    out.push({ cluster, outbound, ...(conn.ip ? { address: joinHostPort(conn.ip, conn.port ?? 0) } : {}), ...(conn.start ? { start: conn.start } : {}) });
  };
  for (const [cluster, g] of Object.entries(s.gatewayz.data.outbound_gateways ?? {})) one(cluster, true, g.connection);
  for (const [cluster, list] of Object.entries(s.gatewayz.data.inbound_gateways ?? {})) for (const g of list ?? []) one(cluster, false, g.connection);
  return out;
}

/** assess gathers the node's facts from one snapshot and the files beside it, and runs the rules over them. */
export async function assess(given: UnibusConfig, s: Snapshot, o: AssessOptions): Promise<Assessment> {
  const facts = await gatherFacts(given, s, o);
  return { diagnosis: diagnose(facts), facts };
}

/** gatherFacts reads everything the rules judge, each source once: the snapshot, probes of missing peers, and the node's files. */
export async function gatherFacts(given: UnibusConfig, s: Snapshot, o: AssessOptions): Promise<HealthFacts> {
  // Members that joined after the config was written are peers too; removed ones are not.
  const members = given.cluster ? membersOf(given) : [];
  const config = withMemberRoutes(given, members);
  const now = o.now ?? Date.now();
  const reachable = s.varz.ok || s.routez.ok;
  const node = s.varz.ok ? s.varz.data.server_name : config.node.name;
  const routes = s.routez.ok ? (s.routez.data.routes ?? []) : [];
  const paired = await pairRoutes(routes, config.cluster?.routes ?? []);
  const routeFacts: RouteFact[] = paired.routes.map((r) => ({ ...(r.peerName ? { name: r.peerName } : {}), address: r.address, solicited: Boolean(r.solicited), ...(r.peer ? { peer: r.peer } : {}), ...(r.start && Number.isFinite(Date.parse(r.start)) ? { since: Date.parse(r.start) } : {}) }));
  const strangers = routeFacts.filter((_, i) => !paired.routes[i]!.peer);
  const twins = sameNameServers(node, routes);
  const missingPeers = reachable ? paired.missing : (config.cluster?.routes ?? []).map((p) => p.text);
  const jsz = s.jsz.ok && !s.jsz.data.disabled ? s.jsz.data : undefined;
  const leafs: LeafFact[] = s.leafz.ok ? (s.leafz.data.leafs ?? []).map((l) => ({ ...(l.name ? { name: l.name } : {}), address: joinHostPort(l.ip, l.port), solicited: Boolean(l.is_spoke), ...(l.account ? { account: l.account } : {}), ...(l.rtt ? { rtt: l.rtt } : {}) })) : [];
  const gateways = gatewayConns(s);
  const probes = reachable && missingPeers.length && o.probe ? await o.probe(config, missingPeers) : [];
  const membered = Boolean(config.cluster && config.tls);
  const membership = membered ? readMembershipState(config.node.dataDir) : undefined;
  const left = membered ? readLeftMarker(config.node.dataDir) : undefined;
  const drift = configDrift(config);
  const backup = readBackupState(config.node.dataDir);
  const manualBackup = backup && config.backup.enabled ? manualBackups(config.backup.dir, config.node.name).at(-1) : undefined;
  const access = membered ? readAccessReplicaState(config.node.dataDir) : undefined;
  const fleet = config.leafnodes?.listen ? readFleetView(config.node.dataDir, now) : undefined;
  const edgeRemoved = config.leafnodes?.remotes.some((r) => r.nkey) ? readUplinkState(config.node.dataDir)?.removed === true : false;
  const removedEdges = config.leafnodes?.enroll ? readEdges(dataDirLayout(config.node.dataDir).edges).filter((e) => e.removed).map(({ name, nkey }) => ({ name, nkey })) : [];
  const facts: HealthFacts = {
    ...(edgeRemoved ? { edgeRemoved } : {}),
    ...(removedEdges.length ? { removedEdges } : {}),
    ...(fleet ? { fleet } : {}),
    config,
    node,
    now,
    reachable,
    ...(!reachable ? { monitorError: s.varz.ok ? "" : s.varz.error, processes: nodeProcesses(config.node.dataDir) } : {}),
    health: s.healthz,
    ...(config.cluster ? { metaHealth: s.metaHealthz } : {}),
    ...(o.streamsBehindMs !== undefined ? { streamsBehindMs: o.streamsBehindMs } : {}),
    routes: routeFacts,
    missingPeers,
    strangers,
    ...(twins.length ? { twins } : {}),
    ...(jsz ? { meta: { ...(jsz.meta_cluster?.leader ? { leader: jsz.meta_cluster.leader } : {}), ...(jsz.meta_cluster?.cluster_size !== undefined ? { clusterSize: jsz.meta_cluster.cluster_size } : {}), peers: metaPeers(node, jsz.meta_cluster, (n) => memberName(n, [node, ...members.map((m) => m.name)])) } } : {}),
    ...(jsz?.meta_cluster ? { metaCluster: jsz.meta_cluster } : {}),
    jsz: s.jsz.ok ? { ok: true, disabled: Boolean(s.jsz.data.disabled) } : { ok: false, error: s.jsz.error },
    jetstreamEnabled: config.jetstream.enabled,
    leafs,
    gateways,
    events: o.events,
    probes,
    nameFromHost: nameFromHost(config),
    members,
    ...(membership ? { membership } : {}),
    ...(left ? { left } : {}),
    ...(drift ? { drift } : {}),
    ...(backup ? { backup } : {}),
    ...(manualBackup ? { manualBackup: { file: manualBackup.file, mtimeMs: manualBackup.mtimeMs } } : {}),
    ...(access ? { access } : {}),
    ...(o.cluster ? { cluster: o.cluster } : {}),
  };
  const starting = liveStartProgress(config.node.dataDir);
  if (starting) facts.starting = starting;
  const cert = certFacts(config, now);
  if (cert) facts.certificate = cert;
  const disk = diskFacts(config, jsz?.storage ?? 0);
  if (disk) facts.disk = disk;
  return facts;
}

/** liveStartProgress is a starting node's progress record, while the unibus that wrote it and its nats-server still run. */
function liveStartProgress(dataDir: string): StartProgressRecord | undefined {
  const r = readStartProgress(dataDir);
  if (!r) return undefined;
  return processState(r.unibusPid).state !== "absent" && processState(r.natsPid).state !== "absent" ? r : undefined;
}

/**
 * sameNameServers finds peer names that two different servers (two server
 * ids) hold at once: a copied disk (a cloned SD card) or a box given a
 * member's name. nats refuses the second route on most nodes; a node that
 * took both shows them side by side in /routez.
 */
function sameNameServers(self: string, routes: readonly Pick<RouteInfo, "remote_name" | "remote_id" | "ip" | "port">[]): TwinFact[] {
  const byName = new Map<string, Map<string, string>>();
  for (const r of routes) {
    if (!r.remote_name || r.remote_name === self) continue;
    const ids = byName.get(r.remote_name) ?? new Map<string, string>();
    ids.set(r.remote_id, joinHostPort(r.ip, r.port));
    byName.set(r.remote_name, ids);
  }
  return [...byName].filter(([, ids]) => ids.size > 1).map(([name, ids]) => ({ name, addresses: [...ids.values()].sort() }));
}
