/**
 * ca.ts creates a cluster CA: a self-signed ECDSA P-256 certificate that may
 * sign node certificates only (pathlen 0), and writes it next to its key.
 */
import { DEFAULTS } from "../config/defaults.ts";
import { writePemPair } from "./_pem-pair.ts";
import { CLOCK_SKEW_MS, DAY_MS, EC_P256, certificatePem, generateP256, privateKeyPem, randomSerial, signingAlgorithm, x509, type X509Certificate } from "./_x509.ts";

/** CA_CERT_FILE is the CA certificate's file name inside a CA folder; nodes and `cert issue` look for it there. */
export const CA_CERT_FILE = "ca.pem";
/** CA_KEY_FILE is the CA private key's file name inside a CA folder. */
export const CA_KEY_FILE = "ca-key.pem";
/** DEFAULT_CA_NAME is the CA's common name when the user does not choose one. */
export const DEFAULT_CA_NAME: string = DEFAULTS.caName;
/** DEFAULT_CA_DAYS is a CA's lifetime: ten years, because replacing a CA means touching every node. */
export const DEFAULT_CA_DAYS: number = DEFAULTS.caLifetimeDays;

/** CaOptions tune createCa; every field has a default. */
export interface CaOptions {
  name?: string;
  days?: number;
  now?: Date;
}

/** NewCa is a freshly created CA, still in memory: its certificate and both PEM texts. */
export interface NewCa {
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
}

/** createCa generates a CA key pair and its self-signed certificate (CA:true pathlen 0, keyCertSign+cRLSign, SKI/AKI). */
export async function createCa(options: CaOptions = {}): Promise<NewCa> {
  const now = options.now ?? new Date();
  const days = options.days ?? DEFAULT_CA_DAYS;
  const keys = await generateP256();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.name ?? DEFAULT_CA_NAME] }],
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    keys,
    signingAlgorithm: { ...EC_P256, ...signingAlgorithm("P-256") },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, certPem: certificatePem(cert), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * writeCaFiles writes DIR/ca.pem (0644) and DIR/ca-key.pem (0600), creating
 * DIR (0700) if needed. It refuses to replace an existing CA unless force is
 * set, because every certificate the old CA issued would stop verifying.
 */
export async function writeCaFiles(dir: string, ca: NewCa, options: { force?: boolean } = {}): Promise<{ certFile: string; keyFile: string }> {
  return writePemPair(dir, { cert: CA_CERT_FILE, key: CA_KEY_FILE }, ca, "a CA (node certificates it issued would stop verifying)", options.force);
}
