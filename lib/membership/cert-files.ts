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
import { join } from "node:path";
import type { UnibusConfig } from "../config/load.ts";

/** presentedCertificate is the node's certificate and key files, or undefined without [tls]. */
export function presentedCertificate(config: UnibusConfig): { certFile: string; keyFile: string } | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const renewed = { certFile: join(config.node.dataDir, "tls", "node.pem"), keyFile: join(config.node.dataDir, "tls", "node-key.pem") };
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
