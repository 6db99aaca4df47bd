/**
 * node-identity.ts is what the node runs at start (and on its renewal timer):
 * make sure there is a valid node certificate and key for nats-server, issuing
 * or renewing it from the cluster CA when the node holds the CA key, checking
 * the provided pair when it does not. Nothing is started on a ConfigError.
 */
import { DEFAULTS } from "../config/defaults.ts";
import { X509Certificate as NodeX509 } from "node:crypto";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { pathExists } from "../fsutil.ts";
import { isIssuedBy, loadCa, type LoadedCa } from "./ca-load.ts";
import { DEFAULT_NODE_CERT_DAYS, NODE_CERT_FILE, NODE_KEY_FILE, issueNodeCertificate, writeNodeFiles } from "./node-cert.ts";
import { readCertificateFile, readKeyFile, sameSpki } from "./pem-files.ts";
import { certificateSans, expectedSans, missingSans } from "./sans.ts";
import { certFingerprint, issuerOf, parseCertificates } from "./trust.ts";
import { readFileSync } from "node:fs";
import { DAY_MS, type X509Certificate } from "./_x509.ts";
import { CLOCK_FIX } from "./clock-hint.ts";

/** DEFAULT_RENEW_WHEN_REMAINING renews a node certificate once a third of its lifetime is left (about 132 of 397 days). */
export const DEFAULT_RENEW_WHEN_REMAINING: number = DEFAULTS.certRenewWhenRemaining;

/** NodeIdentityOptions come from the [tls] and [node] sections of the config. */
export interface NodeIdentityOptions {
  tlsDir: string; // <data_dir>/tls, where auto-issued node.pem/node-key.pem live
  caCertFile: string; // [tls] ca_cert
  caKeyFile?: string; // [tls] ca_key: present => node issues/renews its own cert
  /** The CA already loaded from caCertFile/caKeyFile (the CA authority keeps it in memory); read from the files when absent. */
  ca?: LoadedCa;
  /** The bundle of CAs the node trusts (old and new during a CA rotation); default: caCertFile alone. */
  trustFile?: string;
  certFile?: string; // [tls] cert, used when there is no CA key
  keyFile?: string; // [tls] key
  nodeName: string;
  extraSans: string[]; // [tls] sans
  lifetimeDays?: number; // default 397
  renewWhenRemaining?: number; // fraction of lifetime; default 1/3
  now?: Date; // tests fake time
}

/** NodeIdentity is the certificate nats-server will present, and what the supervisor needs to schedule its renewal. */
export interface NodeIdentity {
  certFile: string;
  keyFile: string;
  caFile: string;
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  daysLeft: number;
  renewAt: Date; // when the renewal window opens
  issued: boolean; // true when this call wrote a new certificate
  reason?: string; // why it was (re)issued
  /** Expected SANs the certificate lacks; only possible for a provided cert (without a CA key), worth a warning. */
  missingSans?: string[];
  /** sha256 (hex) of the trusted CA that issued the certificate: tells old from new during a CA rotation. */
  issuerFingerprint?: string;
}

/**
 * ensureNodeIdentity returns a usable node identity. With a CA key it
 * (re)issues into tlsDir when the certificate is missing, not from the
 * configured CA, expired, lacks an expected SAN or is inside the renewal
 * window, and reuses it otherwise. Without a CA key it checks certFile/keyFile
 * and throws ConfigError when they cannot work.
 */
export async function ensureNodeIdentity(opts: NodeIdentityOptions): Promise<NodeIdentity> {
  const now = opts.now ?? new Date();
  const fraction = opts.renewWhenRemaining ?? DEFAULT_RENEW_WHEN_REMAINING;
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`renewal fraction ${fraction} is out of range: expected a number between 0 and 1 (default 1/3)`);
  const days = opts.lifetimeDays ?? DEFAULT_NODE_CERT_DAYS;
  if (!(Number.isInteger(days) && days >= 1)) throw new ConfigError(`certificate lifetime ${days} days is invalid: expected a whole number of days >= 1 (default 397)`);

  const ca = opts.ca ?? (await loadCa(opts.caCertFile, opts.caKeyFile, now));
  const wanted = expectedSans(opts.nodeName, opts.extraSans);
  const trust = trustedCas(opts, ca);
  const id = opts.caKeyFile !== undefined ? await ensureIssued(opts, ca, trust, wanted, now, days, fraction) : await checkProvided(opts, ca, trust, wanted, now, fraction);
  const cert = await readCertificateFile(id.certFile, "node certificate");
  const issuer = await issuerOf(cert, trust);
  return { ...id, caFile: opts.trustFile ?? opts.caCertFile, ...(issuer ? { issuerFingerprint: certFingerprint(issuer) } : {}) };
}

