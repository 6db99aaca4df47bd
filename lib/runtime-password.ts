/**
 * runtime-password.ts hashes passwords with the runtime's native bcrypt
 * (Bun.password). The JavaScript bcrypt costs about 2.8 s per hash at cost
 * 10 with JSC's JIT tiers off (the way the node runs, runtime-memory.ts);
 * the native one costs about 70 ms, and its asynchronous form runs on a
 * worker thread, so a start that hashes passwords still answers SIGTERM.
 */

/** NATIVE_BCRYPT_MAX_BYTES is the longest password the native hash takes as is: beyond 72 bytes Bun pre-hashes it with SHA-512, which nats-server's bcrypt would not match. */
export const NATIVE_BCRYPT_MAX_BYTES = 72;

/** nativeBcryptFits tells whether a password can go through the native hash and still verify in nats-server. */
export function nativeBcryptFits(password: string): boolean {
  return Buffer.byteLength(password, "utf8") <= NATIVE_BCRYPT_MAX_BYTES;
}

/** nativeBcryptSync returns a "$2b$" bcrypt hash of password (at most 72 bytes) at the given cost, blocking the caller. */
export function nativeBcryptSync(password: string, cost: number): string {
  return Bun.password.hashSync(password, { algorithm: "bcrypt", cost });
}

/** nativeBcrypt returns a "$2b$" bcrypt hash of password (at most 72 bytes) at the given cost, computed off the event loop. */
export function nativeBcrypt(password: string, cost: number): Promise<string> {
  return Bun.password.hash(password, { algorithm: "bcrypt", cost });
}
