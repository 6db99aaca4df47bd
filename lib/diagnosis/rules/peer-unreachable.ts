/**
 * peer-unreachable.ts is the rule for the missing peers no earlier rule
 * explained: nothing answers for them, or their route port answers and no
 * route formed yet. It runs after the route-cause rules.
 */
import { defineRule, describePeer, eventsOf, probeOf, routeSeverity, withEvidence } from "../rule.ts";

/** peerUnreachableRule reports peer_unreachable for each missing peer left unexplained. */
export const peerUnreachableRule = defineRule({
  name: "peer-unreachable",
  kinds: ["peer_unreachable"],
  check({ facts: f, fresh, explained }) {
    if (!f.reachable || !f.config.cluster) return [];
    const connectErrors = eventsOf(fresh, "route_connect_failed");
    return f.missingPeers.filter((p) => !explained.has(p)).map((peer) => {
      const probe = probeOf(f, peer);
      const evs = connectErrors.filter((e) => e.addresses.includes(peer));
      const why = probe && !probe.reachable ? `: ${probe.error}` : probe?.reachable ? " (its route port answers, but no route formed yet)" : evs[0]?.detail.error ? `: ${evs[0].detail.error}` : "";
      return withEvidence({
        kind: "peer_unreachable" as const, severity: routeSeverity(f), node: describePeer(f, peer),
        cause: `no route to peer ${describePeer(f, peer)}${why}`,
        fix: `make sure unibus runs there (systemctl status unibus), that its route port ${peer.replace(/^.*:/, "")} is reachable from this node, and that cluster.peers in ${f.config.file} lists its right address`,
      }, evs);
    });
  },
});
