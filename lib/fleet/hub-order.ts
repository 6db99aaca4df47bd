/**
 * hub-order.ts gives each edge its own order of the hub nodes it may dial:
 * rendezvous (highest random weight) hashing of the edge's name with each
 * hub address. Every edge gets a first choice of its own (its home hub
 * node), so a fleet spreads across the hub nodes without anyone counting;
 * when a hub node is lost, each of its edges falls to its own second choice,
 * so they spread over the survivors instead of piling onto one; and the
 * order depends on nothing but the name and the address list, so an edge
 * computes the same home after every restart.
 *
 * Hashing alone is uneven for small fleets (12 edges on 3 nodes: the fullest
 * node has 6 in the median case, 8 in one of twenty), so a hub that enrolls
 * edges also gives each new edge a home (`assignHome`, bounded loads: its
 * own first choice unless that node already has its fair share), written
 * into the edge's config as `home`; `uplinkOrder` puts it first.
 */
import { createHash } from "node:crypto";
import { joinHostPort } from "../config/units.ts";

/** HubAddress is the part of a hub URL the order is computed from (scheme and credentials do not matter). */
export interface HubAddress { host: string; port: number }

/** rendezvousWeight is the weight of one hub address for one edge: 48 bits of sha256 over both. */
export function rendezvousWeight(edge: string, hub: HubAddress): number {
  const digest = createHash("sha256").update(`${edge}\n${joinHostPort(hub.host.toLowerCase(), hub.port)}`).digest();
  return digest.readUIntBE(0, 6);
}

/**
 * hubOrder lists the hub addresses in the order edge `edge` dials them:
 * heaviest first (its home), ties (equal addresses) kept in the given order.
 * Returns a new array; the input is untouched.
 */
export function hubOrder<T extends HubAddress>(edge: string, hubs: readonly T[]): T[] {
  return hubs.map((h, i) => ({ h, i, w: rendezvousWeight(edge, h) })).sort((a, b) => b.w - a.w || a.i - b.i).map((x) => x.h);
}

/** sameHub tells whether two hub addresses name the same host and port (host case-insensitive). */
export function sameHub(a: HubAddress, b: HubAddress): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

/**
 * uplinkOrder is the order edge `edge` dials its remote's hub addresses:
 * its home first when it has one among them (given by the hub at
 * enrollment, `home` in the remote), then the rest in hubOrder; hubOrder
 * alone without a home or with a home that is not in the list.
 */
export function uplinkOrder<T extends HubAddress>(edge: string, hubs: readonly T[], home?: HubAddress): T[] {
  const order = hubOrder(edge, hubs);
  const i = home ? order.findIndex((h) => sameHub(h, home)) : -1;
  return i <= 0 ? order : [order[i]!, ...order.slice(0, i), ...order.slice(i + 1)];
}

/**
 * assignHome gives a newly enrolled edge its home hub node: the first of its
 * own order (hubOrder) whose load is under the fair share ceil((n + 1) / m),
 * where n edges are placed already (`others`: each with its given home, or
 * without one its hashed home) and m hub addresses exist. A fleet enrolled
 * one by one thus stays within one edge of even, and most edges still get
 * their own first choice. Throws on an empty hub list.
 */
export function assignHome<T extends HubAddress>(edge: string, hubs: readonly T[], others: readonly { name: string; home?: HubAddress }[]): T {
  if (hubs.length === 0) throw new Error("assignHome: no hub addresses");
  const load = new Map<T, number>(hubs.map((h) => [h, 0]));
  for (const o of others) {
    const at = uplinkOrder(o.name, hubs, o.home)[0]!;
    load.set(at, load.get(at)! + 1);
  }
  const share = Math.ceil((others.length + 1) / hubs.length);
  return hubOrder(edge, hubs).find((h) => load.get(h)! < share)!;
}
