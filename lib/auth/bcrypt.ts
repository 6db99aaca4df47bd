/**
 * bcrypt.ts hashes passwords the way nats-server checks them. nats-server
 * accepts bcrypt hashes in `authorization { users }`, so the rendered config
 * never holds a client password in clear, and nats does not warn about
 * plaintext passwords. Hashes are native (lib/runtime-password.ts) where the
 * password allows, and each password is hashed once per process.
 */
import bcrypt from "bcryptjs";
import { nativeBcrypt, nativeBcryptFits, nativeBcryptSync } from "../runtime-password.ts";

/** BCRYPT_COST is the work factor: nats-server pays it at every client connect, so it stays modest for a Raspberry Pi. */
export const BCRYPT_COST = 10;

/** BCRYPT_HINT describes a hash nats-server accepts. */
export const BCRYPT_HINT = 'a bcrypt hash like "$2a$10$…" (make one with: unibus passwd)';

/** isBcryptHash tells whether a string is a complete bcrypt hash nats-server accepts. */
export function isBcryptHash(value: string): boolean {
  return /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(value);
}

/** hashPassword returns a fresh bcrypt hash of a password (native up to 72 bytes, JavaScript beyond). */
export function hashPassword(password: string, cost = BCRYPT_COST): string {
  return nativeBcryptFits(password) ? nativeBcryptSync(password, cost) : bcrypt.hashSync(password, cost);
}

const cache = new Map<string, string>();

/**
 * natsPasswordHash returns the hash rendered for a secret: a bcrypt hash
 * passes through; a password is hashed once per process, so reloads and
 * certificate renewals do not pay for bcrypt again.
 */
export function natsPasswordHash(secret: string): string {
  if (isBcryptHash(secret)) return secret;
  let hash = cache.get(secret);
  if (!hash) {
    hash = hashPassword(secret);
    cache.set(secret, hash);
  }
  return hash;
}

/**
 * prepareNatsPasswordHashes hashes the secrets natsPasswordHash will be asked
 * for, off the event loop, one at a time, stopping early when `stopped` says
 * so: a start or reload that renders many passwords stays responsive to
 * signals, and rendering then finds every hash ready.
 */
export async function prepareNatsPasswordHashes(secrets: Iterable<string>, stopped: () => boolean = () => false): Promise<void> {
  for (const secret of secrets) {
    if (stopped()) return;
    if (!secret || isBcryptHash(secret) || cache.has(secret)) continue;
    if (!nativeBcryptFits(secret)) continue; // the JavaScript hash blocks anyway; natsPasswordHash pays it at render
    cache.set(secret, await nativeBcrypt(secret, BCRYPT_COST));
  }
}
