/**
 * ca-rotation.ts replaces the cluster CA without an outage, the way Docker
 * Swarm's `swarm ca --rotate` does, as files beside the CA holder's ca.pem
 * and ca-key.pem:
 *   ca-next.pem, ca-next-key.pem  the new CA while the rotation lasts;
 *   ca-next-endorsed.pem          the new CA's subject and key signed by the
 *                                 current CA, so a node that trusts only the
 *                                 old CA can accept the new one from anybody;
 *   ca-bundle.pem                 what clients verify the servers with: old
 *                                 and new during the rotation, new after it.
 * While ca-next.pem exists the cluster trusts both CAs and every certificate
 * is issued by the new one; finishing moves the new CA into ca.pem and
 * ca-key.pem (the old key is deleted) and keeps its endorsement as
 * ca-endorsed.pem, for a node that comes back after the old CA was dropped.
 * Each step writes its files atomically, and the next CA's files go last on
 * start and are removed last on finish, so an interrupted step is repaired by
 * running it again and a node reading half-finished files still signs with the
 * new key.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../errors.ts";
import { ownerOf, pathExists, unlinkDurable, writeFileAtomic } from "../fsutil.ts";
import { createCa } from "./ca.ts";
import { loadCa, type LoadedCa } from "./ca-load.ts";
import { readCertificateFile } from "./pem-files.ts";
import { bundlePem, certFingerprint, colonFingerprint, parseCertificates, uniqueCertificates } from "./trust.ts";
import { CLOCK_SKEW_MS, certificatePem, randomSerial, signingAlgorithm, x509, type X509Certificate } from "./_x509.ts";

/** RotationFiles names a CA holder's rotation files beside its ca.pem and ca-key.pem. */
export interface RotationFiles {
  caCert: string;
  caKey: string;
  nextCert: string;
  nextKey: string;
  nextEndorsed: string;
  /** The current CA endorsed by the one it replaced (kept after a finished rotation). */
  endorsed: string;
  /** The CA certificates clients verify the servers with. */
  clientBundle: string;
}

/** rotationFiles derives the rotation's file names from tls.ca_cert and tls.ca_key. */
export function rotationFiles(caCert: string, caKey: string): RotationFiles {
  const dir = dirname(caCert);
  return {
    caCert,
    caKey,
    nextCert: join(dir, "ca-next.pem"),
    nextKey: join(dirname(caKey), "ca-next-key.pem"),
    nextEndorsed: join(dir, "ca-next-endorsed.pem"),
    endorsed: join(dir, "ca-endorsed.pem"),
    clientBundle: join(dir, "ca-bundle.pem"),
  };
}

/** ClusterCa is the CA state a CA holder works with: what it signs with and what it trusts. */
export interface ClusterCa {
  current: X509Certificate;
  /** The new CA while a rotation is in progress. */
  next?: X509Certificate;
  /** The files new certificates are signed with (the next CA during a rotation). */
  signing: { certFile: string; keyFile: string; cert: X509Certificate };
  /** Every CA a node must trust now, the current one first. */
  trust: X509Certificate[];
  /** Endorsements of CAs in trust by the CA they replace. */
  endorsements: X509Certificate[];
  files: RotationFiles;
}

/** readClusterCa reads a CA holder's CA files, with the rotation's when one is in progress. */
export async function readClusterCa(caCert: string, caKey: string): Promise<ClusterCa> {
  const files = rotationFiles(caCert, caKey);
  const current = await readCertificateFile(caCert, "CA certificate");
  const rotating = pathExists(files.nextCert) && pathExists(files.nextKey);
  const next = rotating ? await readCertificateFile(files.nextCert, "next CA certificate (CA rotation)") : undefined;
  const endorsements: X509Certificate[] = [];
  for (const f of [files.nextEndorsed, files.endorsed]) if (pathExists(f)) endorsements.push(...parseCertificates(readFileSync(f, "utf8")));
  return {
    current,
    ...(next ? { next } : {}),
    signing: next ? { certFile: files.nextCert, keyFile: files.nextKey, cert: next } : { certFile: caCert, keyFile: caKey, cert: current },
    trust: uniqueCertificates(next ? [current, next] : [current]),
    endorsements,
    files,
  };
}

