/**
 * cluster-facts.ts is what a node learns about the whole cluster in one
 * round over the system account: every member's own verdict (each node
 * answers HEALTH_SUBJECT from its own view) and every server's JetStream
 * view ($SYS.REQ.SERVER.PING.JSZ), from which each stream's replica view is
 * taken from its leader (only the leader knows whether a follower is current
 * and how far behind it is; nats-server raft.go Peers()) and each member's
 * storage against its JetStream limit. The rules of lib/diagnosis/rules/
 * judge these facts on any member, so every node says the same about the
 * cluster.
 */
import type { MetaCluster, PeerInfo, StreamDetail } from "../natsd/monitoring-types.ts";
import { raftPeerId, unknownPeerId } from "../natsd/raft-peer-id.ts";
import type { ProblemOf } from "./problem-of.ts";
import { isMqttStream } from "../mqtt/streams.ts";

/** HEALTH_SUBJECT is the system-account subject every node answers with its own verdict (MemberVerdict). */
export const HEALTH_SUBJECT = "unibus.health.verdict";

/** CLUSTER_ASK_TIMEOUT_MS bounds one round of asking (ms): answers that come later count in the next round. */
export const CLUSTER_ASK_TIMEOUT_MS = 1_500;

/** MemberVerdict is one node's judgement of itself, from its own view only (no cluster-wide problems, so verdicts never echo). */
export interface MemberVerdict {
  node: string;
  verdict: "healthy" | "degraded" | "broken";
  problems: ProblemOf<string>[];
  checkedAt: string;
}

/** ReplicaFact is one replica of one RAFT group (a stream, or the meta group) as the group's leader reports it. */
export interface ReplicaFact {
  /** The stream's name, or "" for the JetStream meta group. */
  stream: string;
  account: string;
  leader: string;
  /** The member holding the replica (its name; "unknown" when nats does not know it yet). */
  replica: string;
  current: boolean;
  offline: boolean;
  /** Operations the replica has not yet stored. */
  lag: number;
  /**
   * Milliseconds since the leader last heard from it; undefined when this
   * leader never has (nats reports 0 then: a leader elected after the replica
   * went silent, e.g. the box whose power was cut led the stream).
   */
  activeMs?: number;
}

/**
 * MqttStreamFact is one of MQTT's own streams (lib/mqtt/streams.ts) as the
 * cluster sees it: its replicas as the leader reports them, or no leader at
 * all (every MQTT connect then fails).
 */
export interface MqttStreamFact {
  stream: string;
  account: string;
  /** The leader, when it answered. */
  leader?: string;
  /** The leader a follower names (the leader itself may not have answered in time); none of both: it has no leader. */
  namedLeader?: string;
  /** Replicas, the leader's own included (undefined without a leader). */
  replicas?: number;
  /** Replicas the leader reports offline. */
  offline: string[];
  /** The servers that hold a replica and answered. */
  holders: string[];
}

/** StorageFact is one member's JetStream file storage against its limit (bytes). */
export interface StorageFact { node: string; used: number; max: number }

/** ClusterFacts are one round of answers. */
export interface ClusterFacts {
  /** When the round started (ms). */
  at: number;
  /** Members that should answer (this node included). */
  expected: number;
  verdicts: MemberVerdict[];
  /** Replicas that are not current, seen from their group's leader (current ones are left out). */
  behind: ReplicaFact[];
  /** Streams (account/name) whose leader answered, so "every replica current" means something. */
  streams: number;
  storage: StorageFact[];
  /** MQTT's streams, when MQTT devices have made them. */
  mqtt?: MqttStreamFact[];
  /** Servers that answered the JetStream round, by name. */
  answered: string[];
  /** Why the round could not be made (no system-account access, nats not answering). */
  error?: string;
}

/** JszAnswer is one server's answer to $SYS.REQ.SERVER.PING.JSZ. */
export interface JszAnswer {
  server: { name: string; id?: string };
  data?: {
    storage?: number;
    config?: { max_storage?: number };
    meta_cluster?: MetaCluster;
    account_details?: { name: string; stream_detail?: StreamDetail[] }[];
  };
  error?: { code?: number; description?: string };
}

/** JSZ_REQUEST asks every server for its streams with their cluster views (no consumers: they are not needed here). */
export const JSZ_REQUEST = { accounts: true, streams: true };

/**
 * memberName names a server nats knows only by RAFT peer id ("Server name
 * unknown at this time (peerID: …)") by the member with that id, or
 * "unknown": nats's placeholder never reaches the user.
 */
