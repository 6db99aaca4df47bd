/**
 * pem-files.ts reads certificates and private keys from PEM files and turns
 * every way they can be wrong into a ConfigError that names the file, says
 * what was expected and how to fix it. Key material never reaches a message.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../errors.ts";
import { blockedFolder, exposedBits, serviceIdentity, unreadableByService } from "../fsutil.ts";
import { x509, type X509Certificate } from "./_x509.ts";

/** KeyFile is a private key read from disk, with the public half needed to match it to a certificate. */
export interface KeyFile {
  file: string;
  key: KeyObject;
  /** DER SubjectPublicKeyInfo of the matching public key. */
  spki: Uint8Array;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN (?:EC |RSA |ENCRYPTED )?PRIVATE KEY-----/;

/** readCertificateFile parses the first certificate in a PEM file; what names its role in messages ("CA certificate"). */
export async function readCertificateFile(file: string, what: string): Promise<X509Certificate> {
  const text = await readText(file, what);
  const block = CERT_BLOCK.exec(text)?.[0];
  if (!block) {
    const holds = KEY_BLOCK.test(text) ? " (it holds a private key; are the cert and key paths swapped?)" : "";
    throw new ConfigError(`${what} ${file} contains no PEM certificate${holds}: expected a "-----BEGIN CERTIFICATE-----" block`);
  }
  try {
    return new x509.X509Certificate(block);
  } catch (err) {
    throw new ConfigError(`${what} ${file} is not a valid PEM certificate (garbled or truncated); replace it with the file the CA issued`, {
      cause: err,
    });
  }
}

/**
 * readKeyFile parses a private key (PKCS#8, SEC1 or PKCS#1 PEM, unencrypted)
 * after checking its permissions: a key must not be readable by others, and
 * with strict set not by the group either.
 */
export async function readKeyFile(file: string, what: string, options: { strict: boolean }): Promise<KeyFile> {
  await assertKeyFileMode(file, what, options.strict ? 0o077 : 0o007);
  const text = await readText(file, what);
  if (!KEY_BLOCK.test(text)) {
    const holds = CERT_BLOCK.test(text) ? " (it holds a certificate; are the cert and key paths swapped?)" : "";
    throw new ConfigError(`${what} ${file} contains no PEM private key${holds}: expected a "-----BEGIN PRIVATE KEY-----" block`);
  }
  if (text.includes("ENCRYPTED")) {
    throw new ConfigError(`${what} ${file} is encrypted with a passphrase; unibus needs an unencrypted key (0600): run: openssl pkey -in ${file} -out ${file}.plain`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch {
    // The parser's own message is not attached: it is not useful and must never echo key bytes.
    throw new ConfigError(`${what} ${file} is not a valid PEM private key (garbled or truncated); expected an unencrypted PKCS#8 "BEGIN PRIVATE KEY" or SEC1 "BEGIN EC PRIVATE KEY" block`);
  }
  const spki = new Uint8Array(createPublicKey(key).export({ type: "spki", format: "der" }));
  return { file, key, spki };
}

/**
 * assertKeyFileMode refuses a key file whose permission bits intersect
 * forbidden (0o077: any group/other access; 0o007: any other access), with the
 * chmod command that fixes it.
 */
export async function assertKeyFileMode(file: string, what: string, forbidden: number): Promise<void> {
  let mode: number;
  let exposed: number;
  let unreadable: string | undefined;
  try {
    const st = await stat(file);
    mode = st.mode & 0o777;
    const service = serviceIdentity(file);
    exposed = exposedBits(st, service) | (mode & 0o007);
    unreadable = unreadableByService(st, file, service);
  } catch (err) {
    throw missingOrUnreadable(file, what, err);
  }
  if (unreadable) throw new ConfigError(`${what}: ${unreadable}`);
  const blocked = blockedFolder(file);
  if (blocked) throw new ConfigError(`${what} ${file}: ${blocked}`);
  if ((exposed & forbidden) === 0) return;
  const who = forbidden & 0o070 ? "group/others" : "others";
  const verb = mode & forbidden & 0o044 ? "readable" : "accessible";
  const fix = forbidden & 0o070 ? "600" : "640";
  throw new ConfigError(`${what} ${file} is ${verb} by ${who} (mode ${octal(mode)}); run: chmod ${fix} ${file}`);
}

/** sameSpki tells whether a certificate carries the public half of a key: byte equality of DER SubjectPublicKeyInfo. */
export function sameSpki(cert: X509Certificate, key: KeyFile): boolean {
  return Buffer.from(cert.publicKey.rawData).equals(Buffer.from(key.spki));
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw missingOrUnreadable(file, what, err);
  }
}

function missingOrUnreadable(file: string, what: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const blocked = blockedFolder(file);
  if (blocked) return new ConfigError(`${what} ${file}: ${blocked}`);
  if (code === "ENOENT") return new ConfigError(`${what} ${file} does not exist: check the path, or create it (unibus ca create / unibus cert issue)`);
  if (code === "EACCES") return new ConfigError(`${what} ${file} is not readable by this user: fix its owner or permissions`);
  return new ConfigError(`cannot read ${what} ${file}`, { cause: err });
}

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}
