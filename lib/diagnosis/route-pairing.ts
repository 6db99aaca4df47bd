/**
 * route-pairing.ts matches the routes nats-server reports in /routez with
 * the configured peers (cluster.peers and the members that joined later).
 * The diagnosis needs it to find missing peers and strangers, and
 * `unibus status` to list the routes; it sits here, below both, so neither
 * imports the other.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { HostPort } from "../config/units.ts";
import { joinHostPort } from "../config/units.ts";
import { natsDurationMs } from "../natsd/durations.ts";
import type { RouteInfo } from "../natsd/monitoring-types.ts";

/** RouteStatus is one route of this node, or a configured peer with no route (connected: false). */
export interface RouteStatus {
  /** The remote server_name as the route reported it; for a missing peer the name JetStream last knew, if it can tell. */
  peerName?: string;
  /** The address seen on the route (ip:port), or the configured peer address when not connected. */
  address: string;
  /** The configured peer (cluster.peers entry) this route belongs to; undefined for a route to a stranger. */
  peer?: string;
  /** Round-trip time as nats reports it ("412µs") and in milliseconds. */
  rtt?: string;
  rttMs?: number;
  connected: boolean;
  /** True when this node dialed the route, false when the peer dialed in. */
  solicited?: boolean;
  /** When the route connected (RFC 3339, from /routez). */
  start?: string;
}

/** RoutezRoute is the part of a /routez route that pairing reads. */
export type RoutezRoute = Pick<RouteInfo, "remote_name" | "ip" | "port" | "did_solicit" | "rtt" | "start">;

/** RoutePairing is routes matched with configured peers, and the peers left without a route. */
export interface RoutePairing { routes: RouteStatus[]; missing: string[] }

/**
 * pairRoutes pairs routes with configured peers: a route this node dialed
 * carries the peer's address exactly; a route the peer dialed carries its IP
 * only (the port is ephemeral), so it is matched by IP. Several peers on one
 * IP (a test on loopback) are told apart by count, not identity.
 */
export async function pairRoutes(routes: RoutezRoute[], peers: HostPort[]): Promise<RoutePairing> {
  const ips = await Promise.all(peers.map((p) => addressesOf(p.host)));
  const unmatched = new Set(peers.map((_, i) => i));
  const take = (route: RoutezRoute, exactPort: boolean): number | undefined => {
    for (const i of unmatched) {
      if (ips[i]!.includes(route.ip) && (!exactPort || peers[i]!.port === route.port)) {
        unmatched.delete(i);
        return i;
      }
    }
    return undefined;
  };
  const out: RouteStatus[] = [];
  const ordered = [...routes].sort((a, b) => Number(Boolean(b.did_solicit)) - Number(Boolean(a.did_solicit)));
  for (const route of ordered) {
    const i = take(route, Boolean(route.did_solicit)) ?? take(route, false);
    out.push({
      ...(route.remote_name ? { peerName: route.remote_name } : {}),
      address: joinHostPort(route.ip, route.port),
      ...(i !== undefined ? { peer: peers[i]!.text } : {}),
      ...(route.rtt ? { rtt: route.rtt, rttMs: natsDurationMs(route.rtt) } : {}),
      connected: true,
      solicited: Boolean(route.did_solicit),
      ...(route.start ? { start: route.start } : {}),
    });
  }
  return { routes: out, missing: [...unmatched].map((i) => peers[i]!.text) };
}

async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host)) return [host.toLowerCase()];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address.toLowerCase());
  } catch {
    return [];
  }
}
