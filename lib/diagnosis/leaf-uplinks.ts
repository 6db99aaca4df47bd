/**
 * leaf-uplinks.ts says which leaf uplinks ([[leafnodes.remotes]]) are up and
 * which hub node each one is actually connected to, once for `unibus
 * status`, the diagnosis, the page and /metrics. nats moves an uplink to
 * any node of the hub cluster (the remote's urls and the leaf addresses the
 * hub gossips), so the configured URL says little about where it is.
 */
import type { HealthFacts, LeafFact } from "./facts.ts";
import type { LeafRemote } from "../config/section-leafnodes.ts";
import { joinHostPort } from "../config/units.ts";
import { isIP } from "node:net";
import { uplinkOrder } from "../fleet/hub-order.ts";

/**
 * LeafUplink is one [[leafnodes.remotes]] entry (url: its hub addresses as
 * configured) and whether its connection is up; when up, hub is the hub
 * node's server name and address where it is connected.
 */
export interface LeafUplink {
  url: string; up: boolean; hub?: string; address?: string; rtt?: string;
  /** With several hub nodes: the one this edge dials first (lib/fleet/hub-order.ts), and whether the uplink is on it (known when home is an IP address). */
  home?: string; atHome?: boolean;
}

/** PairedUplink is a remote with the connection that belongs to it, if any. */
export interface PairedUplink { remote: LeafRemote; connection?: LeafFact }

/**
 * pairUplinks pairs the configured remotes with the connections this node
 * dialed (/leafz's spokes): a connection to one of a remote's addresses is
 * that remote's; nats does not say which remote the others belong to (an
 * address it learned from the hub, a host name resolved), so they go to the
 * remaining remotes in order.
 */
export function pairUplinks(remotes: LeafRemote[], leafs: LeafFact[]): PairedUplink[] {
  const dialed = leafs.filter((l) => l.solicited);
  const taken = new Set<LeafFact>();
  const paired: PairedUplink[] = remotes.map((remote) => {
    const connection = dialed.find((l) => !taken.has(l) && remote.urls.some((u) => joinHostPort(u.host, u.port) === l.address));
    if (connection) taken.add(connection);
    return { remote, ...(connection ? { connection } : {}) };
  });
  const rest = dialed.filter((l) => !taken.has(l));
  for (const p of paired) {
    if (!p.connection && rest.length) p.connection = rest.shift()!;
  }
  return paired;
}

/** leafUplinks is every configured uplink with its state and, when up, the hub node it is on. */
export function leafUplinks(f: HealthFacts): LeafUplink[] {
  return pairUplinks(f.config.leafnodes?.remotes ?? [], f.leafs).map(({ remote, connection: c }) => {
    const first = remote.urls.length > 1 ? uplinkOrder(f.config.node.name, remote.urls, remote.home)[0]! : undefined;
    const home = first && joinHostPort(first.host, first.port);
    return {
      url: remote.label,
      up: Boolean(c),
      ...(c?.name ? { hub: c.name } : {}),
      ...(c ? { address: c.address } : {}),
      ...(c?.rtt ? { rtt: c.rtt } : {}),
      ...(home ? { home } : {}),
      ...(home && c && isIP(first.host) ? { atHome: c.address === home } : {}),
    };
  });
}
