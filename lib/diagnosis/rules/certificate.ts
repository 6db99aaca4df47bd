/**
 * certificate.ts is the rule for the node certificate: unreadable, expired
 * or expiring, with the renewal path that fits this node (it renews through
 * a CA holder, issues its own, or needs one issued by hand).
 */
import { certificateExpiry } from "../../pki/index.ts";
import { defineRule } from "../rule.ts";

/** certificateRule reports certificate_unreadable, certificate_expired and certificate_expiring. */
export const certificateRule = defineRule({
  name: "certificate",
  kinds: ["certificate_unreadable", "certificate_expired", "certificate_expiring"],
  check({ facts: f }) {
    const c = f.certificate;
    if (!c) return [];
    const file = f.config.file;
    if (c.error) return [{ kind: "certificate_unreadable", severity: "broken", node: f.node, cause: c.error, fix: `check [tls] in ${file}; with ca_key, restarting unibus issues a new node certificate` }];
    if (c.daysLeft === undefined) return [];
    const renew = c.selfRenewing && !f.config.tls?.caKey
      ? "this member renews it through a CA holder by itself (a third of its lifetime before expiry); if it does not, make a CA holder reachable on its join port (route port + 1)"
      : c.selfRenewing
      ? `restart unibus on this node: it issues a new certificate from the CA in ${c.caFile} (the CA key is configured)`
      : `issue a new one where the CA key is (unibus cert issue --ca DIR --name ${f.node} --out DIR), copy it here and point tls.cert / tls.key in ${file} at it, then restart unibus`;
    const expiry = certificateExpiry(Date.parse(c.notAfter!), f.now);
    if (expiry.expired) {
      return [{
        kind: "certificate_expired", severity: "broken", node: f.node,
        cause: `the node certificate ${c.file} EXPIRED on ${c.notAfter!.slice(0, 10)} (${-c.daysLeft} days ago): peers and TLS clients refuse it`,
        fix: renew,
      }];
    }
    if (expiry.expiresSoon) {
      return [{
        kind: "certificate_expiring", severity: "degraded", node: f.node,
        cause: `the node certificate ${c.file} expires on ${c.notAfter!.slice(0, 10)} (${c.daysLeft} days left)${c.selfRenewing ? " and has not been renewed" : " and this node cannot renew it (no ca_key)"}`,
        fix: renew,
      }];
    }
    return [];
  },
});
