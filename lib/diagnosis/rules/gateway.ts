/**
 * gateway.ts is the rule for links to other sites ([gateway]): a link that
 * is down is gateway_down, degraded (this site still serves its own clients),
 * and says what a cut means for JetStream in this shape: an independent site
 * keeps all of its own JetStream; in one supercluster the side that lost the
 * meta group's majority cannot make streams, KV buckets or consumers.
 */
import { joinHostPort } from "../../config/units.ts";
import { gatewayLinks, linkAge } from "../gateway-links.ts";
import { defineRule, type ProblemOf } from "../rule.ts";

/** gatewayRule reports gateway_down, one per other site whose link is down. */
export const gatewayRule = defineRule({
  name: "gateway",
  kinds: ["gateway_down"],
  check({ facts: f }) {
    const gw = f.config.gateway;
    if (!gw || !f.reachable) return [];
    const out: ProblemOf<"gateway_down">[] = [];
    for (const link of gatewayLinks(f).filter((l) => !l.up && l.configured && !l.unknown)) {
      const remote = gw.remotes.find((r) => r.name === link.remote);
      const addresses = (remote?.urls ?? []).map((u) => joinHostPort(u.host, u.port)).join(" or ");
      const effect = gw.site !== undefined
        ? `this site (${gw.site}) keeps its own JetStream and clients, but core messages to and from ${link.remote} are dropped, not kept, until it is back`
        : `core messages to and from ${link.remote} are dropped, and JetStream spans both sites: the side without a majority of the meta group cannot create streams, KV buckets or consumers until the link is back (existing streams whose replicas are all on one side keep taking writes there)`;
      const who = link.dials
        ? `check that ${link.remote} runs and that ${addresses} (its [[gateway.remotes]] urls in ${f.config.file}) is reachable from this node`
        : `${link.remote} dials this site: check that it runs and reaches this node's gateway port ${gw.listen.text}`;
      out.push({
        kind: "gateway_down",
        severity: "degraded",
        node: link.remote,
        cause: `the gateway to site ${link.remote} is down${linkAge(link.since, f.now)}; ${effect}`,
        fix: `${who}; both sites need the same gateway secret and certificates from one CA (unibus init cluster --ca DIR)${gw.site === undefined ? `; to keep each site writable through a WAN cut, give each its own JetStream with [gateway] site = "NAME" (README: "Sites")` : ""}`,
      });
    }
    return out;
  },
});
