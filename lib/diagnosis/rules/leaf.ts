/**
 * leaf.ts is the rule for leaf-node uplinks and edges: an uplink that is
 * down says why (the hub's certificate untrusted, its secret refused, or no
 * connection), and a hub names an edge that dials with the wrong secret.
 * nats-server says some leaf causes once, then only "connection closed":
 * while an uplink is down its cause stays known for as long as the node runs,
 * so this rule reads every event, not only the fresh ones.
 */
import { joinHostPort } from "../../config/units.ts";
import { leafUplinks } from "../leaf-uplinks.ts";
import type { NatsEvent } from "../nats-events.ts";
import { defineRule, EVENT_FRESH_MS, eventsOf, withEvidence, type ProblemOf } from "../rule.ts";

type LeafKind = "leaf_down" | "leaf_tls_untrusted" | "leaf_auth_failed";

/** leafRule reports leaf_down, leaf_tls_untrusted and leaf_auth_failed. */
export const leafRule = defineRule({
  name: "leaf",
  kinds: ["leaf_down", "leaf_tls_untrusted", "leaf_auth_failed"],
  check({ facts: f }) {
    const leaf = f.config.leafnodes;
    if (!leaf) return [];
    const events = f.events;
    const out: ProblemOf<LeafKind>[] = [];
    const file = f.config.file;
    const solicited = f.leafs.filter((l) => l.solicited);
    const down = leafUplinks(f).filter((u) => !u.up).length;
    if (f.reachable && down > 0) {
      const tlsEvs = eventsOf(events, "leaf_tls_untrusted");
      // The freshest cause wins: an uplink that failed one way and now fails another says the latter.
      const newest = (evs: NatsEvent[]) => Math.max(0, ...evs.map((e) => e.lastSeen));
      const authEvs = eventsOf(events, "leaf_auth_failed").filter((e) => e.detail.side !== "accepting");
      const connEvs = eventsOf(events, "leaf_connect_failed");
      const up = new Set(solicited.map((l) => l.address));
      const candidates = leaf.remotes.filter((r) => ![...up].some((a) => a === joinHostPort(r.url.host, r.url.port)));
      for (const r of (candidates.length ? candidates : leaf.remotes).slice(0, down)) {
        const mine = (evs: NatsEvent[]) => evs.filter((e) => !e.detail.url || e.detail.url.includes(r.url.host));
        const tls = mine(tlsEvs);
        const auth = mine(authEvs);
        const conn = mine(connEvs);
        const newestTls = newest(tls), newestAuth = newest(auth), newestConn = newest(conn);
        if (tls.length && newestTls >= newestAuth && newestTls >= newestConn) {
          out.push(withEvidence({
            kind: "leaf_tls_untrusted", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.url.text} is down: this node does not trust the hub's certificate (x509: certificate signed by unknown authority)${r.caFile ? `; ${r.caFile} is not the CA that issued it` : "; this remote has no ca_file"}`,
            fix: `copy the hub cluster's CA certificate (its ca.pem) to this node and set ca_file = "/path/to/hub-ca.pem" in the [[leafnodes.remotes]] entry for ${r.url.text} in ${file}, then reload: systemctl reload unibus`,
          }, tls));
        } else if (auth.length && newestAuth >= newestConn) {
          out.push(withEvidence({
            kind: "leaf_auth_failed", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.url.text} is down: the hub refuses this node's user "${r.user}" or secret`,
            fix: `use the hub's leaf secret: set secret_file (or secret_env) in the [[leafnodes.remotes]] entry for ${r.url.text} in ${file} to the hub's [leafnodes] secret, then reload: systemctl reload unibus`,
          }, auth));
        } else {
          const why = conn.at(-1)?.detail.error;
          out.push(withEvidence({
            kind: "leaf_down", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.url.text} is down${why ? `: ${why}` : ""}; local clients still work, messages to and from the hub wait`,
            fix: `check that the hub runs and that ${r.url.host}:${r.url.port} is reachable from this node (url in the [[leafnodes.remotes]] entry of ${file})`,
          }, conn));
        }
      }
    }
    if (leaf.listen) {
      const refused = eventsOf(events, "leaf_auth_failed").filter((e) => e.detail.side === "accepting" && f.now - e.lastSeen <= EVENT_FRESH_MS);
      if (refused.length) {
        const who = [...new Set(refused.flatMap((e) => e.addresses.map((a) => a.replace(/:\d+$/, ""))))].join(", ");
        out.push(withEvidence({
          kind: "leaf_auth_failed", severity: "degraded", node: who,
          cause: `an edge at ${who} tries to connect as a leaf node with a secret or user this hub does not accept`,
          fix: `on that edge, set the [[leafnodes.remotes]] secret to this hub's [leafnodes] secret (from ${file}) and reload it`,
        }, refused));
      }
    }
    return out;
  },
});
