/**
 * model.ts turns one snapshot of nats-server plus unibus's own state into
 * the views the admin page renders and the JSON API returns. Pure functions
 * of their inputs (apart from the clock), so rendering can be tested with
 * fixed data.
 */
import type { NodeIdentity } from "../pki/index.ts";
import type { UnibusConfig } from "../config/load.ts";
import { buildClusterView, type ClusterTracker, type ClusterView } from "./cluster-view.ts";
import type { DiskUsage } from "./disk-usage.ts";
import type { StreamDetail } from "../natsd/monitoring-types.ts";
import { groupMembers, type ReplicaState } from "../diagnosis/meta-view.ts";
import type { Diagnosis } from "../diagnosis/problem.ts";
import { evaluateReadiness, type Readiness } from "./readiness.ts";
import { consumerRows, displayName, streamKind, type ConsumerRow, type StreamKind } from "./streams-view.ts";
import { connectionsView, type ConnectionsView } from "./connections-view.ts";
import type { RatePoint } from "./sampler.ts";
import type { Snapshot } from "./snapshot.ts";

/** CERT_WARN_DAYS: the certificate panel warns when fewer days are left. */
export const CERT_WARN_DAYS = 30;

/** Versions names what this node runs. */
export interface Versions { unibus: string; nats: string; target: string }

/** NodeView is the node panel. */
export interface NodeView {
  name: string;
  serverId?: string;
  versions: Versions & { natsRunning?: string; go?: string };
  natsUptime?: string;
  unibusUptimeSeconds: number;
  dataDir: string;
  disk: DiskUsage;
  memoryBytes?: number;
  cpuPercent?: number;
  subscriptions?: number;
  error?: string;
}

/** ClientsView is the connections panel (connections-view.ts). */
export type ClientsView = ConnectionsView;

/** StreamRow is one stream, KV bucket or object store. */
export interface StreamRow {
  /** The name users gave (a bucket or store without nats's KV_/OBJ_ prefix). */
  name: string;
  kind: StreamKind;
  /** Its consumers with pending, ack pending and redelivered counts (user streams). */
  consumers: ConsumerRow[];
  account: string;
  replicas: number;
  messages: number;
  bytes: number;
  leader?: string;
  /**
   * Every replica once, this node's own included, with what this node can
   * vouch for: only the stream leader knows whether followers are current,
   * so on a follower the other followers are "unknown", never red.
   */
  peers: { name: string; leader: boolean; self: boolean; state: ReplicaState }[];
}

/** JetStreamView is the JetStream panel. */
export interface JetStreamView {
  enabled: boolean;
  metaLeader?: string;
  clusterSize?: number;
  totals: { streams: number; consumers: number; messages: number; bytes: number; memoryBytes: number; storageBytes: number; maxMemoryBytes?: number; maxStorageBytes?: number };
  streams: StreamRow[];
  kv: StreamRow[];
  objectStores: StreamRow[];
  /** nats's own streams ($MQTT_* sessions and retained messages), not listed among the user's. */
  internal: string[];
  error?: string;
}

/** CertView is the certificate panel. */
export interface CertView {
  present: boolean;
  subject?: string;
  issuer?: string;
  sans?: string[];
  notAfter?: string;
  daysLeft?: number;
  renewAt?: string;
  warning?: string;
  /** True once notAfter has passed. */
  expired?: boolean;
  /** SHA-256 fingerprint of the CA this node trusts; the same on every node of a cluster. */
  caFingerprint?: string;
}

/** RatesView is the message-rate chart: points, oldest first. */
export interface RatesView { intervalMs: number; points: RatePoint[]; error?: string }

/** Overview is everything on the dashboard except config and logs. */
export interface Overview {
  generatedAt: string;
  /** The verdict and every problem with its cause and fix: the same as `unibus status`. */
  health: Diagnosis;
  readiness: Readiness;
  node: NodeView;
  clients: ClientsView;
  cluster: ClusterView;
  rates: RatesView;
  jetstream: JetStreamView;
  certificate: CertView;
  /** Leaf uplinks ([[leafnodes.remotes]]) and whether each is connected. */
  leafs: LeafUplinkView[];
}

/** LeafUplinkView is one [[leafnodes.remotes]] entry and whether its connection is up. */
export interface LeafUplinkView { url: string; up: boolean; rtt?: string }

/** leafView pairs the configured remotes with the solicited connections in /leafz, in order. */
function leafView(s: Snapshot, config: UnibusConfig): LeafUplinkView[] {
  const up = s.leafz.ok ? (s.leafz.data.leafs ?? []).filter((l) => l.is_spoke) : [];
  return (config.leafnodes?.remotes ?? []).map((r, i) => ({ url: r.url.text, up: i < up.length, ...(up[i]?.rtt ? { rtt: up[i]!.rtt } : {}) }));
}

/** OverviewInputs are the facts an Overview is computed from. */
export interface OverviewInputs {
  snapshot: Snapshot;
  config: UnibusConfig;
  identity?: NodeIdentity;
  versions: Versions;
  startedAt: number;
  disk: DiskUsage;
  rates: RatesView;
  tracker?: ClusterTracker;
  /** The diagnosis (lib/diagnosis/assess.ts); without it, one is derived from readiness alone. */
  health?: Diagnosis;
  /** Names missing peers gave on their route ports, by configured address. */
  probedNames?: ReadonlyMap<string, string>;
  caFingerprint?: string;
  now?: number;
}

