/**
 * ca-load.ts loads the configured cluster CA and proves it is usable before
 * anything is issued or started: a CA certificate, inside its validity, and —
 * when a key is given — a private, matching key that can sign.
 */
import { ConfigError } from "../errors.ts";
import { readCertificateFile, readKeyFile, sameSpki } from "./pem-files.ts";
import { x509, type X509Certificate } from "./_x509.ts";

/** LoadedCa is a checked CA certificate and, when the node may issue, its signing key. */
export interface LoadedCa {
  cert: X509Certificate;
  certFile: string;
  keyFile?: string;
  /** Present when a key file was given: a non-extractable WebCrypto key for signing. */
  signingKey?: CryptoKey;
  /** Curve of the CA key ("P-256" or "P-384"), which picks the signature hash. */
  curve?: string;
}

const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384" };

/**
 * loadCa reads the CA certificate (and key, if keyFile is set) and checks
 * that the certificate is a CA, is valid at now, and that the key is not
 * group/other-accessible, is ECDSA P-256/P-384 and belongs to the certificate.
 */
export async function loadCa(certFile: string, keyFile: string | undefined, now: Date = new Date()): Promise<LoadedCa> {
  const cert = await readCertificateFile(certFile, "CA certificate");
  assertCaCertificate(cert, certFile, now);
  if (keyFile === undefined) return { cert, certFile };

  const key = await readKeyFile(keyFile, "CA key", { strict: true });
  const curve = key.key.asymmetricKeyType === "ec" ? CURVES[key.key.asymmetricKeyDetails?.namedCurve ?? ""] : undefined;
  if (!curve) {
    throw new ConfigError(`CA key ${keyFile} is not an ECDSA P-256 or P-384 key; create a new CA with: unibus ca create --out DIR`);
  }
  if (!sameSpki(cert, key)) {
    throw new ConfigError(`CA key ${keyFile} does not belong to CA certificate ${certFile}; point [tls] ca_key and ca_cert at the ca-key.pem and ca.pem created together`);
  }
  const der = key.key.export({ type: "pkcs8", format: "der" });
  const signingKey = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: curve }, false, ["sign"]);
  return { cert, certFile, keyFile, signingKey, curve };
}

/** assertCaCertificate throws a ConfigError unless cert is a CA (basicConstraints CA:true, keyCertSign if keyUsage is present) valid at now. */
export function assertCaCertificate(cert: X509Certificate, file: string, now: Date): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) {
    throw new ConfigError(`CA certificate ${file} is not a CA certificate (basicConstraints CA:TRUE is missing; subject ${cert.subject}); point [tls] ca_cert / --ca at the ca.pem from unibus ca create`);
  }
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
    throw new ConfigError(`CA certificate ${file} may not sign certificates (keyUsage lacks keyCertSign); use a CA created by unibus ca create`);
  }
  if (now.getTime() > cert.notAfter.getTime()) {
    throw new ConfigError(`CA certificate ${file} expired on ${cert.notAfter.toISOString()}; create a new CA (unibus ca create --force) and reissue node certificates`);
  }
  if (now.getTime() < cert.notBefore.getTime()) {
    throw new ConfigError(`CA certificate ${file} is not valid until ${cert.notBefore.toISOString()}; check this host's clock`);
  }
}

/** isIssuedBy tells whether cert's signature verifies with the CA's public key (and the issuer name matches the CA subject). */
export async function isIssuedBy(cert: X509Certificate, ca: X509Certificate): Promise<boolean> {
  if (cert.issuer !== ca.subject) return false;
  try {
    return await cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}
