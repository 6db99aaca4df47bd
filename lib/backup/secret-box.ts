/**
 * secret-box.ts encrypts the secrets a backup may carry (the CA key, the
 * route secret) with a passphrase: scrypt derives a 256-bit key from the
 * passphrase and a random salt, AES-256-GCM encrypts and authenticates. A
 * wrong passphrase or a changed byte fails the tag check; nothing else in
 * the backup is encrypted, so the manifest stays readable.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { RuntimeError } from "../errors.ts";

/** SealedSecret is the JSON a sealed secret is stored as. */
export interface SealedSecret { kdf: "scrypt"; N: number; r: number; p: number; salt: string; cipher: "aes-256-gcm"; iv: string; tag: string; data: string }

const N = 1 << 15;
const R = 8;
const P = 1;

function deriveKey(passphrase: string, salt: Buffer, n: number, r: number, p: number): Buffer {
  return scryptSync(passphrase, salt, 32, { N: n, r, p, maxmem: 128 * n * r * 2 });
}

/** MIN_PASSPHRASE is the shortest passphrase accepted, in characters. */
export const MIN_PASSPHRASE = 12;

/** seal encrypts plaintext with the passphrase. */
export function seal(plaintext: Uint8Array, passphrase: string): SealedSecret {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(passphrase, salt, N, R, P), iv);
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { kdf: "scrypt", N, r: R, p: P, salt: salt.toString("base64"), cipher: "aes-256-gcm", iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
}

/** open decrypts a sealed secret; a wrong passphrase is a RuntimeError saying so. */
export function open(sealed: SealedSecret, passphrase: string, what: string): Buffer {
  try {
    const key = deriveKey(passphrase, Buffer.from(sealed.salt, "base64"), sealed.N, sealed.r, sealed.p);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]);
  } catch {
    throw new RuntimeError(`cannot decrypt ${what}: wrong passphrase (or the backup was changed)`);
  }
}
