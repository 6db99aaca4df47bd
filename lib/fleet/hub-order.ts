/**
 * hub-order.ts gives each edge its own order of the hub nodes it may dial:
 * rendezvous (highest random weight) hashing of the edge's name with each
 * hub address. Every edge gets a first choice of its own (its home hub
 * node), so a fleet spreads across the hub nodes without anyone counting;
 * when a hub node is lost, each of its edges falls to its own second choice,
 * so they spread over the survivors instead of piling onto one; and the
 * order depends on nothing but the name and the address list, so an edge
 * computes the same home after every restart and no hub has to tell it.
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
