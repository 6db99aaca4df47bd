/**
 * bcrypt.ts hashes passwords the way nats-server checks them. nats-server
 * accepts bcrypt hashes in `authorization { users }`, so the rendered config
 * never holds a client password in clear, and nats does not warn about
 * plaintext passwords.
 */
import bcrypt from "bcryptjs";

/** BCRYPT_COST is the work factor: nats-server pays it at every client connect, so it stays modest for a Raspberry Pi. */
export const BCRYPT_COST = 10;

/** BCRYPT_HINT describes a hash nats-server accepts. */
export const BCRYPT_HINT = 'a bcrypt hash like "$2a$10$…" (make one with: unibus passwd)';

/** isBcryptHash tells whether a string is a complete bcrypt hash nats-server accepts. */
export function isBcryptHash(value: string): boolean {
  return /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(value);
}

/** hashPassword returns a fresh bcrypt hash of a password. */
export function hashPassword(password: string, cost = BCRYPT_COST): string {
  return bcrypt.hashSync(password, cost);
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
