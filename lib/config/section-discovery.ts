/**
 * section-discovery.ts (a helper of the [client] and [cluster] sections, not a table) decides which client URL a node of a cluster tells
 * clients about, so a client given one node's address learns the others
 * (nats's INFO `connect_urls`) and survives that node going down.
 *
 * nats-server on its own advertises every address of every interface when
 * the client port listens on all of them, Docker bridges and VPN tunnels
 * included; unibus instead advertises one URL per node built from the
 * address the cluster knows it by (cluster.self: its peers entry or
 * cluster.advertise, which the node certificate covers), or from
 * client.advertise when clients reach the node some other way (NAT).
 * A node whose client port is on loopback while its peers are not cannot be
 * reached by other hosts' clients, so it advertises nothing.
 */
import { parsed } from "./_parsed.ts";
import type { ConfigIssue } from "./section.ts";
import type { UnibusConfig } from "./config-types.ts";
import { isLoopback, isWildcard, joinHostPort, parsePeer, type HostPort } from "./units.ts";

/** clientAdvertiseValue is `[client] advertise = "host:port"`: the address clients of other nodes should dial. */
export const clientAdvertiseValue = parsed<HostPort>(parsePeer);

/** ClientDiscovery is what the node advertises to clients: a host:port, or nothing. */
export interface ClientDiscovery { advertise?: string; why: string }

/** clientDiscovery computes the advertised client URL of a node (undefined outside a cluster means nats's default). */
export function clientDiscovery(config: UnibusConfig): ClientDiscovery {
  const listen = config.client.listen;
  if (config.client.advertise) return { advertise: config.client.advertise.text, why: "client.advertise" };
  const self = config.cluster?.self;
  if (!config.cluster) return { why: "no [cluster]: there are no other nodes to tell clients about" };
  if (!isWildcard(listen.host)) {
    if (isLoopback(listen.host) && self && !isLoopback(self.host)) return { why: `client.listen is on loopback (${listen.text}): clients of other hosts cannot reach this node` };
    return { advertise: joinHostPort(listen.host, listen.port), why: "client.listen" };
  }
  if (!self) return { why: "this node's own address is unknown (see cluster.peers / cluster.advertise)" };
  return { advertise: joinHostPort(self.host, listen.port), why: `the node's cluster address (${config.cluster.selfFrom === "advertise" ? "cluster.advertise" : "its cluster.peers entry"}) with the client port` };
}

/** checkDiscovery: client.advertise must name a port clients can dial. */
export function checkDiscovery(config: UnibusConfig): ConfigIssue[] {
  const adv = config.client.advertise;
  if (adv && isWildcard(adv.host)) return [{ path: ["client", "advertise"], message: `expected the address clients dial (a host name or IP), got "${adv.text}"` }];
  return [];
}

/** renderDiscovery is nats-server's top-level `client_advertise`, and whether routes gossip client URLs at all. */
export function renderDiscovery(config: UnibusConfig): { clientAdvertise?: string; noAdvertise: boolean } {
  const d = clientDiscovery(config);
  return d.advertise ? { clientAdvertise: d.advertise, noAdvertise: false } : { noAdvertise: true };
}
