/**
 * trust.ts is the set of CAs a node trusts, as one PEM bundle. Normally it
 * holds the cluster CA alone; during a CA rotation it holds the old and the
 * new CA, so certificates from either verify on every route, client, leaf and
 * gateway port. nats-server reads it as ca_file from `<data_dir>/tls/ca-bundle.pem`.
 * A node accepts a CA it does not trust yet only with an endorsement: the new
 * CA's subject and key signed by a CA it already trusts (only the holder of
 * that CA's key can make one).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isIssuedBy } from "./ca-load.ts";
import { certificatePem, x509, type X509Certificate } from "./_x509.ts";
import { dataDirLayout, TLS_FILE_NAMES } from "../data-dir.ts";

/** TRUST_BUNDLE_FILE is the trust bundle's name in `<data_dir>/tls`. */
export const TRUST_BUNDLE_FILE = TLS_FILE_NAMES.trustBundle;

const CERT_BLOCKS = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** trustBundlePath is where a node keeps the bundle nats-server verifies peers with. */
export function trustBundlePath(tlsDir: string): string {
  return join(tlsDir, TRUST_BUNDLE_FILE);
}

/**
 * activeTrustFile is the CA file that verifies this node's peers and its own
 * client port: the bundle in `<data_dir>/tls` once the node keeps one (it
 * follows CA rotations), else [tls] ca_cert. After a rotation a member's
 * ca_cert (under root's /etc/unibus, which the service cannot write) still
 * holds the retired CA, so nothing that dials a node may read ca_cert alone.
 */
export function activeTrustFile(dataDir: string, caCert: string): string {
  const bundle = dataDirLayout(dataDir).trustBundle;
  return existsSync(bundle) ? bundle : caCert;
}

/** parseCertificates reads every certificate in a PEM text (garbled blocks are skipped). */
export function parseCertificates(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.match(CERT_BLOCKS) ?? []) {
    try {
      out.push(new x509.X509Certificate(block));
    } catch {
      // a garbled block trusts nothing
    }
  }
  return out;
}

/** certFingerprint is the sha256 of a certificate's DER bytes, lower-case hex (what `openssl x509 -fingerprint -sha256` prints, without colons). */
export function certFingerprint(cert: X509Certificate): string {
  return createHash("sha256").update(new Uint8Array(cert.rawData)).digest("hex");
}

/** colonFingerprint writes a hex fingerprint as openssl and `unibus status` print it (AB:CD:…). */
export function colonFingerprint(hex: string): string {
  return hex.toUpperCase().match(/../g)?.join(":") ?? hex;
}

/** uniqueCertificates drops repeated certificates, keeping the first of each. */
export function uniqueCertificates(certs: X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((c) => {
    const fp = certFingerprint(c);
    if (seen.has(fp)) return false;
    seen.add(fp);
    return true;
  });
}

/** bundlePem writes certificates as one PEM text, each once. */
export function bundlePem(certs: X509Certificate[]): string {
  return uniqueCertificates(certs).map(certificatePem).join("");
}

/** sameSubjectAndKey tells whether two certificates carry the same subject and public key. */
function sameSubjectAndKey(a: X509Certificate, b: X509Certificate): boolean {
  const ka = Buffer.from(a.publicKey.rawData);
  const kb = Buffer.from(b.publicKey.rawData);
  return a.subject === b.subject && ka.equals(kb);
}

/**
 * isEndorsed tells whether candidate is vouched for by one of trusted: an
 * endorsement carries candidate's subject and key and is signed by a trusted
 * CA. A CA already in trusted is its own endorsement.
 */
export async function isEndorsed(candidate: X509Certificate, endorsements: X509Certificate[], trusted: X509Certificate[]): Promise<boolean> {
  const fp = certFingerprint(candidate);
  if (trusted.some((t) => certFingerprint(t) === fp)) return true;
  for (const e of endorsements) {
    if (!sameSubjectAndKey(e, candidate)) continue;
    for (const t of trusted) if (await isIssuedBy(e, t)) return true;
  }
  return false;
}

/** issuerOf finds the CA among cas that signed cert. */
export async function issuerOf(cert: X509Certificate, cas: X509Certificate[]): Promise<X509Certificate | undefined> {
  for (const ca of cas) if (await isIssuedBy(cert, ca)) return ca;
  return undefined;
}
