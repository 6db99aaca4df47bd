/**
 * ca-mismatch.ts is the rule for certificates from another CA: this node
 * distrusts a peer's certificate, or the peer distrusts this node's, so the
 * route fails TLS. Alone against every peer, this node is the odd one.
 */
import { defineRule, describePeer, eventsOf, peersNamedBy, probeOf, routeSeverity, withEvidence } from "../rule.ts";

/** caMismatchRule reports ca_mismatch from TLS refusals and from probes that do not trust the peer. */
export const caMismatchRule = defineRule({
  name: "ca-mismatch",
  kinds: ["ca_mismatch"],
  check({ facts: f, fresh, explained }) {
    const cluster = f.config.cluster;
    if (!f.reachable || !cluster) return [];
    const file = f.config.file;
    const untrusted = eventsOf(fresh, "route_tls_untrusted");
    const rejected = eventsOf(fresh, "route_tls_rejected");
    const otherCa = f.missingPeers.filter((p) => probeOf(f, p)?.trusted === false);
    if (!untrusted.length && !rejected.length && !otherCa.length) return [];
    const subjects = [...new Set(untrusted.map((e) => /\((CN=[^ ;,)]+)/.exec(e.text)?.[1]).filter(Boolean))];
    const peers = [...new Set([...otherCa, ...peersNamedBy(f, [...untrusted, ...rejected])])];
    const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : subjects.length ? subjects.join(", ") : f.missingPeers.join(", ") || "a peer";
    const fp = f.certificate?.caFingerprint ? ` (this node's CA: SHA-256 ${f.certificate.caFingerprint})` : "";
    const alone = f.routes.length === 0 && cluster.routes.length > 1;
    for (const p of peers.length ? peers : alone ? f.missingPeers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
    return [withEvidence({
      kind: "ca_mismatch", severity: alone ? "broken" : routeSeverity(f), node: alone ? f.node : who,
      cause: alone
        ? `certificate authority mismatch: this node's CA differs from its peers'${fp}; every route fails TLS (x509: certificate signed by unknown authority)`
        : `certificate authority mismatch: ${who} presents a certificate from a different CA than this node's${fp}; the route fails TLS (unknown authority)`,
      fix: alone
        ? `give this node the cluster's CA: copy ca.pem (and ca-key.pem) from a working node to the files named by tls.ca_cert / tls.ca_key in ${file}, delete ${f.config.node.dataDir}/tls/node.pem and node-key.pem, restart unibus; 'unibus status' shows each node's CA fingerprint, which must match`
        : `on ${who}, set tls.ca_cert (and tls.ca_key) to the cluster's CA, delete its <data_dir>/tls/node.pem and node-key.pem so a certificate is issued from the right CA, and restart unibus there; 'unibus status' on each node shows the CA fingerprint, which must match${fp ? ` ${f.certificate!.caFingerprint!.slice(0, 23)}…` : ""}`,
    }, [...untrusted, ...rejected])];
  },
});
