/**
 * certificate.tsx is the certificate panel: the node certificate's subject,
 * issuer, SANs and expiry (warned about CERT_WARN_DAYS before, lib/pki/expiry.ts),
 * and the fingerprint of the CA this node trusts.
 */
import { certificateExpiry, type NodeIdentity } from "../../pki/index.ts";
import { overviewPanel } from "../panel.ts";
import { Row } from "./_parts.tsx";

/** CertView is what the certificate panel shows (and /api/certificate serves). */
export interface CertView {
  present: boolean;
  subject?: string;
  issuer?: string;
  sans?: string[];
  notAfter?: string;
  daysLeft?: number;
  renewAt?: string;
  warning?: string;
  /** True once notAfter has passed. */
  expired?: boolean;
  /** SHA-256 fingerprint of the CA this node trusts; the same on every node of a cluster. */
  caFingerprint?: string;
}

/** certView builds the certificate panel's view from the node identity. */
export function certView(id: NodeIdentity | undefined, now = Date.now()): CertView {
  if (!id) return { present: false };
  const { daysLeft, expired, expiresSoon } = certificateExpiry(id.notAfter, now);
  const warning = expired ? `EXPIRED on ${id.notAfter.toISOString().slice(0, 10)} (${Math.max(0, -daysLeft)} days ago)`
    : expiresSoon ? `the certificate expires in ${daysLeft} days` : undefined;
  return {
    present: true,
    subject: id.subject,
    issuer: id.issuer,
    sans: id.sans,
    notAfter: id.notAfter.toISOString(),
    daysLeft,
    renewAt: id.renewAt.toISOString(),
    ...(expired ? { expired: true } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** certificatePanel shows the node certificate and the CA it trusts. */
export const certificatePanel = overviewPanel({
  id: "certificate",
  title: "Certificate",
  view: (i): CertView => {
    const c = certView(i.identity, i.now);
    return i.caFingerprint ? { ...c, caFingerprint: i.caFingerprint } : c;
  },
  render: (c) => (
    <>
      <h2>Certificate</h2>
      {!c.present ? <p class="muted">No [tls] configured: clients connect without TLS.</p> : (
        <>
          {c.warning ? <p class="error warn" role="alert">{c.warning}</p> : null}
          <table>
            <Row k="subject">{c.subject}</Row>
            <Row k="issuer">{c.issuer}</Row>
            <Row k="SANs">{(c.sans ?? []).join(", ")}</Row>
            <Row k="expires">{c.notAfter} <span id="cert-days" class={c.warning ? "bad" : "ok"}>{c.expired ? `(EXPIRED ${-(c.daysLeft ?? 0)} days ago)` : `(${c.daysLeft} days left)`}</span></Row>
            <Row k="renews from">{c.renewAt}</Row>
            {c.caFingerprint ? <Row k="CA (SHA-256)"><code id="ca-fingerprint">{c.caFingerprint}</code> <span class="muted">the same on every node</span></Row> : null}
          </table>
        </>
      )}
    </>
  ),
});
