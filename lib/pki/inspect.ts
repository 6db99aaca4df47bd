/**
 * inspect.ts describes a certificate for people: who it is for, who signed
 * it, how long it lives, what it may be used for, and whether it chains to a
 * given CA. `unibus cert inspect` prints it; the admin page can reuse it.
 */
import { isIssuedBy } from "./ca-load.ts";
import { DAY_MS, x509, type X509Certificate } from "./_x509.ts";

/** CertificateReport is the human-relevant content of one certificate. */
export interface CertificateReport {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  daysLeft: number;
  /** SANs with their type, as openssl prints them: "DNS:localhost", "IP:127.0.0.1". */
  sans: string[];
  publicKey: string;
  keyUsages: string[];
  keyUsageCritical: boolean;
  extKeyUsages: string[];
  /** "CA:TRUE, pathlen:0", "CA:FALSE", or undefined without basicConstraints. */
  basicConstraints?: string;
}

/** ChainCheck is the result of checking a certificate against a CA file. */
export interface ChainCheck {
  status: "verified" | "failed" | "unchecked";
  caFile?: string;
  detail: string;
}

const EKU_NAMES = new Map<string, string>(Object.entries(x509.ExtendedKeyUsage).map(([name, oid]) => [String(oid), name]));

/** describeCertificate extracts a CertificateReport; now sets the reference time for daysLeft. */
export function describeCertificate(cert: X509Certificate, now: Date = new Date()): CertificateReport {
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const alg = cert.publicKey.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS),
    sans: (san?.names.items ?? []).map((n) => `${n.type === "ip" ? "IP" : n.type.toUpperCase()}:${n.value}`),
    publicKey: alg.namedCurve ? `${alg.name} ${alg.namedCurve}` : alg.modulusLength ? `${alg.name} ${alg.modulusLength}` : alg.name,
    keyUsages: ku ? keyUsageNames(ku.usages) : [],
    keyUsageCritical: ku?.critical ?? false,
    extKeyUsages: (eku?.usages ?? []).map((oid) => EKU_NAMES.get(String(oid)) ?? String(oid)),
    basicConstraints: bc ? (bc.ca ? `CA:TRUE${bc.pathLength !== undefined ? `, pathlen:${bc.pathLength}` : ""}` : "CA:FALSE") : undefined,
  };
}

/** checkChain tells whether cert was signed by the first certificate in caFile and both are valid at now. */
export async function checkChain(cert: X509Certificate, ca: X509Certificate, caFile: string, now: Date = new Date()): Promise<ChainCheck> {
  if (!(await isIssuedBy(cert, ca))) return { status: "failed", caFile, detail: `not signed by ${ca.subject} in ${caFile}` };
  if (!ca.getExtension(x509.BasicConstraintsExtension)?.ca) return { status: "failed", caFile, detail: `${caFile} is not a CA certificate` };
  for (const [who, c] of [["certificate", cert], ["CA", ca]] as const) {
    if (now > c.notAfter) return { status: "failed", caFile, detail: `the ${who} expired on ${c.notAfter.toISOString()}` };
    if (now < c.notBefore) return { status: "failed", caFile, detail: `the ${who} is not valid until ${c.notBefore.toISOString()}` };
  }
  return { status: "verified", caFile, detail: `verified against ${caFile}` };
}

/** formatReport renders a report and chain check as aligned "label: value" lines. */
export function formatReport(file: string, r: CertificateReport, chain: ChainCheck): string {
  const rows: [string, string][] = [
    ["file", file],
    ["subject", r.subject],
    ["issuer", r.issuer],
    ["serial", r.serial],
    ["not before", r.notBefore.toISOString()],
    ["not after", r.notAfter.toISOString()],
    ["days left", r.daysLeft < 0 ? `${r.daysLeft} (EXPIRED)` : String(r.daysLeft)],
    ["public key", r.publicKey],
    ["basic constraints", r.basicConstraints ?? "(none)"],
    ["key usage", (r.keyUsages.join(", ") || "(none)") + (r.keyUsageCritical ? " (critical)" : "")],
    ["extended key usage", r.extKeyUsages.join(", ") || "(none)"],
    ["sans", r.sans.join(", ") || "(none)"],
    ["chain", chain.status === "verified" ? `OK, ${chain.detail}` : chain.status === "failed" ? `FAILED: ${chain.detail}` : chain.detail],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${(label + ":").padEnd(width)} ${value}`).join("\n") + "\n";
}

function keyUsageNames(flags: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(x509.KeyUsageFlags)) {
    if (typeof bit === "number" && flags & bit) names.push(name);
  }
  return names;
}
