/**
 * route-auth.ts is the rule for a route secret the peers do not share:
 * nats-server refuses the route with an authentication error.
 */
import { defineRule, describePeer, eventsOf, peersNamedBy, routeSeverity, withEvidence } from "../rule.ts";

/** routeAuthRule reports route_auth_failed from nats-server's authentication errors on routes. */
export const routeAuthRule = defineRule({
  name: "route-auth",
  kinds: ["route_auth_failed"],
  check({ facts: f, fresh, explained }) {
    if (!f.reachable || !f.config.cluster) return [];
    const auth = eventsOf(fresh, "route_auth_failed");
    if (!auth.length) return [];
    const peers = peersNamedBy(f, auth);
    const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : f.missingPeers.join(", ") || `a node at ${auth[0]!.addresses.at(-1) ?? "?"}`;
    for (const p of peers.length ? peers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
    return [withEvidence({
      kind: "route_auth_failed", severity: routeSeverity(f), node: who,
      cause: `route secret mismatch: ${who} and this node do not share the route secret, so nats-server refuses the route (authentication error)`,
      fix: `put the same secret on every node: copy the file named by cluster.secret_file in ${f.config.file} to ${who} (or set $UNIBUS_CLUSTER_SECRET the same everywhere), then restart unibus there`,
    }, auth)];
  },
});
