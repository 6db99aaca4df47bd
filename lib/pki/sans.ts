/**
 * sans.ts decides which names and addresses a node certificate must cover on
 * this host, and compares SAN lists the way TLS clients do: IPs by value,
 * DNS names case-insensitively.
 */
import { isIP } from "node:net";
import { canonicalIp } from "../config/units.ts";
import { currentHost, type HostInfo } from "../host.ts";
import { ConfigError } from "../errors.ts";
import { x509, type SubjectAlternativeNameExtension, type X509Certificate } from "./_x509.ts";

/** San is one subjectAltName entry: an IP address or a DNS name, in normalized form. */
export interface San {
  type: "ip" | "dns";
  value: string;
}

export { currentHost, type HostInfo };

const DNS_LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?$`);

/**
 * expectedSans lists what the node certificate should cover on this host: the
 * node name, the host name, localhost, 127.0.0.1, ::1, every address that is
 * neither loopback nor link-local, then the extra SANs. Names that are not
 * valid DNS names (a node called "Pi Kitchen") are left out rather than
 * producing a certificate Go's TLS stack rejects. Duplicates are removed.
 */
export function expectedSans(nodeName: string, extra: string[], host: HostInfo = currentHost()): string[] {
  const out: string[] = [];
  const add = (value: string) => {
    if (!out.includes(value)) out.push(value);
  };
  for (const name of [nodeName, host.hostname]) {
    const dns = name.trim().toLowerCase().replace(/\.$/, "");
    if (dns && DNS_NAME.test(dns) && !isIP(dns)) add(dns);
  }
  for (const fixed of ["localhost", "127.0.0.1", "::1"]) add(fixed);
  for (const address of host.addresses) {
    const ip = canonicalIp(address.split("%")[0]!);
    if (ip && !isLoopbackOrLinkLocal(ip)) add(ip);
  }
  for (const s of extra) add(parseSan(s).value);
  return out;
}

/** parseSan classifies one SAN string: text that parses as IPv4/IPv6 is an IP SAN, anything else must be a DNS name. */
export function parseSan(text: string): San {
  const trimmed = text.trim();
  const ip = canonicalIp(trimmed.replace(/^\[(.*)\]$/, "$1"));
  if (ip) return { type: "ip", value: ip };
  const dns = trimmed.toLowerCase().replace(/\.$/, "");
  if (dns.length > 253 || !DNS_NAME.test(dns)) {
    throw new ConfigError(`invalid SAN ${JSON.stringify(text)}: expected a DNS name (e.g. node1.lan, *.lan) or an IP address (e.g. 10.0.0.5, fd00::5)`);
  }
  return { type: "dns", value: dns };
}

/** sanExtension builds the subjectAltName extension for a list of SAN strings. */
export function sanExtension(sans: string[]): SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(sans.map(parseSan), false);
}

/** certificateSans returns the DNS and IP SANs of a certificate in normalized form; other name types are ignored. */
export function certificateSans(cert: X509Certificate): string[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  const out: string[] = [];
  for (const name of ext.names.items) {
    if (name.type === "ip") out.push(canonicalIp(name.value) ?? name.value);
    else if (name.type === "dns") out.push(name.value.toLowerCase());
  }
  return out;
}

/** missingSans returns the entries of wanted that have no match in have (both normalized by parseSan rules). */
export function missingSans(wanted: string[], have: string[]): string[] {
  const present = new Set(have.map((s) => normalizeLoose(s)));
  return wanted.filter((s) => !present.has(normalizeLoose(s)));
}

function normalizeLoose(s: string): string {
  return canonicalIp(s) ?? s.toLowerCase();
}

function isLoopbackOrLinkLocal(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith("127.") || ip.startsWith("169.254.");
  return ip === "::1" || /^fe[89ab][0-9a-f]:/.test(ip);
}
