/**
 * status-view.ts is the membership part of a node's status: the members it
 * knows (name, route, certificate days left, joined when, JetStream
 * meta-group membership). The problems the membership agent found are the
 * membership rule's (lib/diagnosis/rules/membership.ts).
 */
import type { UnibusConfig } from "../config/load.ts";
import type { MetaCluster } from "../natsd/monitoring-types.ts";
import { readMembers, type MemberRecord } from "./members.ts";
import { certificateExpiry, colonFingerprint } from "../pki/index.ts";
import { raftPeerId, unknownPeerId } from "../natsd/raft-peer-id.ts";
import { groupMembers } from "../diagnosis/meta-view.ts";
import { dataDirLayout } from "../data-dir.ts";

/** MemberView is one member as status shows it. */
export interface MemberView {
  name: string;
  route: string;
  caHolder: boolean;
  joinedAt: string;
  certDaysLeft?: number;
  /** "leader", "current", "lagging" (known on the leader only), "?" (a follower cannot know), "unreachable" (no route from this node; lib/cluster/status.ts withUnreachable), "offline", "absent" or "removed": the JetStream meta group as this node sees it. */
  meta: string;
  removed: boolean;
  /** SHA-256 (AB:CD:…) of the CA that issued its certificate, as the CA holder saw it. */
  caFingerprint?: string;
}

/** MetaView is the meta group as /jsz reports it. */
export type MetaView = MetaCluster;

/** membersOf reads a node's members list from its data dir. */
export function membersOf(config: UnibusConfig): MemberRecord[] {
  return readMembers(dataDirLayout(config.node.dataDir).members);
}

/**
 * memberViews lists the members with their meta-group state as this node can
 * vouch for it: a follower cannot know whether another follower is current
 * (nats reports it as not current), so it says "?" there, as the admin page
 * does; "offline" comes from server gossip and holds everywhere. A server this
 * node knows only by RAFT peer id is matched to its member by that id.
 */
export function memberViews(config: UnibusConfig, meta: MetaView | undefined, now = Date.now(), records: readonly MemberRecord[] = membersOf(config)): MemberView[] {
  const named = meta ? {
    ...meta,
    replicas: (meta.replicas ?? []).map((r) => {
      const id = unknownPeerId(r.name);
      const m = id ? records.find((x) => raftPeerId(x.name) === id) : undefined;
      return m ? { ...r, name: m.name } : r;
    }),
  } : undefined;
  const group = named ? groupMembers(config.node.name, named) : [];
  const state = (name: string): string => {
    if (!named) return "unknown";
    const g = group.find((x) => x.name === name);
    if (!g) return "absent";
    if (g.leader) return "leader";
    if (g.self) return named.leader ? "current" : "absent";
    return g.state === "behind" ? "lagging" : g.state === "unknown" ? "?" : g.state;
  };
  return records.map((m) => {
    const s = state(m.name);
    return {
      name: m.name,
      route: m.route,
      caHolder: Boolean(m.service),
      joinedAt: m.joinedAt,
      ...(m.certNotAfter ? { certDaysLeft: certificateExpiry(Date.parse(m.certNotAfter), now).daysLeft } : {}),
      meta: m.removed ? (s === "absent" ? "removed" : `${s} (removed, still in the meta group)`) : s,
      removed: Boolean(m.removed),
      ...(m.caFingerprint ? { caFingerprint: colonFingerprint(m.caFingerprint) } : {}),
    };
  });
}
