/**
 * status-view.ts is the membership part of a node's health: the members it
 * knows (name, route, certificate days left, joined when, JetStream
 * meta-group membership) and the problems the membership agent found (a
 * duplicate name, this node removed, renewal through a CA holder failing, no
 * CA holder reachable), as Problems so `unibus status`, the admin page and
 * /metrics say the same. It reads files and one monitoring answer only.
 */
import type { UnibusConfig } from "../config/load.ts";
import type { Problem } from "../diagnosis/problem.ts";
import type { MetaCluster } from "../natsd/monitoring-types.ts";
import { readMembershipState } from "./agent.ts";
import { leftMessage, readLeftMarker } from "./left-marker.ts";
import { readMembers, type MemberRecord } from "./members.ts";
import { withMemberRoutes } from "./routes.ts";
import { certificateExpiry, colonFingerprint } from "../pki/index.ts";
import { majorityOf } from "../diagnosis/quorum.ts";
import { namesPeer, raftPeerId, unknownPeerId } from "../natsd/raft-peer-id.ts";
import { groupMembers } from "../diagnosis/meta-view.ts";
import { dataDirLayout } from "../data-dir.ts";

/** MemberView is one member as status shows it. */
export interface MemberView {
  name: string;
  route: string;
  caHolder: boolean;
  joinedAt: string;
  certDaysLeft?: number;
  /** "leader", "current", "lagging" (known on the leader only), "?" (a follower cannot know), "offline", "absent" or "removed": the JetStream meta group as this node sees it. */
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

/** withMembers is the config with the members folded into its routes, as the running node dials them. */
export function withMembers(config: UnibusConfig): UnibusConfig {
  return config.cluster ? withMemberRoutes(config, membersOf(config)) : config;
}

/**
 * memberViews lists the members with their meta-group state as this node can
 * vouch for it: a follower cannot know whether another follower is current
 * (nats reports it as not current), so it says "?" there, as the admin page
 * does; "offline" comes from server gossip and holds everywhere. A server this
 * node knows only by RAFT peer id is matched to its member by that id.
 */
export function memberViews(config: UnibusConfig, meta: MetaView | undefined, now = Date.now()): MemberView[] {
  const records = membersOf(config);
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

/** NO_CA_HOLDER_GRACE_MS is how long check-ins may fail at start before status calls it a problem (six rounds). */
export const NO_CA_HOLDER_GRACE_MS = 30_000;
/** CA_HOLDER_GONE_GRACE_MS is how long check-ins that used to work may fail before status says the CA holder is gone (twelve rounds). */
export const CA_HOLDER_GONE_GRACE_MS = 60_000;

/**
 * strayMetaProblems finds offline servers the JetStream meta group still
 * counts although they are no current member: a removed member, or a peer
 * this node knows only by RAFT peer id that matches no member. Each one
 * silently raises the majority the group needs, so it is worth a warning
 * naming the command that takes it out.
 */
export function strayMetaProblems(config: UnibusConfig, meta: MetaView | undefined, node = config.node.name): Problem[] {
  if (!config.cluster || !meta?.replicas?.length) return [];
  const members = membersOf(config);
  const size = meta.cluster_size ?? meta.replicas.length + 1;
  const out: Problem[] = [];
  for (const r of meta.replicas) {
    if (!r.offline) continue;
    const id = unknownPeerId(r.name);
    const record = id ? members.find((m) => raftPeerId(m.name) === id) : members.find((m) => m.name === r.name);
    if (record && !record.removed) continue;
    // A server no members.json entry names counts only when the group is bigger than the members:
    // a cluster made by init cluster may list its first boxes in cluster.peers alone.
    if (!record && size <= members.filter((m) => !m.removed).length) continue;
    const label = record ? record.name : id ? `an unknown server (peer id ${id})` : r.name;
    const why = record?.removed ? `"${record.name}" was removed from the members, but` : id ? "this node never learned its name (it restarted while that server was down), and it is no member this node knows;" : `"${r.name}" is no member, but`;
    out.push({
      kind: "meta_stray_peer", severity: "degraded", node: record?.name ?? r.name,
      cause: `the JetStream meta group still counts ${label}, offline: ${why} it raises the majority to ${majorityOf(size)} of ${size}, so one more failure can stop JetStream`,
      fix: record || !id ? `take it out from a member: sudo unibus remove ${record?.name ?? r.name}` : "take it out from a member: sudo unibus remove NAME (the name of the box that was retired; unibus remove matches it by peer id)",
    });
  }
  return out;
}

/**
 * metaAbsentMembers names the current members the JetStream meta group does
 * not hold (matched by name or RAFT peer id), so a meta_incomplete problem
 * can say which nodes it lacks instead of a count.
 */
export function metaAbsentMembers(config: UnibusConfig, meta: MetaView | undefined): string[] {
  if (!meta) return [];
  const inGroup = [...(meta.leader ? [{ name: meta.leader }] : []), ...(meta.replicas ?? []), { name: config.node.name }];
  return membersOf(config).filter((m) => !m.removed && !inGroup.some((g) => namesPeer(g, m.name))).map((m) => m.name);
}

/** membershipProblems turns the agent's findings (and the meta group's stray peers) into Problems with cause and fix. */
export function membershipProblems(config: UnibusConfig, node = config.node.name, meta?: MetaView): Problem[] {
  if (!config.cluster || !config.tls) return [];
  const state = readMembershipState(config.node.dataDir);
  const out: Problem[] = [...strayMetaProblems(config, meta, node)];
  const left = readLeftMarker(config.node.dataDir);
  if (left) {
    out.push({ kind: "member_removed", severity: "broken", node, cause: `${leftMessage(left)}: unibus is stopped on purpose and refuses to start`, fix: `to make this box a member again: unibus join ADDR --token TOKEN --name ${node} --replace --force (a token from unibus token create on a CA holder); to uninstall it: sudo ./install.sh --uninstall --purge` });
    return out;
  }
  if (!state) return out;
  if (state.duplicate) {
    out.push({ kind: "duplicate_node_name", severity: "broken", node, cause: `a CA holder refused this node: ${state.duplicate}`, fix: `give this box its own name: unibus join ADDR --token TOKEN --name NEW-NAME (a token from unibus token create on a CA holder)` });
  }
  for (const c of state.conflicts ?? []) {
    out.push({ kind: "duplicate_node_name", severity: "broken", node: c.name, cause: `a second box at ${c.address} calls itself "${c.name}", which is already a member (seen ${c.at}): JetStream would take it for ${c.name}`, fix: `stop unibus on the box at ${c.address}, then join it under its own name (unibus join … --name NEW-NAME)` });
  }
  if (state.removed) {
    out.push({ kind: "member_removed", severity: "broken", node, cause: `this node "${node}" was removed from cluster "${config.cluster.name}" (unibus remove / leave)`, fix: `stop it (systemctl disable --now unibus); to make it a member again: unibus join ADDR --token TOKEN --name ${node} --replace` });
  }
  if (state.caRetired) {
    out.push({ kind: "certificate_from_retired_ca", severity: "broken", node, cause: `this node's certificate comes from a CA cluster "${config.cluster.name}" no longer trusts: its CA rotation finished (unibus ca rotate --finish) while this node was away (noticed ${state.caRetired.since}); every peer refuses its routes`, fix: `join it again under its name: on the CA holder run unibus token create, then here: sudo unibus join ADDR --token TOKEN --name ${node} --replace --force, and restart unibus` });
  }
  if (state.renewalFailing) {
    out.push({ kind: "certificate_renewal_failing", severity: "degraded", node, cause: `renewing the node certificate through a CA holder fails since ${state.renewalFailing.since}: ${state.renewalFailing.error}`, fix: "make sure a CA holder runs and its join port (route port + 1) is reachable from this box; the node retries every 5 s" });
  }
  // Peers start at about the same time: a check-in refused while their join ports are still
  // coming up is not a problem until it has lasted a few check-in rounds. Once check-ins worked,
  // failing ones count after CA_HOLDER_GONE_GRACE_MS: the CA holder went away.
  const failingMs = state.checkinFailingSince ? Date.now() - Date.parse(state.checkinFailingSince) : 0;
  if (state.checkinError && failingMs >= (state.lastCheckin ? CA_HOLDER_GONE_GRACE_MS : NO_CA_HOLDER_GRACE_MS)) {
    const holders = membersOf(config).filter((m) => m.service && !m.removed).map((m) => `${m.name} (${m.service})`);
    const who = holders.length ? `the CA holder${holders.length > 1 ? "s" : ""} ${holders.join(", ")} ${holders.length > 1 ? "have" : "has"} not answered` : "no CA holder has answered";
    const since = state.lastCheckin ? `for ${Math.round(failingMs / 1000)} s (the last check-in went through at ${state.lastCheckin.at}, to ${state.lastCheckin.with})` : "since this node started";
    out.push({
      kind: "no_ca_holder", severity: "degraded", node,
      cause: `${who} this node's check-ins ${since}: ${state.checkinError}. Until one is back, no box can join, no join token can be made and no certificate can be renewed; members do not learn of new boxes`,
      fix: holders.length ? `start unibus on ${holders.map((h) => h.split(" ")[0]).join(" or ")} (systemctl start unibus), or open its join port (route port + 1) to this box` : "start a node that holds the CA key, or open its join port (route port + 1)",
    });
  }
  return out;
}
