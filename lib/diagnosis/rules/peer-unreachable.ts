/**
 * peer-unreachable.ts is the rule for the missing peers no earlier rule
 * explained: nothing answers for them, or their route port answers and no
 * route formed yet. It runs after the route-cause rules.
 */
import { defineRule, describePeer, eventsOf, probeOf, routeSeverity, withEvidence } from "../rule.ts";
import { clusterQuorum } from "../quorum.ts";

/** membersAt names the members (not removed) whose route is the address peer. */
function membersAt(members: readonly { name: string; route: string; removed?: boolean }[], peer: string): string[] {
  return members.filter((m) => !m.removed && m.route.toLowerCase() === peer.toLowerCase()).map((m) => m.name).sort();
}

/** peerUnreachableRule reports peer_unreachable for each missing peer left unexplained. */
export const peerUnreachableRule = defineRule({
  name: "peer-unreachable",
  kinds: ["peer_unreachable"],
  check({ facts: f, fresh, explained }) {
    if (!f.reachable || !f.config.cluster) return [];
    const connectErrors = eventsOf(fresh, "route_connect_failed");
    const majority = clusterQuorum(f).majority;
    return f.missingPeers.filter((p) => !explained.has(p)).map((peer) => {
      const probe = probeOf(f, peer);
      const evs = connectErrors.filter((e) => e.addresses.includes(peer));
      const why = probe && !probe.reachable ? `: ${probe.error}` : probe?.reachable ? " (its route port answers, but no route formed yet)" : evs[0]?.detail.error ? `: ${evs[0].detail.error}` : "";
      const label = describePeer(f, peer);
      // The members list knows who should answer there; a probe that got no INFO cannot name it.
      const members = label === peer ? membersAt(f.members, peer) : [];
      const whose = members.length ? ` (member ${members.join(" or ")} in the members list)` : "";
      // Without a majority there is no meta leader, and unibus remove refuses: the way out for members gone for good is recover.
      const gone = !members.length ? "" : majority
        ? `; if ${members.join(" or ")} will not come back (a dead box, or a \`unibus join --out\` never installed): unibus remove ${members[0]}`
        : `; this node has lost its majority, so unibus remove cannot take ${members.join(" or ")} out: if the missing members will not come back, run sudo unibus recover on this box (a cluster of one with its data; it says what is lost first)`;
      return withEvidence({
        kind: "peer_unreachable" as const, severity: routeSeverity(f), node: label,
        cause: `no route to peer ${label}${whose}${why}`,
        fix: `make sure unibus runs there (systemctl status unibus), that its route port ${peer.replace(/^.*:/, "")} is reachable from this node, and that cluster.peers in ${f.config.file} lists its right address${gone}`,
      }, evs);
    });
  },
});
