/**
 * stranger-route.ts is the rule for a live route to a server that is not in
 * cluster.peers nor a member: a node that should be listed, or one that
 * should not be here.
 */
import { defineRule } from "../rule.ts";

/** strangerRouteRule reports stranger_route for each route paired with no configured peer. */
export const strangerRouteRule = defineRule({
  name: "stranger-route",
  kinds: ["stranger_route"],
  check({ facts: f }) {
    if (!f.reachable || !f.config.cluster) return [];
    return f.strangers.map((r) => ({
      kind: "stranger_route" as const, severity: "degraded" as const, node: r.name ?? r.address,
      cause: `a route to ${r.name ?? "?"} at ${r.address} is up, but that address is not in cluster.peers`,
      fix: `add its address to cluster.peers in ${f.config.file} (every node lists every node), or remove that node if it should not be here`,
    }));
  },
});
