/**
 * fresh-events.ts decides which of nats-server's logged errors still
 * describe the present. An error counts for EVENT_FRESH_MS after it was last
 * seen, unless the node's own state shows it is over sooner: a route (or leaf
 * link) to the same remote came up after the error's last sighting. Health
 * must not name a problem a fix already ended. A peer that now fails for
 * another cause (refused for its secret where its name was refused before)
 * ends the older cause the same way. Where no such evidence exists, the
 * time window is the fallback.
 */
import { isIP } from "node:net";
import type { HealthFacts } from "./facts.ts";
import type { NatsEvent, NatsEventKind } from "./nats-events.ts";
import { EVENT_FRESH_MS } from "./rule.ts";

/** ROUTE_ERROR_KINDS are the errors nats-server logs on route connections; a later route to the same peer ends them. */
const ROUTE_ERROR_KINDS: ReadonlySet<NatsEventKind> = new Set(["cluster_name_mismatch", "duplicate_node_name", "route_tls_untrusted", "route_tls_rejected", "route_tls_other", "route_auth_failed", "route_connect_failed"]);

/**
 * CAUSE_OF groups the route errors by the cause they name (one rule each);
 * a connection failure or an unrecognised TLS error names none.
 */
const CAUSE_OF: Partial<Record<NatsEventKind, string>> = {
  cluster_name_mismatch: "name", duplicate_node_name: "duplicate", route_tls_untrusted: "ca", route_tls_rejected: "ca", route_auth_failed: "secret",
};

/**
 * freshEvents lists the events of `f.events` that still count at `f.now`:
 * seen within EVENT_FRESH_MS and not overtaken by a link that came up later
 * to every remote the error was seen with (see overtaken).
 */
export function freshEvents(f: HealthFacts): NatsEvent[] {
  return f.events.filter((e) => f.now - e.lastSeen <= EVENT_FRESH_MS && !overtaken(f, e));
}

/**
 * overtaken is true when `f` shows `e` is over: for a route error, every
 * connection address it was seen with (ip:port) has a live route that
 * connected after `e.lastSeen`, or a route error naming another cause began
 * from that peer after `e.lastSeen` (so interleaving causes both count); for a leaf secret an accepting hub refused,
 * every address's IP has a live leaf connection and a leaf link came up from
 * one of them after `e.lastSeen`. An error with no address has no such
 * evidence and is never overtaken.
 */
export function overtaken(f: HealthFacts, e: NatsEvent): boolean {
  if (!e.addresses.length) return false;
  if (ROUTE_ERROR_KINDS.has(e.kind)) return e.addresses.every((a) => routeUpAfter(f, a, e.lastSeen) || otherCauseAfter(f, e, a));
  if (e.kind === "leaf_auth_failed" && e.detail.side === "accepting") return leafUpAfter(f, e);
  return false;
}

/**
 * routeUpAfter: a route to the connection at `address` connected after `at`
 * (ms). A dialed route carries the peer's address exactly; a route the peer
 * dialed carries an ephemeral port, so it counts by IP, but only when no
 * missing peer and no other route shares that IP (several nodes on one
 * loopback address cannot be told apart).
 */
function routeUpAfter(f: HealthFacts, address: string, at: number): boolean {
  const later = f.routes.filter((r) => r.since !== undefined && r.since > at);
  if (later.some((r) => r.address === address || r.peer === address)) return true;
  const host = hostOf(address);
  if (!isIP(host)) return false;
  const sameHost = later.filter((r) => hostOf(r.address) === host);
  if (sameHost.length !== 1) return false;
  const othersOnHost = f.routes.filter((r) => r !== sameHost[0] && hostOf(r.address) === host).length + f.missingPeers.filter((p) => hostOf(p) === host).length;
  return othersOnHost === 0;
}

/** otherCauseAfter: a route error naming another cause than `e` was first seen from the peer at `address` after `e` was last seen. */
function otherCauseAfter(f: HealthFacts, e: NatsEvent, address: string): boolean {
  const cause = CAUSE_OF[e.kind];
  return f.events.some((n) => {
    const other = CAUSE_OF[n.kind];
    return other !== undefined && other !== cause && n.firstSeen > e.lastSeen && n.addresses.some((b) => samePeer(f, address, b));
  });
}

/** samePeer: two connection addresses are one peer's: equal, or on one IP that no other configured peer shares. */
function samePeer(f: HealthFacts, a: string, b: string): boolean {
  if (a === b) return true;
  const host = hostOf(a);
  if (!isIP(host) || hostOf(b) !== host) return false;
  const peers = new Set([...f.routes.map((r) => r.peer ?? r.address), ...f.missingPeers]);
  return [...peers].filter((p) => hostOf(p) === host).length <= 1;
}

/** leafUpAfter: every IP the refusal came from has a live leaf, and a leaf link came up from one of them after the refusal. */
function leafUpAfter(f: HealthFacts, e: NatsEvent): boolean {
  const hosts = new Set(e.addresses.map(hostOf));
  const live = new Set(f.leafs.map((l) => hostOf(l.address)));
  if (![...hosts].every((h) => live.has(h))) return false;
  return f.events.some((u) => u.kind === "link_up" && u.detail.via === "leaf" && u.lastSeen > e.lastSeen && hosts.has(hostOf(u.addresses.at(-1) ?? "")));
}

/** hostOf is the host of "ip:port" or "[v6]:port" (lowercase, brackets dropped). */
function hostOf(address: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^(.*):\d+$/.exec(address);
  return (m ? m[1]! : address).toLowerCase();
}
