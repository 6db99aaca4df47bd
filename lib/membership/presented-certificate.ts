/**
 * presented-certificate.ts is the CA authority's other decision: where
 * ca-authority.ts says which CA signs, this module says which certificate and
 * key the node presents, and it is the only place that says it. nats-server's
 * rendered TLS files and the admin HTTPS listener (through identity.ts),
 * renewal through a CA holder (the pair the agent signs in with), status's
 * days left, the health probe and `unibus remove` all ask presentedCertificate.
 *
 * A CA holder presents the certificate it issues itself into <data_dir>/tls.
 * A member without the CA key has two candidates: the configured pair
 * ([tls] cert and key, from `unibus join` or `cert issue`, under /etc, which
 * the service cannot write) and the pair the membership agent renewed through
 * a CA holder into <data_dir>/tls. It presents the renewed pair when that pair
 * can be presented now (key matches, issued by a CA the node trusts, for this
 * node's name, in force by this box's clock) and the configured one cannot or
 * ends sooner; otherwise the configured pair, whose problem identity.ts then
 * reports with its fix.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { activeTrustFile } from "../pki/index.ts";

/** CertificateSource says where a presented pair comes from: issued by the node itself, renewed through a CA holder, or configured. */
export type CertificateSource = "issued" | "renewed" | "configured";

/** PresentedCertificate is the pair a node presents, where it comes from, and why it cannot work when it cannot (then identity.ts refuses to start with the fix). */
export interface PresentedCertificate { certFile: string; keyFile: string; source: CertificateSource; unusable?: string }

/**
 * CandidateFacts are what the choice needs to know of one pair: its files,
 * when it ends (ms since the epoch, when readable) and why it cannot be
 * presented now, when it cannot.
 */
export interface CandidateFacts { certFile: string; keyFile: string; notAfterMs?: number; unusable?: string }

/**
 * choosePresented is the decision itself, on facts alone: a CA holder
 * presents what it issues into the data dir; a member the renewed pair when
 * it is usable and the configured one is not, is not set or ends sooner;
 * otherwise the configured pair (or, with none configured, the renewed one
 * with its problem).
 */
export function choosePresented(c: { caHolder: boolean; renewed: CandidateFacts; configured?: CandidateFacts }): PresentedCertificate {
  const pick = (f: CandidateFacts, source: CertificateSource): PresentedCertificate => ({ certFile: f.certFile, keyFile: f.keyFile, source, ...(f.unusable ? { unusable: f.unusable } : {}) });
  if (c.caHolder) return pick(c.renewed, "issued");
  const { renewed, configured } = c;
  if (!configured) return pick(renewed, "renewed");
  if (renewed.unusable) return pick(configured, "configured");
  if (configured.unusable || (renewed.notAfterMs ?? -Infinity) > (configured.notAfterMs ?? -Infinity)) return pick(renewed, "renewed");
  return pick(configured, "configured");
}

/**
 * candidateFacts reads one pair the way nats-server would use it: the
 * certificate must parse, belong to the key, come from one of the trusted CAs
 * (trust: PEM certificates), name nodeName and be in force at now. A key the
 * caller may not read (status run without sudo) is not held against the pair:
 * the service can read it, and the caller cannot tell.
 */
export function candidateFacts(certFile: string, keyFile: string, trust: X509Certificate[], nodeName: string, now: Date): CandidateFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
  } catch (err) {
    return { certFile, keyFile, unusable: (err as NodeJS.ErrnoException).code === "ENOENT" ? `${certFile} does not exist` : `cannot read ${certFile}: ${(err as Error).message}` };
  }
  const facts: CandidateFacts = { certFile, keyFile, notAfterMs: Date.parse(cert.validTo) };
  const unusable = (why: string): CandidateFacts => ({ ...facts, unusable: why });
  try {
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) return unusable(`the key ${keyFile} does not belong to ${certFile}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return unusable(`${keyFile} does not exist`);
    if (code !== "EACCES" && code !== "EPERM") return unusable(`cannot read the key ${keyFile}: ${(err as Error).message}`);
  }
  if (!trust.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return unusable(`${certFile} was not issued by a CA this node trusts`);
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn !== nodeName) return unusable(`${certFile} is for "${cn ?? "(no CN)"}", not for this node ("${nodeName}")`);
  if (now.getTime() < Date.parse(cert.validFrom)) return unusable(`${certFile} is not in force until ${new Date(cert.validFrom).toISOString()}`);
  if (now.getTime() > facts.notAfterMs!) return unusable(`${certFile} expired on ${new Date(cert.validTo).toISOString()}`);
  return facts;
}

/** parseCas reads every certificate of a PEM bundle (a garbled block trusts nothing). */
function parseCas(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).flatMap((b) => {
    try {
      return [new X509Certificate(b)];
    } catch {
      return [];
    }
  });
}

/** trustedCas reads the CAs of a bundle file; an unreadable bundle trusts nothing. */
function trustedCas(file: string): X509Certificate[] {
  try {
    return parseCas(readFileSync(file, "utf8"));
  } catch {
    return [];
  }
}

/**
 * presentedCertificate is the pair the node with this config presents at
 * `now` (default: the clock), read from the files; undefined without [tls].
 * The running node and a command run beside it read the same files and get
 * the same answer.
 */
export function presentedCertificate(config: UnibusConfig, now = new Date()): PresentedCertificate | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const { nodeCert, nodeKey } = dataDirLayout(config.node.dataDir);
  if (tls.caKey) return choosePresented({ caHolder: true, renewed: { certFile: nodeCert, keyFile: nodeKey } });
  const trust = trustedCas(activeTrustFile(config.node.dataDir, tls.caCert));
  const facts = (cert: string, key: string) => candidateFacts(cert, key, trust, config.node.name, now);
  const renewed = facts(nodeCert, nodeKey);
  const configured = tls.cert && tls.key ? (tls.cert === nodeCert ? renewed : facts(tls.cert, tls.key)) : undefined;
  return choosePresented({ caHolder: false, renewed, ...(configured ? { configured } : {}) });
}

/** trustFile is the CA bundle the node verifies peers with: the one in <data_dir>/tls (kept through CA rotations), else tls.ca_cert. */
export function trustFile(config: UnibusConfig): string | undefined {
  return config.tls ? activeTrustFile(config.node.dataDir, config.tls.caCert) : undefined;
}

/**
 * nodeCaFingerprint is the SHA-256 (AB:CD:…) of the trusted CA that issued the
 * presented certificate, or of the first trusted CA: what status and the page
 * show as "the CA", which must be the same on every node (two during a CA
 * rotation). Throws when the trust bundle cannot be read.
 */
export function nodeCaFingerprint(config: UnibusConfig): string | undefined {
  const file = trustFile(config);
  if (!file) return undefined;
  const cas = parseCas(readFileSync(file, "utf8"));
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
