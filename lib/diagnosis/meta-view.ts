/**
 * meta-view.ts reads a RAFT group (the JetStream meta group, or one stream's
 * replicas) as nats-server reports it from THIS node, which is not always the
 * leader. In /jsz, `replicas` lists every member except this node (the leader
 * included when this node follows). Only the leader knows whether each
 * follower is current; a follower reports the other followers as
 * `current: false, lag: 0` because it simply does not know (nats-server
 * raft.go Peers()). `offline` comes from server gossip and is true anywhere.
 */
import type { PeerInfo } from "../natsd/monitoring-types.ts";
import type { MetaPeerFact } from "./facts.ts";
import { unknownPeerId } from "../natsd/raft-peer-id.ts";

/** ReplicaState is what this node can truthfully say about one member of a group. */
export type ReplicaState = "current" | "behind" | "offline" | "unknown";

/** GroupMember is one member of a RAFT group with the state this node can vouch for. */
export interface GroupMember { name: string; leader: boolean; self: boolean; state: ReplicaState }

/**
 * groupMembers lists every member of a group exactly once, this node
 * included, with the leader marked. A state only the leader knows is
 * "unknown" when this node follows, never "behind".
 */
export function groupMembers(self: string, given: { leader?: string; replicas?: PeerInfo[] | null } | undefined, selfInGroup = true, nameOf: (name: string) => string = unknownAsSuch): GroupMember[] {
  // nats's placeholder for a server it knows only by peer id never reaches the user: the member's name, or "unknown".
  const group = given ? { ...given, replicas: given.replicas?.map((r) => ({ ...r, name: nameOf(r.name) })) } : undefined;
  const leader = group?.leader || undefined;
  const selfLeads = leader === self;
  const out = new Map<string, GroupMember>();
  if (selfInGroup) out.set(self, { name: self, leader: selfLeads, self: true, state: selfLeads || (leader && leaderContact(group, leader)) ? "current" : leader ? "behind" : "unknown" });
  if (leader && !selfLeads) {
    const entry = group?.replicas?.find((r) => r.name === leader);
    out.set(leader, { name: leader, leader: true, self: false, state: entry?.offline ? "offline" : entry && !entry.current ? "unknown" : "current" });
  }
  for (const r of group?.replicas ?? []) {
    if (out.has(r.name)) continue;
    const state: ReplicaState = r.offline ? "offline" : selfLeads ? (r.current ? "current" : "behind") : r.current ? "current" : "unknown";
    out.set(r.name, { name: r.name, leader: false, self: false, state });
  }
  return [...out.values()].sort((a, b) => Number(b.leader) - Number(a.leader) || a.name.localeCompare(b.name));
}

/** leaderContact is true when the leader entry says this follower heard from it recently. */
function leaderContact(group: { replicas?: PeerInfo[] | null } | undefined, leader: string): boolean {
  const entry = group?.replicas?.find((r) => r.name === leader);
  return !entry || (entry.current && !entry.offline);
}

/** unknownAsSuch says "unknown" for nats's "Server name unknown at this time (peerID: …)". */
export function unknownAsSuch(name: string): string {
  return unknownPeerId(name) ? "unknown" : name;
}

/** metaPeers turns /jsz meta_cluster into facts: offline is trusted everywhere, current only from the leader; nameOf names servers nats knows by peer id only. */
export function metaPeers(self: string, meta: { leader?: string; replicas?: PeerInfo[] | null } | undefined, nameOf: (name: string) => string = unknownAsSuch): MetaPeerFact[] {
  return groupMembers(self, meta, true, nameOf).map((m) => ({ name: m.name, offline: m.state === "offline", ...(m.state === "unknown" ? {} : { current: m.state === "current" }) }));
}
