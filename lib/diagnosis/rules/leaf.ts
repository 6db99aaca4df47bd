/**
 * leaf.ts is the rule for leaf-node uplinks and edges: an uplink that is
 * down says why (the hub's certificate untrusted, its secret refused, or no
 * connection), and a hub names an edge that dials with the wrong secret.
 * nats-server says some leaf causes once, then only "connection closed":
 * while an uplink is down its cause stays known for as long as the node runs,
 * so this rule reads every event, not only the fresh ones.
 */
import { joinHostPort } from "../../config/units.ts";
import { uplinkCaFile } from "../../config/section-leafnodes.ts";
import { pairUplinks } from "../leaf-uplinks.ts";
import type { NatsEvent } from "../nats-events.ts";
import { defineRule, EVENT_FRESH_MS, eventsOf, withEvidence, type ProblemOf } from "../rule.ts";

type LeafKind = "leaf_down" | "leaf_tls_untrusted" | "leaf_auth_failed";

/** leafRule reports leaf_down, leaf_tls_untrusted and leaf_auth_failed. */
export const leafRule = defineRule({
  name: "leaf",
  kinds: ["leaf_down", "leaf_tls_untrusted", "leaf_auth_failed"],
  check({ facts: f, fresh }) {
    const leaf = f.config.leafnodes;
    if (!leaf) return [];
    const events = f.events;
    const out: ProblemOf<LeafKind>[] = [];
    const file = f.config.file;
    const downRemotes = pairUplinks(leaf.remotes, f.leafs).filter((p) => !p.connection).map((p) => p.remote);
    if (f.reachable && downRemotes.length > 0) {
      const tlsEvs = eventsOf(events, "leaf_tls_untrusted");
      // The freshest cause wins: an uplink that failed one way and now fails another says the latter.
      const newest = (evs: NatsEvent[]) => Math.max(0, ...evs.map((e) => e.lastSeen));
      const authEvs = eventsOf(events, "leaf_auth_failed").filter((e) => e.detail.side !== "accepting");
      const connEvs = eventsOf(events, "leaf_connect_failed");
      for (const r of downRemotes) {
        const mine = (evs: NatsEvent[]) => evs.filter((e) => !e.detail.url || r.urls.some((u) => e.detail.url!.includes(u.host)));
        const tls = mine(tlsEvs);
        const auth = mine(authEvs);
        const conn = mine(connEvs);
        const newestTls = newest(tls), newestAuth = newest(auth), newestConn = newest(conn);
        if (f.edgeRemoved && r.nkey) {
          // Its hub nodes refuse its key; the ones that are down answer "no route", which is fresher but not the cause.
          out.push(withEvidence({
            kind: "leaf_auth_failed", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.label} is down: the hub removed this edge (unibus edge remove on a hub node), so every hub node refuses its key`,
            fix: `if that was a mistake, enroll it again: on a hub CA holder sudo unibus token create --edge, then here: unibus join ADDR --token TOKEN --edge --name ${f.node} --replace --force; if the edge is retired: sudo ./install.sh --uninstall`,
          }, auth));
        } else if (tls.length && newestTls >= newestAuth && newestTls >= newestConn) {
          out.push(withEvidence({
            kind: "leaf_tls_untrusted", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.label} is down: this node does not trust the hub's certificate (x509: certificate signed by unknown authority)${r.caFile ? `; ${uplinkCaFile(f.config, r)} is not the CA that issued it` : "; this remote has no ca_file"}`,
            fix: r.certFile
              ? `this edge takes the hub's CAs at its check-ins with the hub's CA holders (a CA rotation): see the "hub check-in" line of unibus status; if the hub finished a rotation while this edge was away, enroll it again: unibus join ADDR --token TOKEN --edge --name ${f.node} --replace --force`
              : `copy the hub cluster's CA certificate (its ca.pem) to this node and set ca_file = "/path/to/hub-ca.pem" in the [[leafnodes.remotes]] entry for ${r.label} in ${file}, then reload: systemctl reload unibus`,
          }, tls));
        } else if (auth.length && newestAuth >= newestConn) {
          out.push(withEvidence({
            kind: "leaf_auth_failed", severity: "degraded", node: f.node,
            cause: r.nkey
              ? `the leaf uplink to ${r.label} is down: the hub refuses this edge's own key (nkey_file)`
              : `the leaf uplink to ${r.label} is down: the hub refuses this node's user "${r.user}" or secret`,
            // An enrolled edge has no secret to set: its key reaches every hub node within seconds of the join.
            fix: r.nkey
              ? `right after the join this clears by itself within seconds (the hub nodes learn a new edge's key from their CA holders' check-ins); if it stays, the hub removed this edge (unibus edge list on a hub node): enroll it again with a new edge token: unibus join ADDR --token TOKEN --edge --name ${f.node} --replace --force`
              : `use the hub's leaf secret: set secret_file (or secret_env) in the [[leafnodes.remotes]] entry for ${r.label} in ${file} to the hub's [leafnodes] secret, then reload: systemctl reload unibus`,
          }, auth));
        } else {
          const why = conn.at(-1)?.detail.error;
          out.push(withEvidence({
            kind: "leaf_down", severity: "degraded", node: f.node,
            cause: `the leaf uplink to ${r.label} is down${why ? `: ${why}` : ""}; local clients still work, but core NATS messages to and from the hub are dropped, not kept, until it is back`,
            fix: `check that the hub runs and that ${r.urls.map((u) => joinHostPort(u.host, u.port)).join(" or ")} is reachable from this node (urls in the [[leafnodes.remotes]] entry of ${file}); for data that must reach the hub across outages, publish it into a JetStream stream on this edge that the hub sources (store and forward)`,
          }, conn));
        }
      }
    }
    if (leaf.listen) {
      let refused = eventsOf(fresh, "leaf_auth_failed").filter((e) => e.detail.side === "accepting");
      // An edge removed with unibus edge remove that still dials in: nats names its key, the hub knows whose it was.
      // It is refused as asked; what is left to do is on that box, not "enroll again" or a secret.
      const ipOf = (a: string) => a.replace(/:\d+$/, "");
      for (const gone of f.removedEdges ?? []) {
        const named = refused.filter((e) => e.detail.nkey === gone.nkey);
        if (!named.length) continue;
        const ips = new Set(named.flatMap((e) => e.addresses.map(ipOf)));
        // The same connections' "connection closed: Authentication Failure" lines name no key: they are this edge's too.
        refused = refused.filter((e) => e.detail.nkey !== gone.nkey && !(e.detail.nkey === undefined && e.addresses.length > 0 && e.addresses.every((a) => ips.has(ipOf(a)))));
        out.push(withEvidence({
          kind: "leaf_auth_failed", severity: "degraded", node: gone.name,
          cause: `edge "${gone.name}"${ips.size ? ` at ${[...ips].join(", ")}` : ""} was removed (unibus edge remove) and still dials this hub with its old key; every hub node refuses it`,
          fix: `if it is retired, stop it on that box: sudo systemctl disable --now unibus (or sudo ./install.sh --uninstall); if it should come back, enroll it again: on a hub CA holder sudo unibus token create --edge, then on the edge: unibus join ADDR --token TOKEN --edge --name ${gone.name} --replace --force (this clears ${EVENT_FRESH_MS / 1000} s after its last try)`,
        }, named));
      }
      if (refused.length) {
        const who = [...new Set(refused.flatMap((e) => e.addresses.map((a) => a.replace(/:\d+$/, ""))))].join(", ");
        out.push(withEvidence({
          kind: "leaf_auth_failed", severity: "degraded", node: who,
          cause: `an edge at ${who} tries to connect as a leaf node with a secret or user this hub does not accept`,
          fix: leaf.enroll
            ? `an edge enrolled moments ago is refused until this node learns its key from the CA holders' check-ins (seconds; this clears when its leaf connects, or ${EVENT_FRESH_MS / 1000} s after the last refusal); otherwise: an edge removed with unibus edge remove (unibus edge list) must enroll again, and a hand-configured edge needs this hub's [leafnodes] secret (from ${file}) in its [[leafnodes.remotes]] entry`
            : `on that edge, set the [[leafnodes.remotes]] secret to this hub's [leafnodes] secret (from ${file}) and reload it`,
        }, refused));
      }
    }
    return out;
  },
});
