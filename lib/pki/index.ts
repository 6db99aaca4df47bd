/**
 * index.ts is the public face of lib/pki: the cluster CA, node certificates,
 * the node identity check run at start, and certificate inspection. Other
 * areas import from here and never from the files behind it.
 */
export { CA_CERT_FILE, CA_KEY_FILE, DEFAULT_CA_DAYS, DEFAULT_CA_NAME, createCa, writeCaFiles, type CaOptions, type NewCa } from "./ca.ts";
export { assertCaCertificate, isIssuedBy, loadCa, type LoadedCa } from "./ca-load.ts";
export { checkChain, describeCertificate, formatReport, type CertificateReport, type ChainCheck } from "./inspect.ts";
export {
  DEFAULT_NODE_CERT_DAYS,
  NODE_CERT_FILE,
  NODE_KEY_FILE,
  issueNodeCertificate,
  writeNodeFiles,
  type IssuedCert,
  type NodeCertOptions,
} from "./node-cert.ts";
export { DEFAULT_RENEW_WHEN_REMAINING, ensureNodeIdentity, type NodeIdentity, type NodeIdentityOptions } from "./node-identity.ts";
export { CERT_WARN_DAYS, certificateExpiry, expiresSoon, type Expiry } from "./expiry.ts";
export { assertKeyFileMode, readCertificateFile, readKeyFile, sameSpki, type KeyFile } from "./pem-files.ts";
export { certificateSans, currentHost, expectedSans, missingSans, parseSan, type HostInfo, type San } from "./sans.ts";
export { createCertificateRequest, issueFromRequest, parseCertificateRequest, type NewRequest } from "./csr.ts";
export { endorse, finishRotation, readClusterCa, rotationFiles, startRotation, type ClusterCa, type RotationFiles } from "./ca-rotation.ts";
export { TRUST_BUNDLE_FILE, activeTrustFile, bundlePem, certFingerprint, colonFingerprint, isEndorsed, issuerOf, parseCertificates, trustBundlePath, uniqueCertificates } from "./trust.ts";
export { certificatePem, parseCertificate, type X509Certificate } from "./_x509.ts";