export function memberName(name: string, members: readonly string[]): string {
  const id = unknownPeerId(name);
  if (!id) return name || "unknown";
  return members.find((m) => raftPeerId(m) === id) ?? "unknown";
}

/** replicaOf turns a leader's peer entry into a ReplicaFact. */
function replicaOf(stream: string, account: string, leader: string, p: PeerInfo, members: readonly string[]): ReplicaFact {
  return { stream, account, leader, replica: memberName(p.name, members), current: p.current, offline: Boolean(p.offline), lag: p.lag ?? 0, ...(p.current || (p.active ?? 0) > 0 ? { activeMs: Math.round((p.active ?? 0) / 1e6) } : {}) };
}

/** clusterFactsOf reads one round's answers: verdicts as given, replica views from each group's leader, storage per server. */
export function clusterFactsOf(at: number, expected: number, verdicts: MemberVerdict[], jsz: JszAnswer[], members: readonly string[]): ClusterFacts {
  const behind: ReplicaFact[] = [];
  const storage: StorageFact[] = [];
  let streams = 0;
  const mqtt = new Map<string, MqttStreamFact>();
  for (const a of jsz) {
    const server = a.server.name;
    const d = a.data;
    if (!d) continue;
    if (d.config?.max_storage) storage.push({ node: server, used: d.storage ?? 0, max: d.config.max_storage });
    if (d.meta_cluster?.leader === server) {
      for (const p of d.meta_cluster.replicas ?? []) if (!p.current) behind.push(replicaOf("", "", server, p, members));
    }
    for (const acc of d.account_details ?? []) {
      for (const s of acc.stream_detail ?? []) {
        if (isMqttStream(s.name)) {
          const key = `${acc.name}/${s.name}`;
          const m = mqtt.get(key) ?? { stream: s.name, account: acc.name, offline: [], holders: [] };
          m.holders.push(server);
          if (s.cluster?.leader) m.namedLeader ??= s.cluster.leader;
          if (s.cluster?.leader === server || (!s.cluster && !m.leader)) {
            m.leader = server;
            m.replicas = 1 + (s.cluster?.replicas ?? []).length;
            m.offline = (s.cluster?.replicas ?? []).filter((p) => p.offline).map((p) => memberName(p.name, members));
          }
          mqtt.set(key, m);
        }
        if (s.cluster?.leader !== server) continue;
        streams++;
        for (const p of s.cluster.replicas ?? []) if (!p.current) behind.push(replicaOf(s.name, acc.name, server, p, members));
      }
    }
  }
  return { at, expected, verdicts, behind, streams, storage: storage.sort((x, y) => x.node.localeCompare(y.node)), mqtt: [...mqtt.values()].sort((x, y) => x.stream.localeCompare(y.stream)), answered: jsz.map((a) => a.server.name).sort() };
}

/** membersToAsk is how many members should answer (this node and its routes, the members that joined included) and their names. */
export function membersToAsk(f: { node: string; config: { cluster?: { routes: unknown[] } }; members: readonly { name: string; removed?: boolean }[] }): { expected: number; names: string[] } {
  const names = [...new Set([f.node, ...f.members.filter((m) => !m.removed).map((m) => m.name)])];
  return { expected: Math.max(names.length, (f.config.cluster?.routes.length ?? 0) + 1), names };
}

/** Requester sends one request that several servers answer, returning every answer that came within the timeout. */
export type Requester = <T>(subject: string, payload: unknown, options: { expected: number; timeoutMs: number }) => Promise<T[]>;

/** askCluster makes one round: every member's verdict and every server's JetStream view, in parallel; it never throws. */
export async function askCluster(request: Requester, expected: number, members: readonly string[]): Promise<ClusterFacts> {
  const at = Date.now();
  try {
    const [verdicts, jsz] = await Promise.all([
      request<MemberVerdict>(HEALTH_SUBJECT, "", { expected, timeoutMs: CLUSTER_ASK_TIMEOUT_MS }).catch(() => [] as MemberVerdict[]),
      request<JszAnswer>("$SYS.REQ.SERVER.PING.JSZ", JSZ_REQUEST, { expected, timeoutMs: CLUSTER_ASK_TIMEOUT_MS }),
    ]);
    return clusterFactsOf(at, expected, verdicts.filter((v) => typeof v?.node === "string").sort((a, b) => a.node.localeCompare(b.node)), jsz, members);
  } catch (err) {
    return { at, expected, verdicts: [], behind: [], streams: 0, storage: [], answered: [], error: (err as Error).message };
  }
}
