/**
 * cluster-name.ts is the rule for a cluster name that differs between nodes:
 * the peer's own INFO (probe) and nats-server's refusals both say the other
 * name, so the fix names the exact value to write.
 */
import { defineRule, describePeer, eventsOf, peersNamedBy, probeOf, routeSeverity, withEvidence, type ProblemOf } from "../rule.ts";

/** clusterNameRule reports cluster_name_mismatch, on this node (alone against its peers) or on the peers that differ. */
export const clusterNameRule = defineRule({
  name: "cluster-name",
  kinds: ["cluster_name_mismatch"],
  check({ facts: f, fresh, explained }) {
    const cluster = f.config.cluster;
    if (!f.reachable || !cluster) return [];
    const file = f.config.file;
    const nameEvents = eventsOf(fresh, "cluster_name_mismatch");
    const otherName = f.missingPeers.filter((p) => probeOf(f, p)?.cluster !== undefined && probeOf(f, p)!.cluster !== cluster.name);
    if (!nameEvents.length && !otherName.length) return [];
    const out: ProblemOf<"cluster_name_mismatch">[] = [];
    const remoteNames = new Set([...nameEvents.map((e) => e.detail.remote).filter((n): n is string => Boolean(n) && n !== cluster.name), ...otherName.map((p) => probeOf(f, p)!.cluster!)]);
    const peers = [...new Set([...otherName, ...peersNamedBy(f, nameEvents)])];
    const thisNodeAlone = f.routes.length === 0 && f.missingPeers.length === cluster.routes.length && cluster.routes.length > 1;
    if (thisNodeAlone && remoteNames.size === 1) {
      const theirs = [...remoteNames][0]!;
      out.push(withEvidence({
        kind: "cluster_name_mismatch", severity: "broken", node: f.node,
        cause: `cluster name mismatch: this node's cluster is "${cluster.name}" but its peers' is "${theirs}", so every peer refuses its routes`,
        fix: `set cluster.name = "${theirs}" in the [cluster] table of ${file} (the same name on every node), then restart unibus on this node`,
      }, nameEvents));
    } else {
      const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : f.missingPeers.length ? f.missingPeers.join(", ") : "a peer";
      const theirs = remoteNames.size ? [...remoteNames].map((n) => `"${n}"`).join(" or ") : "another name";
      out.push(withEvidence({
        kind: "cluster_name_mismatch", severity: routeSeverity(f), node: who,
        cause: `cluster name mismatch: ${who} calls its cluster ${theirs}, this node calls it "${cluster.name}", so nats-server refuses the route`,
        fix: `on ${who}, set cluster.name = "${cluster.name}" in the [cluster] table of its node.toml (the same name on every node), then restart unibus there`,
      }, nameEvents));
      for (const p of peers.length ? peers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
    }
    if (thisNodeAlone) for (const p of f.missingPeers) explained.add(p);
    return out;
  },
});
