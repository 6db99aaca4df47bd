/**
 * node-cert.ts issues node certificates: one ECDSA P-256 key per node, a
 * certificate for both TLS server and client use (nats-server presents it on
 * client, route and leaf ports and dials routes with it), signed by the CA.
 */
import { RuntimeError } from "../errors.ts";
import { writePemPair } from "./_pem-pair.ts";
import { DEFAULTS } from "../config/defaults.ts";
import type { LoadedCa } from "./ca-load.ts";
import { sanExtension } from "./sans.ts";
import { CLOCK_SKEW_MS, DAY_MS, certificatePem, generateP256, privateKeyPem, randomSerial, signingAlgorithm, x509, type AuthorityKeyIdentifierExtension, type X509Certificate } from "./_x509.ts";
import { TLS_FILE_NAMES } from "../data-dir.ts";

/** NODE_CERT_FILE is the node certificate's file name in a TLS folder. */
export const NODE_CERT_FILE = TLS_FILE_NAMES.nodeCert;
/** NODE_KEY_FILE is the node private key's file name in a TLS folder. */
export const NODE_KEY_FILE = TLS_FILE_NAMES.nodeKey;
/** DEFAULT_NODE_CERT_DAYS is 397 days, the longest lifetime browsers and most TLS policies accept. */
export const DEFAULT_NODE_CERT_DAYS: number = DEFAULTS.certLifetimeDays;

/** NodeCertOptions describe the certificate to issue; sans is the complete list (see expectedSans). */
export interface NodeCertOptions {
  name: string;
  sans: string[];
  days?: number;
  now?: Date;
}

/** IssuedCert is a new node certificate and key, still in memory. */
export interface IssuedCert {
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
}

/**
 * issueNodeCertificate generates a node key and signs its certificate with
 * the CA: CN = node name, digitalSignature (critical), serverAuth+clientAuth,
 * CA:false, SKI/AKI and the given SANs. notAfter never outlives the CA.
 */
export async function issueNodeCertificate(ca: LoadedCa, options: NodeCertOptions): Promise<IssuedCert> {
  if (!ca.signingKey) throw new RuntimeError(`cannot issue a node certificate: no CA key was loaded for ${ca.certFile}`);
  const keys = await generateP256();
  const cert = await signNodeCertificate(ca, keys.publicKey, options);
  return { cert, certPem: certificatePem(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * signNodeCertificate signs a node certificate for a public key with the CA
 * (the key may come from this box or from a member's certificate request):
 * CN = node name, digitalSignature (critical), serverAuth+clientAuth,
 * CA:false, SKI/AKI and the given SANs; notAfter never outlives the CA.
 * Throws a RuntimeError when the CA key was not loaded.
 */
export async function signNodeCertificate(ca: LoadedCa, publicKey: CryptoKey, options: NodeCertOptions): Promise<X509Certificate> {
  if (!ca.signingKey) throw new RuntimeError(`cannot sign a node certificate: no CA key was loaded for ${ca.certFile}`);
  const now = options.now ?? new Date();
  const days = options.days ?? DEFAULT_NODE_CERT_DAYS;
  const notAfter = Math.min(now.getTime() + days * DAY_MS, ca.cert.notAfter.getTime());
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [options.name] }],
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(notAfter),
    publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: signingAlgorithm(ca.curve ?? "P-256"),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      sanExtension(options.sans),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await authorityKeyId(ca.cert),
    ],
  });
}

/**
 * writeNodeFiles writes DIR/node-key.pem (0600) then DIR/node.pem (0644),
 * each atomically, creating DIR (0700) if needed. Unless force is set it
 * refuses to replace existing files.
 */
export async function writeNodeFiles(dir: string, issued: IssuedCert, options: { force?: boolean } = {}): Promise<{ certFile: string; keyFile: string }> {
  return writePemPair(dir, { cert: NODE_CERT_FILE, key: NODE_KEY_FILE }, issued, "a node certificate", options.force);
}

/** authorityKeyId copies the CA's own subject key id, so chain builders match it even when the CA computed it differently. */
async function authorityKeyId(ca: X509Certificate): Promise<AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId, false) : x509.AuthorityKeyIdentifierExtension.create(ca.publicKey);
}