/**
 * startRotation makes the next CA and its endorsement by the current CA, and
 * writes the client bundle (old + new). It refuses while a rotation is in
 * progress: a second new CA would strand the certificates the first issued.
 */
export async function startRotation(caCert: string, caKey: string, now = new Date()): Promise<ClusterCa> {
  const files = rotationFiles(caCert, caKey);
  const state = await readClusterCa(caCert, caKey);
  if (state.next) {
    throw new ConfigError(`a CA rotation is already in progress (new CA SHA-256 ${colonFingerprint(certFingerprint(state.next))} in ${files.nextCert}): finish it first with \`unibus ca rotate --finish\` (\`unibus status\` shows which members still hold certificates from the old CA)`);
  }
  const current = await loadCa(caCert, caKey, now);
  const base = (current.cert.subjectName.getField("CN")[0] ?? "unibus cluster CA").replace(/ \(\d{4}-\d\d-\d\dT[\d:]+Z?\)$/, "");
  const next = await createCa({ name: `${base} (${now.toISOString().slice(0, 19)})`, now });
  const endorsement = await endorse(current, next.cert);
  writeFileAtomic(files.clientBundle, bundlePem([current.cert, next.cert]), 0o644);
  writeFileAtomic(files.nextEndorsed, certificatePem(endorsement), 0o644);
  writeLike(files.nextKey, next.keyPem, caKey);
  writeLike(files.nextCert, next.certPem, caCert);
  return readClusterCa(caCert, caKey);
}

/**
 * finishRotation makes the next CA the only one: ca.pem and ca-key.pem get
 * the new CA (the old key is gone), ca-endorsed.pem keeps the endorsement,
 * the client bundle holds the new CA alone, and the next-CA files go.
 */
export async function finishRotation(caCert: string, caKey: string): Promise<ClusterCa> {
  const files = rotationFiles(caCert, caKey);
  const state = await readClusterCa(caCert, caKey);
  if (!state.next) throw new ConfigError(`no CA rotation is in progress (${files.nextCert} does not exist): start one with \`unibus ca rotate\``);
  const next = await loadCa(files.nextCert, files.nextKey);
  // a finish interrupted after its first removal has no nextEndorsed left, and wrote ca-endorsed.pem already
  if (pathExists(files.nextEndorsed)) writeFileAtomic(files.endorsed, readFileSync(files.nextEndorsed, "utf8"), 0o644);
  writeLike(caCert, readFileSync(files.nextCert, "utf8"), caCert);
  writeLike(caKey, readFileSync(files.nextKey, "utf8"), caKey);
  writeFileAtomic(files.clientBundle, bundlePem([next.cert]), 0o644);
  // Removed durably, ca-next.pem first (it alone makes a rotation "in progress"): after a power cut the
  // next CA's files must not come back as a rotation that never ends.
  unlinkDurable([files.nextCert, files.nextKey, files.nextEndorsed]);
  return readClusterCa(caCert, caKey);
}

/** endorse signs the next CA's subject and key with the current CA (a CA certificate nobody chains through: it only vouches). */
export async function endorse(current: LoadedCa, next: X509Certificate): Promise<X509Certificate> {
  if (!current.signingKey) throw new ConfigError(`cannot endorse the new CA: no key was loaded for ${current.certFile}`);
  const ski = current.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: next.subjectName,
    issuer: current.cert.subjectName,
    notBefore: new Date(Date.now() - CLOCK_SKEW_MS),
    notAfter: new Date(Math.min(next.notAfter.getTime(), current.cert.notAfter.getTime())),
    publicKey: next.publicKey,
    signingKey: current.signingKey,
    signingAlgorithm: signingAlgorithm(current.curve ?? "P-256"),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(next.publicKey),
      ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId, false) : await x509.AuthorityKeyIdentifierExtension.create(current.cert.publicKey),
    ],
  });
}

/** writeLike writes a file with the owner, group and mode of like (a CA key stays 0640 root:unibus when installed so). */
function writeLike(file: string, text: string, like: string): void {
  const st = ownerOf(like);
  if (!st) throw new ConfigError(`cannot write ${file}: cannot read the owner and mode of ${like}`);
  writeFileAtomic(file, text, st.mode, st);
}
