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
 * into the edge's config as `home`, and a second choice among the edges of
 * that home (`assignFallback`, the same bound), written as `fallback`: a
 * lost node's edges then split evenly over the survivors (hashing alone put
 * all four of one node's edges on the same survivor in one of eight fleets).
 * `uplinkOrder` puts home first and fallback second.
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
 * enrollment, `home` in the remote), its fallback next when it has one
 * among them other than home (`fallback`), then the rest in hubOrder;
 * hubOrder alone without either, or with ones that are not in the list.
 */
export function uplinkOrder<T extends HubAddress>(edge: string, hubs: readonly T[], home?: HubAddress, fallback?: HubAddress): T[] {
  const order = hubOrder(edge, hubs);
  const first = home ? order.find((h) => sameHub(h, home)) : undefined;
  const second = fallback ? order.find((h) => h !== first && sameHub(h, fallback)) : undefined;
  const picked = [first, second].filter((h): h is T => h !== undefined);
  return [...picked, ...order.filter((h) => !picked.includes(h))];
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

/**
 * assignFallback gives a newly enrolled edge its second choice once its home
 * is known: the first of its own order (hubOrder) other than home whose
 * load is under the fair share ceil((k + 1) / (m - 1)), where the load
 * counts the k placed edges with the same home by their second choice
 * (uplinkOrder with their given home and fallback) and m hub addresses
 * exist. When that home is lost its edges thus spread within one of even
 * over the others. undefined with fewer than two hub addresses.
 */
export function assignFallback<T extends HubAddress>(edge: string, hubs: readonly T[], home: HubAddress, others: readonly { name: string; home?: HubAddress; fallback?: HubAddress }[]): T | undefined {
  const rest = hubs.filter((h) => !sameHub(h, home));
  if (rest.length === 0) return undefined;
  const load = new Map<T, number>(rest.map((h) => [h, 0]));
  let k = 0;
  for (const o of others) {
    const [first, second] = uplinkOrder(o.name, hubs, o.home, o.fallback);
    if (!first || !sameHub(first, home) || !second) continue;
    k++;
    load.set(second, (load.get(second) ?? 0) + 1);
  }
  const share = Math.ceil((k + 1) / rest.length);
  return hubOrder(edge, rest).find((h) => load.get(h)! < share)!;
}
