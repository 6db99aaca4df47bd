/**
 * csr.ts lets a node get a certificate without the CA key ever leaving the
 * CA holders: the node makes its key and a certificate request (PKCS#10), a
 * CA holder checks the request's signature and signs a node certificate for
 * the request's key. The private key stays on the box that made it.
 */
import { ConfigError, RuntimeError } from "../errors.ts";
import type { LoadedCa } from "./ca-load.ts";
import { signNodeCertificate } from "./node-cert.ts";
import { EC_P256, certificatePem, generateP256, privateKeyPem, signingAlgorithm, x509 } from "./_x509.ts";

/** NewRequest is a fresh key and the certificate request signed with it (PEM). */
export interface NewRequest {
  keyPem: string;
  csrPem: string;
  /** DER bytes of the request, which join proofs are bound to. */
  csrDer: Uint8Array;
}

/** createCertificateRequest makes a P-256 key and a request for CN = name. */
export async function createCertificateRequest(name: string): Promise<NewRequest> {
  const keys = await generateP256();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [name] }],
    keys,
    signingAlgorithm: { ...EC_P256, ...signingAlgorithm("P-256") },
  });
  return { keyPem: await privateKeyPem(keys.privateKey), csrPem: csr.toString("pem") + "\n", csrDer: new Uint8Array(csr.rawData) };
}

/** parseCertificateRequest reads a PEM request and checks its self-signature (proof that the sender holds the key). */
export async function parseCertificateRequest(pem: string): Promise<{ der: Uint8Array; request: InstanceType<typeof x509.Pkcs10CertificateRequest> }> {
  let request: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    request = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new ConfigError("the certificate request is not a valid PEM PKCS#10 request");
  }
  if (!(await request.verify())) throw new ConfigError("the certificate request's signature does not verify: it was not made with the key it names");
  return { der: new Uint8Array(request.rawData), request };
}

/**
 * issueFromRequest signs a node certificate for the request's key: the same
 * shape as issueNodeCertificate (CN = name, serverAuth+clientAuth, CA:false,
 * the given SANs), never outliving the CA. The name is the CA holder's
 * decision, not the request's.
 */
export async function issueFromRequest(ca: LoadedCa, csrPem: string, options: { name: string; sans: string[]; days?: number; now?: Date }): Promise<{ certPem: string; notAfter: Date }> {
  if (!ca.signingKey) throw new RuntimeError(`cannot sign a certificate request: no CA key was loaded for ${ca.certFile}`);
  const { request } = await parseCertificateRequest(csrPem);
  const cert = await signNodeCertificate(ca, await request.publicKey.export(), options);
  return { certPem: certificatePem(cert), notAfter: cert.notAfter };
}