/** nodeView builds the node panel. */
function nodeView(i: OverviewInputs): NodeView {
  const v = i.snapshot.varz.ok ? i.snapshot.varz.data : undefined;
  return {
    name: v?.server_name ?? i.config.node.name,
    ...(v ? { serverId: v.server_id } : {}),
    versions: { ...i.versions, ...(v ? { natsRunning: v.version, go: v.go } : {}) },
    ...(v ? { natsUptime: v.uptime, memoryBytes: v.mem, cpuPercent: v.cpu, subscriptions: v.subscriptions } : {}),
    unibusUptimeSeconds: Math.max(0, Math.round(((i.now ?? Date.now()) - i.startedAt) / 1000)),
    dataDir: i.config.node.dataDir,
    disk: i.disk,
    ...(!i.snapshot.varz.ok ? { error: i.snapshot.varz.error } : {}),
  };
}

/** clientsView builds the connections panel. */
function clientsView(s: Snapshot): ClientsView {
  return connectionsView(s.varz, s.connz, s.leafz, s.closedConnz);
}

function streamRow(self: string, account: string, d: StreamDetail): StreamRow {
  const leader = d.cluster?.leader;
  // /jsz lists the streams this node holds a replica of, so it is a member.
  const peers: StreamRow["peers"] = groupMembers(self, d.cluster);
  return {
    name: displayName(d),
    kind: streamKind(d),
    consumers: consumerRows(d.consumer_detail),
    account,
    replicas: d.config?.num_replicas ?? 1,
    messages: d.state.messages,
    bytes: d.state.bytes,
    ...(leader ? { leader } : {}),
    peers,
  };
}

/** jetstreamView builds the JetStream panel: user streams, KV buckets, object stores; nats's plumbing counted apart. */
function jetstreamView(s: Snapshot, enabled: boolean, self: string): JetStreamView {
  const empty = { streams: 0, consumers: 0, messages: 0, bytes: 0, memoryBytes: 0, storageBytes: 0 };
  const none = { streams: [], kv: [], objectStores: [], internal: [] };
  if (!enabled) return { enabled: false, totals: empty, ...none };
  if (!s.jsz.ok) return { enabled, totals: empty, ...none, error: s.jsz.error };
  const j = s.jsz.data;
  const rows = (j.account_details ?? []).flatMap((a) => (a.stream_detail ?? []).map((d) => streamRow(self, a.name, d)));
  rows.sort((a, b) => a.name.localeCompare(b.name));
  return {
    enabled: !j.disabled,
    ...(j.meta_cluster?.leader ? { metaLeader: j.meta_cluster.leader } : {}),
    ...(j.meta_cluster?.cluster_size ? { clusterSize: j.meta_cluster.cluster_size } : {}),
    totals: {
      streams: j.streams, consumers: j.consumers, messages: j.messages, bytes: j.bytes, memoryBytes: j.memory, storageBytes: j.storage,
      ...(j.config?.max_memory !== undefined ? { maxMemoryBytes: j.config.max_memory } : {}),
      ...(j.config?.max_storage !== undefined ? { maxStorageBytes: j.config.max_storage } : {}),
    },
    streams: rows.filter((r) => r.kind === "stream"),
    kv: rows.filter((r) => r.kind === "kv"),
    objectStores: rows.filter((r) => r.kind === "object"),
    internal: rows.filter((r) => r.kind === "internal").map((r) => r.name),
  };
}

/** certView builds the certificate panel from the node identity. */
export function certView(id: NodeIdentity | undefined, now = Date.now()): CertView {
  if (!id) return { present: false };
  const daysLeft = Math.floor((id.notAfter.getTime() - now) / 86_400_000);
  const warning = daysLeft < 0 || id.notAfter.getTime() <= now ? `EXPIRED on ${id.notAfter.toISOString().slice(0, 10)} (${Math.max(0, -daysLeft)} days ago)`
    : daysLeft < CERT_WARN_DAYS ? `the certificate expires in ${daysLeft} days` : undefined;
  return {
    present: true,
    subject: id.subject,
    issuer: id.issuer,
    sans: id.sans,
    notAfter: id.notAfter.toISOString(),
    daysLeft,
    renewAt: id.renewAt.toISOString(),
    ...(daysLeft < 0 || id.notAfter.getTime() <= now ? { expired: true } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** buildOverview computes every panel from one set of inputs. */
export function buildOverview(i: OverviewInputs): Overview {
  const cluster = buildClusterView(i.snapshot, i.config, i.tracker, i.probedNames);
  const readiness = evaluateReadiness(i.snapshot, cluster, i.config.jetstream.enabled);
  const generatedAt = new Date(i.now ?? Date.now()).toISOString();
  const certificate = certView(i.identity, i.now);
  return {
    generatedAt,
    health: i.health ?? healthFromReadiness(cluster.self, readiness, generatedAt),
    readiness,
    node: nodeView(i),
    clients: clientsView(i.snapshot),
    cluster,
    rates: i.rates,
    jetstream: jetstreamView(i.snapshot, i.config.jetstream.enabled, cluster.self),
    certificate: i.caFingerprint ? { ...certificate, caFingerprint: i.caFingerprint } : certificate,
    leafs: leafView(i.snapshot, i.config),
  };
}

/** healthFromReadiness is the fallback diagnosis when none was computed: each failed readiness check is a broken problem. */
function healthFromReadiness(node: string, r: Readiness, at: string): Diagnosis {
  const problems = r.checks.filter((c) => !c.ok).map((c) => ({
    kind: c.name === "nats" ? "nats_not_running" as const : c.name === "jetstream" ? "meta_no_leader" as const : "peer_unreachable" as const,
    severity: "broken" as const, node, cause: c.detail, fix: "see `unibus status` on this node",
  }));
  return { verdict: problems.length ? "broken" : "healthy", node, problems, checkedAt: at };
}
