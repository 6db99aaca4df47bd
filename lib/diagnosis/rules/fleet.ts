/**
 * fleet.ts is the rule for a hub's edges: an expected edge (enrolled, or a
 * [[leafnodes.users]] entry) that no hub node has a leaf connection from is
 * named. Degraded, never broken: a fleet of 48 with one box unplugged is a
 * working hub with one problem to look at.
 */
import { defineRule } from "../rule.ts";

/** fleetRule reports edge_missing, one problem per missing edge. */
export const fleetRule = defineRule({
  name: "fleet",
  kinds: ["edge_missing"],
  check({ facts: f }) {
    const view = f.fleet;
    if (!view || view.error || !f.reachable) return [];
    const rows = view.rows.filter((r) => r.via !== "secret");
    const missing = rows.filter((r) => !r.connected);
    return missing.map((r) => ({
      kind: "edge_missing" as const, severity: "degraded" as const, node: r.name,
      cause: `edge ${r.name} (${r.via === "enrolled" ? "enrolled" : "a [[leafnodes.users]] entry"}) is not connected to any hub node (${view.hubNodes.join(", ") || "?"}); ${rows.length - missing.length} of ${rows.length} expected edges are`,
      fix: `on ${r.name}: is it powered and on the network, and what does unibus status say there (its leaf uplink names the cause)? If the edge is retired: ${r.via === "enrolled" ? `unibus edge remove ${r.name}` : `remove its [[leafnodes.users]] entry from ${f.config.file} and reload`}`,
    }));
  },
});
