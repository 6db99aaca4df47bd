/**
 * cert-files.ts says which certificate a node presents, for the tools that
 * read it from outside the running node (status, diagnosis, remove): a CA
 * holder's own in <data_dir>/tls; a member without the CA key presents the
 * configured one until the agent renews it through a CA holder into
 * <data_dir>/tls, then whichever of the two lives longer (identity.ts decides
 * the same way at start).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { activeTrustFile } from "../pki/index.ts";
import { dataDirLayout } from "../data-dir.ts";

/** presentedCertificate is the node's certificate and key files, or undefined without [tls]. */
export function presentedCertificate(config: UnibusConfig): { certFile: string; keyFile: string } | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const { nodeCert, nodeKey } = dataDirLayout(config.node.dataDir);
  const renewed = { certFile: nodeCert, keyFile: nodeKey };
  if (tls.caKey || !tls.cert || !tls.key) return renewed;
  const configured = { certFile: tls.cert, keyFile: tls.key };
  const until = (file: string) => {
    try {
      return Date.parse(new X509Certificate(readFileSync(file)).validTo);
    } catch {
      return -Infinity;
    }
  };
  return until(renewed.certFile) > until(configured.certFile) ? renewed : configured;
}

/** trustFile is the CA bundle the node verifies peers with: the one in <data_dir>/tls (kept through CA rotations), else tls.ca_cert. */
export function trustFile(config: UnibusConfig): string | undefined {
  return config.tls ? activeTrustFile(config.node.dataDir, config.tls.caCert) : undefined;
}

/**
 * nodeCaFingerprint is the SHA-256 (AB:CD:…) of the trusted CA that issued the
 * node's certificate, or of the first trusted CA: what status and the page
 * show as "the CA", which must be the same on every node (two during a CA rotation).
 */
export function nodeCaFingerprint(config: UnibusConfig): string | undefined {
  const file = trustFile(config);
  if (!file) return undefined;
  const cas = (readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
  const own = presentedCertificate(config);
  try {
    const cert = own ? new X509Certificate(readFileSync(own.certFile)) : undefined;
    const issuer = cert ? cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)) : undefined;
    if (issuer) return issuer.fingerprint256;
  } catch {
    // no readable node certificate: the first CA
  }
  return cas[0]?.fingerprint256;
}