/** trustedCas reads the trust bundle, falling back to the configured CA alone. */
function trustedCas(opts: NodeIdentityOptions, ca: LoadedCa): X509Certificate[] {
  if (!opts.trustFile) return [ca.cert];
  let text: string;
  try {
    text = readFileSync(opts.trustFile, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the CA trust bundle ${opts.trustFile}: ${(err as Error).message}`);
  }
  const certs = parseCertificates(text);
  if (certs.length === 0) throw new ConfigError(`the CA trust bundle ${opts.trustFile} holds no certificate; delete it (the node then trusts tls.ca_cert) and restart`);
  return certs;
}

async function ensureIssued(opts: NodeIdentityOptions, ca: LoadedCa, trust: X509Certificate[], wanted: string[], now: Date, days: number, fraction: number): Promise<NodeIdentity> {
  const certFile = join(opts.tlsDir, NODE_CERT_FILE);
  const keyFile = join(opts.tlsDir, NODE_KEY_FILE);
  const reason = await reissueReason(certFile, keyFile, opts.nodeName, ca, trust, wanted, now, fraction);
  if (typeof reason !== "string") return identity(reason, certFile, keyFile, opts.caCertFile, now, fraction, false);
  if (reason === FOREIGN_CA) await refuseForeignCa(certFile, keyFile, opts.caCertFile, ca);
  const fresh = await issueNodeCertificate(ca, { name: opts.nodeName, sans: wanted, days, now });
  await writeNodeFiles(opts.tlsDir, fresh, { force: true });
  return { ...identity(fresh.cert, certFile, keyFile, opts.caCertFile, now, fraction, true), reason };
}

/** reissueReason returns why the node certificate must be issued again, or the certificate itself when it can stay. */
async function reissueReason(
  certFile: string,
  keyFile: string,
  nodeName: string,
  ca: LoadedCa,
  trust: X509Certificate[],
  wanted: string[],
  now: Date,
  fraction: number,
): Promise<string | X509Certificate> {
  if (!pathExists(certFile) || !pathExists(keyFile)) return "missing";
  const cert = await readCertificateFile(certFile, "node certificate");
  const key = await readKeyFile(keyFile, "node key", { strict: true });
  if (!(await isIssuedBy(cert, ca.cert))) return (await issuerOf(cert, trust)) ? ROTATED_CA : FOREIGN_CA;
  // Two renames are not one: a crash between them leaves a mismatched pair, which this repairs.
  if (!sameSpki(cert, key)) return "key does not match certificate";
  if (now > cert.notAfter) return "expired";
  if (now < cert.notBefore) return "not yet valid";
  const cn = cert.subjectName.getField("CN")[0];
  if (cn !== nodeName) return `node name changed: ${cn ?? "(none)"} -> ${nodeName}`;
  const lacking = missingSans(wanted, certificateSans(cert));
  if (lacking.length > 0) return `sans changed: ${lacking.map((s) => "+" + s).join(" ")}`;
  if (now >= renewAt(cert, fraction)) return "inside renewal window";
  return cert;
}

/** ROTATED_CA is the reissue reason for a certificate from the CA a rotation replaces (still trusted, no longer signing). */
const ROTATED_CA = "CA rotation: issued by the previous CA";

/** FOREIGN_CA is the reissue reason for a node certificate from another CA than tls.ca_cert. */
const FOREIGN_CA = "not issued by the configured CA";

/**
 * refuseForeignCa stops a node whose CA changed under it. Issuing itself a
 * certificate from the new CA would look fine here and then fail every route
 * to peers that trust the old one ("unknown authority"); the operator decides.
 */
async function refuseForeignCa(certFile: string, keyFile: string, caCertFile: string, ca: LoadedCa): Promise<never> {
  const old = await readCertificateFile(certFile, "node certificate");
  const fp = new NodeX509(Buffer.from(ca.cert.rawData)).fingerprint256;
  throw new ConfigError(
    `node certificate ${certFile} was issued by another CA (${old.issuer}) than tls.ca_cert ${caCertFile} (SHA-256 ${fp}): this node's CA changed. ` +
    `A certificate from the new CA would make every peer that trusts the old one refuse this node's routes (x509: certificate signed by unknown authority). ` +
    `If the whole cluster moves to this CA on purpose, delete ${certFile} and ${keyFile} and start again; otherwise point tls.ca_cert and tls.ca_key back at the cluster's CA (every node must use the same one; unibus status prints its fingerprint)`,
  );
}

async function checkProvided(opts: NodeIdentityOptions, ca: LoadedCa, trust: X509Certificate[], wanted: string[], now: Date, fraction: number): Promise<NodeIdentity> {
  const { certFile, keyFile } = opts;
  if (!certFile || !keyFile) {
    throw new ConfigError(
      `[tls] needs either ca_key (the node issues its own certificate) or both cert and key (a certificate issued by ${opts.caCertFile}); ${certFile ? "key" : "cert"} is not set`,
    );
  }
  const cert = await readCertificateFile(certFile, "node certificate");
  const key = await readKeyFile(keyFile, "node key", { strict: false });
  const reissue = `issue a new one: unibus cert issue --ca DIR --name ${opts.nodeName} --out DIR`;
  if (!sameSpki(cert, key)) throw new ConfigError(`node key ${keyFile} does not belong to node certificate ${certFile}; point [tls] cert and key at a pair issued together`);
  if (!(await issuerOf(cert, trust))) {
    throw new ConfigError(`node certificate ${certFile} was not issued by the CA in ${opts.trustFile ?? opts.caCertFile} (its issuer is ${cert.issuer}); ${reissue}`);
  }
  const cn = cert.subjectName.getField("CN")[0];
  if (cn !== opts.nodeName) {
    // The name is the node's identity in every RAFT group; the certificate is what binds it.
    throw new ConfigError(`node certificate ${certFile} is for "${cn ?? "(no CN)"}", but [node] name is "${opts.nodeName}": a node's name is bound to its certificate; set name = "${cn ?? ""}", or give this box a certificate for "${opts.nodeName}" (unibus join ... --name ${opts.nodeName})`);
  }
  // This box has no CA key: a clock running ahead looks like expiry, and a new certificate comes from a CA holder.
  if (now > cert.notAfter) {
    throw new ConfigError(
      `node certificate ${certFile} expired on ${cert.notAfter.toISOString()} by this box's clock, which says ${now.toISOString()}. ` +
        `Check the clock first (a clock running ahead makes a good certificate look expired): ${CLOCK_FIX}. ` +
        `If the clock is right, renew through a CA holder (this box has no CA key): join again (sudo unibus join ADDRESS --token TOKEN --name ${opts.nodeName} --replace, ` +
        `with a token from sudo unibus token create there), or on the CA holder: unibus cert issue --ca DIR --name ${opts.nodeName} --no-host-sans --out DIR and copy the files here`,
    );
  }
  if (now < cert.notBefore) throw new ConfigError(`node certificate ${certFile} is not valid until ${cert.notBefore.toISOString()}, and this box's clock says ${now.toISOString()}: the clock is behind; ${CLOCK_FIX}`);
  const lacking = missingSans(wanted, certificateSans(cert));
  return { ...identity(cert, certFile, keyFile, opts.caCertFile, now, fraction, false), missingSans: lacking };
}

/** renewAt is when the remaining lifetime falls to fraction of the whole. */
function renewAt(cert: X509Certificate, fraction: number): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - lifetime * fraction);
}

function identity(cert: X509Certificate, certFile: string, keyFile: string, caFile: string, now: Date, fraction: number, issued: boolean): NodeIdentity {
  return {
    certFile,
    keyFile,
    caFile,
    subject: cert.subject,
    issuer: cert.issuer,
    sans: certificateSans(cert),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS),
    renewAt: renewAt(cert, fraction),
    issued,
  };
}
