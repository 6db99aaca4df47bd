/**
 * quorum.ts decides, once for every surface, how big this node's cluster
 * should be, how many of its peers it reaches and whether that is a
 * majority: `unibus status` and the diagnosis rate route problems by it,
 * /readyz and unibus_ready decide on it, and the page's cluster panel and
 * /metrics show its numbers.
 */
import type { HealthFacts } from "./facts.ts";

/** Quorum is this node's share of its cluster. */
export interface Quorum {
  /** True when the node belongs to a cluster of more than one node. */
  clustered: boolean;
  /** Nodes the cluster should have, this one included (cluster.peers and the members that joined). */
  size: number;
  /** Configured peers this node has a live route to (routes to strangers do not count). */
  reached: number;
  /** Peers this node must reach so that it and they are a majority. */
  need: number;
  /** True when reached ≥ need. */
  majority: boolean;
}

/** majorityOf is how many of `size` nodes make a majority (RAFT's quorum). */
export function majorityOf(size: number): number {
  return Math.floor(size / 2) + 1;
}

/** clusterQuorum reads the Quorum from the facts the diagnosis is made of. */
export function clusterQuorum(f: HealthFacts): Quorum {
  const size = f.config.cluster ? f.config.cluster.routes.length + 1 : Math.max(1, f.meta?.clusterSize ?? 1);
  const reached = f.routes.filter((r) => !f.strangers.includes(r)).length;
  const need = majorityOf(size) - 1;
  return { clustered: size > 1, size, reached, need, majority: reached >= need };
}
