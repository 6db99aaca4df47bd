/**
 * facts.ts names everything a diagnosis is computed from, and gathers the
 * parts that are not nats-server's monitoring: the node certificate and its
 * CA, the data dir's disk, and whether [node] name was written or taken from
 * the host name. `unibus status` and the admin page feed the same facts to
 * diagnose(), so they say the same thing.
 */
import type { FleetView } from "../fleet/fleet-view.ts";
import { readFileSync, statfsSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import type { NodeProcesses } from "./process-state.ts";
import type { StartProgressRecord } from "../natsd/start-progress.ts";
import { nodeCaFingerprint, presentedCertificate, trustFile } from "../membership/presented-certificate.ts";
import type { UnibusConfig } from "../config/load.ts";
import { certificateExpiry } from "../pki/index.ts";
import type { NatsEvent } from "./nats-events.ts";
import type { PeerProbe } from "./peer-probe.ts";
import type { MemberRecord } from "../membership/members.ts";
import type { MembershipState } from "../membership/agent.ts";
import type { LeftMarker } from "../membership/left-marker.ts";
import type { MetaCluster } from "../natsd/monitoring-types.ts";
import type { BackupState } from "../backup/state.ts";
import type { AccessReplicaState } from "../access/replica-state.ts";
import type { ClusterFacts } from "./cluster-facts.ts";

/** RouteFact is one live route as /routez reports it. */
export interface RouteFact { name?: string; address: string; solicited: boolean; /** The cluster.peers entry it was paired with. */ peer?: string; /** When the route connected (ms since the epoch), from /routez start. */ since?: number }

/** TwinFact is a peer name that two servers (two server ids) answer to, with the addresses of their routes. */
export interface TwinFact { name: string; addresses: string[] }

/** LeafFact is one live leaf-node connection as /leafz reports it. */
export interface LeafFact { name?: string; address: string; solicited: boolean; account?: string; rtt?: string }

/** GatewayConnFact is one live gateway connection as /gatewayz reports it: the remote cluster, which side dialed, since when (ISO time); name only when known (/gatewayz gives server ids). */
export interface GatewayConnFact { cluster: string; outbound: boolean; name?: string; address?: string; start?: string }

/** MetaPeerFact is one JetStream meta-group member as this node sees it. */
export interface MetaPeerFact { name: string; offline: boolean; current?: boolean }

/** CertFacts describe the node certificate and the CA it trusts. */
export interface CertFacts {
  file: string;
  subject?: string;
  notAfter?: string;
  daysLeft?: number;
  caFile: string;
  caFingerprint?: string;
  /** True when the node holds the CA key and renews its own certificate. */
  selfRenewing: boolean;
  error?: string;
}

/** DiskFacts compare the JetStream file limit with the data dir's disk. */
export interface DiskFacts { dir: string; freeBytes: number; totalBytes: number; storeBytes: number }

/** DriftFact says the config file changed since the running node loaded it (at appliedAt, ms), and why a reload refused it, if one did. */
export interface DriftFact { appliedAt: number; refused?: string }

/** HealthFacts is the input of diagnose(): everything one snapshot's rules read, gathered once (lib/diagnosis/assess.ts). */
export interface HealthFacts {
  config: UnibusConfig;
  node: string;
  now: number;
  reachable: boolean;
  monitorError?: string;
  /** nats-server /healthz (every stream and consumer current). */
  health: { ok: boolean; detail: string };
  /** /healthz?js-meta-only=true: the node is in contact with, and current with, the meta leader. */
  metaHealth?: { ok: boolean; detail: string };
  /** How long the full /healthz has been failing while the meta layer is fine (ms); undefined when not tracked. */
  streamsBehindMs?: number;
  routes: RouteFact[];
  /** Configured peers (cluster.peers minus this node) with no route. */
  missingPeers: string[];
  /** Live routes to servers that are not in cluster.peers. */
  strangers: RouteFact[];
  /** Peer names two different servers hold at once, as this node's routes show them. */
  twins?: TwinFact[];
  meta?: { leader?: string; clusterSize?: number; peers: MetaPeerFact[] };
  /** What /jsz said: it answered (and whether JetStream runs), or why it could not be read. */
  jsz: { ok: true; disabled: boolean } | { ok: false; error: string };
  jetstreamEnabled: boolean;
  leafs: LeafFact[];
  /** Gateway connections to other clusters (/gatewayz); [] without [gateway] or when it could not be read. */
  gateways?: GatewayConnFact[];
  events: NatsEvent[];
  probes: PeerProbe[];
  certificate?: CertFacts;
  disk?: DiskFacts;
  /** True when [node] name is not written and the name came from the host name. */
  nameFromHost: boolean;
  /** unibus and nats-server as /proc shows them, from the data dir's pid files (why monitoring is silent). */
  processes?: NodeProcesses;
  /** What a nats-server that is not ready yet is doing (lib/natsd/start-progress.ts), while its unibus and it run. */
  starting?: StartProgressRecord;
  /** A hub's view of its fleet (fleet.json, written by the running node), when fresh. */
  fleet?: FleetView;
  /** The members list (members.json), read once per assessment; [] outside a cluster or before any join. */
  members: MemberRecord[];
  /** On a hub that enrolls edges: the edges removed with unibus edge remove (name and public nkey), to name one that still dials in. */
  removedEdges?: { name: string; nkey: string }[];
  /** An enrolled edge the hub removed (unibus edge remove), as its check-ins learned: its uplink is refused for that reason alone. */
  edgeRemoved?: boolean;
  /** What the membership agent found (membership-state.json). */
  membership?: MembershipState;
  /** The marker a node that left or was removed keeps. */
  left?: LeftMarker;
  /** The config file differs from what the node runs. */
  drift?: DriftFact;
  /** What the cluster's users replica recorded (cluster-access-state.json), on a member of a cluster. */
  access?: AccessReplicaState;
  /** The scheduled backups' record (backup-state.json), when the node ever started its schedule. */
  backup?: BackupState;
  /** The newest manual backup (`unibus backup`) in [backup] dir, when there is one: a backup the schedule's record does not know. */
  manualBackup?: { file: string; mtimeMs: number };
  /** What the whole cluster said in the last round (lib/diagnosis/cluster-facts.ts): members' own verdicts, leaders' replica views, storage. */
  cluster?: ClusterFacts;
  /** /jsz meta_cluster as nats-server reported it (peer ids unresolved), for the rules that match servers to members. */
  metaCluster?: MetaCluster;
}

/** nodeNameIsExplicit tells whether the config file sets [node] name (rather than taking the host name). */
export function nodeNameIsExplicit(configText: string): boolean {
  const table = /^\s*\[node\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(configText);
  return Boolean(table && /^\s*name\s*=/m.test(table[1]!));
}

/** nameFromHost reads the config file again to tell whether [node] name was left to the host name. */
export function nameFromHost(config: UnibusConfig): boolean {
  try {
    return !nodeNameIsExplicit(readFileSync(config.file, "utf8"));
  } catch {
    return false;
  }
}


/** nodeCertificatePath is where the node's certificate is: issued into the data dir, or [tls] cert. */
export function nodeCertificatePath(config: UnibusConfig): string | undefined {
  return presentedCertificate(config)?.certFile;
}

/** certFacts reads the node certificate and the CA from disk; unreadable files become `error`. */
export function certFacts(config: UnibusConfig, now = Date.now()): CertFacts | undefined {
  const file = nodeCertificatePath(config);
  if (!config.tls || !file) return undefined;
  // A cluster member without the CA key renews through a CA holder (lib/membership).
  const caFile = trustFile(config) ?? config.tls.caCert;
  const out: CertFacts = { file, caFile, selfRenewing: Boolean(config.tls.caKey || config.cluster) };
  try {
    out.caFingerprint = nodeCaFingerprint(config);
  } catch (err) {
    out.error = `cannot read the CA certificate ${caFile}: ${(err as Error).message}`;
  }
  try {
    const cert = new X509Certificate(readFileSync(file));
    const notAfter = new Date(cert.validTo);
    out.subject = cert.subject.replace(/\n/g, ", ");
    out.notAfter = notAfter.toISOString();
    out.daysLeft = certificateExpiry(notAfter, now).daysLeft;
  } catch (err) {
    out.error ??= `cannot read the node certificate ${file}: ${(err as Error).message}`;
  }
  return out;
}

/** diskFacts reads free space on the data dir's file system; storeBytes is what JetStream already stores there. */
export function diskFacts(config: UnibusConfig, storeBytes: number): DiskFacts | undefined {
  try {
    const fs = statfsSync(config.node.dataDir);
    return { dir: config.node.dataDir, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize, storeBytes };
  } catch {
    return undefined;
  }
}
