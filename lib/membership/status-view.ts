/**
 * status-view.ts is the membership part of a node's health: the members it
 * knows (name, route, certificate days left, joined when, JetStream
 * meta-group membership) and the problems the membership agent found (a
 * duplicate name, this node removed, renewal through a CA holder failing, no
 * CA holder reachable), as Problems so `unibus status`, the admin page and
 * /metrics say the same. It reads files and one monitoring answer only.
 */
import { join } from "node:path";
import type { UnibusConfig } from "../config/load.ts";
import type { Problem } from "../diagnosis/problem.ts";
import type { MetaCluster } from "../natsd/monitoring-types.ts";
import { readMembershipState } from "./agent.ts";
import { MEMBERS_FILE, readMembers, type MemberRecord } from "./members.ts";
import { withMemberRoutes } from "./routes.ts";
import { colonFingerprint } from "../pki/index.ts";

/** MemberView is one member as status shows it. */
export interface MemberView {
  name: string;
  route: string;
  caHolder: boolean;
  joinedAt: string;
  certDaysLeft?: number;
  /** "leader", "current", "lagging", "offline", "absent" or "removed": the JetStream meta group as this node sees it. */
  meta: string;
  removed: boolean;
  /** SHA-256 (AB:CD:…) of the CA that issued its certificate, as the CA holder saw it. */
  caFingerprint?: string;
}

/** MetaView is the meta group as /jsz reports it. */
export type MetaView = MetaCluster;

/** membersOf reads a node's members list from its data dir. */
export function membersOf(config: UnibusConfig): MemberRecord[] {
  return readMembers(join(config.node.dataDir, MEMBERS_FILE));
}

/** withMembers is the config with the members folded into its routes, as the running node dials them. */
export function withMembers(config: UnibusConfig): UnibusConfig {
  return config.cluster ? withMemberRoutes(config, membersOf(config)) : config;
}

/** memberViews lists the members with their meta-group state. */
export function memberViews(config: UnibusConfig, meta: MetaView | undefined, now = Date.now()): MemberView[] {
  const state = (name: string): string => {
    if (!meta) return "unknown";
    if (meta.leader === name) return "leader";
    const r = meta.replicas?.find((x) => x.name === name);
    if (!r) return name === config.node.name && meta.leader ? "current" : "absent";
    return r.offline ? "offline" : r.current === false ? "lagging" : "current";
  };
  return membersOf(config).map((m) => {
    const s = state(m.name);
    return {
      name: m.name,
      route: m.route,
      caHolder: Boolean(m.service),
      joinedAt: m.joinedAt,
      ...(m.certNotAfter ? { certDaysLeft: Math.floor((Date.parse(m.certNotAfter) - now) / 86_400_000) } : {}),
      meta: m.removed ? (s === "absent" ? "removed" : `${s} (removed, still in the meta group)`) : s,
      removed: Boolean(m.removed),
      ...(m.caFingerprint ? { caFingerprint: colonFingerprint(m.caFingerprint) } : {}),
    };
  });
}

/** NO_CA_HOLDER_GRACE_MS is how long check-ins may fail at start before status calls it a problem (six rounds). */
export const NO_CA_HOLDER_GRACE_MS = 30_000;

/** membershipProblems turns the agent's findings into Problems with cause and fix. */
export function membershipProblems(config: UnibusConfig, node = config.node.name): Problem[] {
  if (!config.cluster || !config.tls) return [];
  const state = readMembershipState(config.node.dataDir);
  const out: Problem[] = [];
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
  // coming up is not a problem until it has lasted a few check-in rounds.
  const failingMs = state.checkinFailingSince ? Date.now() - Date.parse(state.checkinFailingSince) : 0;
  if (state.checkinError && !state.lastCheckin && failingMs >= NO_CA_HOLDER_GRACE_MS) {
    out.push({ kind: "no_ca_holder", severity: "degraded", node, cause: `no CA holder answered this node's check-in: ${state.checkinError}`, fix: "start a node that holds the CA key, or open its join port (route port + 1); members learn of new boxes through it" });
  }
  return out;
}
