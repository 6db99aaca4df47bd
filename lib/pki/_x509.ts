/**
 * _x509.ts loads @peculiar/x509 the one way it works: reflect-metadata first,
 * then the library, then the global WebCrypto as its provider. Every PKI file
 * imports x509 from here so that order cannot be got wrong.
 */
import "reflect-metadata";
import type { X509Certificate } from "@peculiar/x509";
// A dynamic import: the bundler hoists static ESM imports above the CommonJS
// reflect-metadata polyfill, and tsyringe (inside x509) then refuses to load.
const x509 = await import("@peculiar/x509");

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
// The dynamic import gives a value, not a namespace, so the types used in signatures are re-exported by name.
export type { AuthorityKeyIdentifierExtension, SubjectAlternativeNameExtension, X509Certificate } from "@peculiar/x509";

/** EC_P256 is the key algorithm of every key unibus generates. */
export const EC_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };

/** CLOCK_SKEW_MS backdates notBefore so a peer whose clock runs a little slow still accepts a fresh certificate. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** DAY_MS is one day in milliseconds. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** signingAlgorithm returns the ECDSA parameters matching a CA key's curve. */
export function signingAlgorithm(curve: string): EcdsaParams {
  return { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" };
}

/** generateP256 creates an extractable ECDSA P-256 key pair (extractable so it can be written as PKCS#8). */
export async function generateP256(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** randomSerial returns 16 random bytes as hex, high bit clear and first byte non-zero: a positive 128-bit serial. */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return Buffer.from(bytes).toString("hex");
}

/** privateKeyPem encodes a WebCrypto private key as PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

/** certificatePem encodes a certificate as PEM with a trailing newline. */
export function certificatePem(cert: X509Certificate): string {
  return cert.toString("pem") + "\n";
}

/** parseCertificate reads one certificate from PEM text or DER bytes; it throws on anything else. */
export function parseCertificate(data: string | Uint8Array): X509Certificate {
  return new x509.X509Certificate(typeof data === "string" ? data : (new Uint8Array(data) as Uint8Array<ArrayBuffer>));
}
