/**
 * gateway-links.ts says, once for `unibus status`, the diagnosis, the page
 * and /metrics, which other sites this node is linked to ([gateway]) and
 * since when each link is up or down. A supercluster's links are nats
 * gateways (/gatewayz, which says since when a connection is up); an
 * independent site's are leaf connections (/leafz, which does not), so the
 * times come from nats's own "connection created / closed" lines the node
 * keeps (nats-events.ts) when /gatewayz cannot say.
 */
import { dialsSite } from "../config/section-gateway.ts";
import type { GatewayRemote } from "../config/section-gateway.ts";
import { joinHostPort } from "../config/units.ts";
import type { HealthFacts, LeafFact } from "./facts.ts";
import type { NatsEvent } from "./nats-events.ts";

/**
 * GatewayLink is this node's link to one other site: `via` "gateway" (one
 * supercluster) or "leaf" (an independent site's leaf link), up or down,
 * and since when (ISO time; absent when this node has not seen it change).
 * `servers` are the other site's servers this node is connected with;
 * `dials` is false when the other site dials this one (independent sites:
 * the site whose name sorts first dials). `unknown` is set when this node
 * cannot tell: the other site dials this cluster, and each of its nodes
 * lands on one member of it, so a member with no link of its own says
 * nothing about the site's (the dialing side, where every node dials, can).
 */
export interface GatewayLink { remote: string; via: "gateway" | "leaf"; up: boolean; since?: string; servers: string[]; dials: boolean; configured: boolean; unknown?: true }

/** hostOf is an address without its port (IPv6 brackets removed). */
const hostOf = (address: string) => address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");

/** newest is the event of `kind` (and via) seen last that `match` accepts, if any. */
function newest(events: NatsEvent[], kind: "link_up" | "link_closed", via: "gateway" | "leaf", match: (e: NatsEvent) => boolean): NatsEvent | undefined {
  return events.filter((e) => e.kind === kind && e.detail.via === via && match(e)).sort((a, b) => b.lastSeen - a.lastSeen)[0];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** gatewayLinks lists every configured remote site (and, in a supercluster, any cluster learned by gossip) with its link's state. */
export function gatewayLinks(f: HealthFacts): GatewayLink[] {
  const gw = f.config.gateway;
  if (!gw) return [];
  return gw.site !== undefined ? siteLinks(f, gw.site, gw.remotes) : superclusterLinks(f, gw.remotes);
}

/** superclusterLinks reads /gatewayz: a remote cluster is reachable when this node holds an outbound gateway to it. */
function superclusterLinks(f: HealthFacts, remotes: GatewayRemote[]): GatewayLink[] {
  const conns = f.gateways ?? [];
  const names = [...remotes.map((r) => r.name), ...conns.map((c) => c.cluster).filter((c) => !remotes.some((r) => r.name === c))];
  return [...new Set(names)].map((remote) => {
    const mine = conns.filter((c) => c.cluster === remote);
    const out = mine.find((c) => c.outbound);
    const up = Boolean(out) && f.reachable;
    const closed = up ? undefined : newest(f.events, "link_closed", "gateway", (e) => e.detail.remote === remote);
    const since = up ? out!.start : closed ? iso(closed.lastSeen) : undefined;
    return { remote, via: "gateway", up, ...(since ? { since } : {}), servers: [...new Set(mine.map((c) => c.name).filter((n): n is string => Boolean(n)))].sort(), dials: true, configured: remotes.some((r) => r.name === remote) };
  });
}

/**
 * siteLinks reads /leafz: on an independent site every leaf connection is a
 * site link ([leafnodes] beside site is refused). A connection belongs to
 * the remote whose addresses it uses (this node dialed) or comes from (the
 * other site dialed); when only one remote fits either way, all do.
 */
function siteLinks(f: HealthFacts, site: string, remotes: GatewayRemote[]): GatewayLink[] {
  const dialedRemotes = remotes.filter((r) => dialsSite(site, r.name));
  const waitedRemotes = remotes.filter((r) => !dialsSite(site, r.name));
  return remotes.map((r) => {
    const dials = dialsSite(site, r.name);
    const pool = f.leafs.filter((l) => l.solicited === dials);
    const alone = (dials ? dialedRemotes : waitedRemotes).length === 1;
    const hosts = new Set(r.urls.map((u) => u.host));
    const ours = (l: LeafFact) => alone || (dials ? r.urls.some((u) => joinHostPort(u.host, u.port) === l.address) : hosts.has(hostOf(l.address)));
    const links = f.reachable ? pool.filter(ours) : [];
    const up = links.length > 0;
    const fits = (e: NatsEvent) => alone || e.addresses.some((a) => hosts.has(hostOf(a)));
    const change = newest(f.events, up ? "link_up" : "link_closed", "leaf", fits);
    const unknown = !up && !dials && Boolean(f.config.cluster?.routes.length);
    return { remote: r.name, via: "leaf", up, ...(change ? { since: iso(change.lastSeen) } : {}), servers: [...new Set(links.map((l) => l.name).filter((n): n is string => Boolean(n)))].sort(), dials, configured: true, ...(unknown ? { unknown: true as const } : {}) };
  });
}

/** linkAge is "since 12:03:04Z (5 min)"-style text for a link's since, or "" when unknown. */
export function linkAge(since: string | undefined, now: number): string {
  if (!since) return "";
  const ms = Math.max(0, now - Date.parse(since));
  const s = Math.round(ms / 1000);
  const age = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return ` since ${since.replace(/\.\d+Z$/, "Z")} (${age})`;
}
