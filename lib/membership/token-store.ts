/**
 * token-store.ts keeps the join tokens a CA holder has handed out, in
 * `join-tokens.secret` beside its config: root writes it (`unibus token
 * create`/`revoke`), the running node only reads it when a box asks to join,
 * so a revoke takes effect at once and without a reload. The file holds the
 * secrets (the node must check proofs), so it is private like the route secret.
 *
 * Every change reads, changes and rewrites the whole file, under an flock on
 * `.join-tokens.secret.lock` beside it: two `unibus token create` run at the
 * same moment once both read the old file and the second rename dropped the
 * first one's token. The lock is on a file of its own because the store is
 * replaced by a rename (a lock on the store would stay on the old inode).
 * The node only reads (a rename is atomic), so it never takes the lock.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { ownerOf, writeFileAtomic } from "../fsutil.ts";
import { lockFileWaiting } from "../runtime-flock.ts";
import { newTokenParts, type JoinToken } from "./token.ts";

/** TOKEN_STORE_FILE is the store's name beside the config file. */
export const TOKEN_STORE_FILE = "join-tokens.secret";

/** TokenRecord is one issued token. */
export interface TokenRecord {
  id: string;
  secret: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** TokenState is what list shows for a token. */
export type TokenState = "valid" | "expired" | "revoked";

/** tokenStorePath is where a node's tokens live: beside its config. */
export function tokenStorePath(configFile: string): string {
  return join(dirname(configFile), TOKEN_STORE_FILE);
}

/** TOKEN_STORE_LOCK_WAIT_MS bounds the wait for another writer of the store (milliseconds; a change holds the lock for a few). */
export const TOKEN_STORE_LOCK_WAIT_MS = 10_000;

/** tokenStoreLockPath is the lock file every change of the store `file` holds: hidden, beside it. */
export function tokenStoreLockPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.lock`);
}

/**
 * withStoreLock runs `change` (a read-modify-write of the store `file`)
 * holding the store's lock, so concurrent writers take turns instead of
 * losing each other's tokens. A lock still held after
 * TOKEN_STORE_LOCK_WAIT_MS is a RuntimeError naming the lock file.
 */
function withStoreLock<T>(file: string, change: () => T): T {
  const path = tokenStoreLockPath(file);
  let lock;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    lock = lockFileWaiting(path, TOKEN_STORE_LOCK_WAIT_MS);
  } catch (err) {
    throw new RuntimeError(`cannot lock the join token store ${file} (lock file ${path}): ${(err as Error).message}; run this as root, or as the user who owns ${dirname(file)}`);
  }
  if (!lock) throw new RuntimeError(`another process has held the join token store's lock ${path} for ${TOKEN_STORE_LOCK_WAIT_MS / 1000} s (a unibus token or ca command still running?); wait for it to end (ps -C unibus) and run this again`);
  try {
    return change();
  } finally {
    lock.release();
  }
}

/** readTokens returns the stored tokens; a missing file is an empty store. */
export function readTokens(file: string): TokenRecord[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new ConfigError(`cannot read the join token store ${file}: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as { tokens?: TokenRecord[] };
    return Array.isArray(doc.tokens) ? doc.tokens : [];
  } catch {
    throw new ConfigError(`join token store ${file} is not valid JSON; remove it (every token in it stops working) and create new tokens with: unibus token create`);
  }
}

/** tokenState says whether a token can still be used at now. */
export function tokenState(t: TokenRecord, now = new Date()): TokenState {
  if (t.revokedAt) return "revoked";
  return Date.parse(t.expiresAt) <= now.getTime() ? "expired" : "valid";
}

/**
 * createToken adds a token valid for ttlMs and returns it. Tokens that
 * expired or were revoked more than a week ago are dropped from the file.
 * `like` is a file whose owner, group and mode the store copies (the route
 * secret): root writing /etc/unibus keeps it readable by the service group.
 */
export function createToken(file: string, caDigest: string, ttlMs: number, like?: string, now = new Date()): { token: JoinToken; record: TokenRecord } {
  const { id, secret } = newTokenParts();
  const record: TokenRecord = { id, secret, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
  const weekAgo = now.getTime() - 7 * 24 * 3600 * 1000;
  withStoreLock(file, () => {
    const kept = readTokens(file).filter((t) => tokenState(t, now) === "valid" || Date.parse(t.revokedAt ?? t.expiresAt) > weekAgo);
    writeTokens(file, [...kept, record], like);
  });
  return { token: { caDigest, id, secret }, record };
}

/** revokeToken marks a token revoked; unknown ids are a usage error listing the known ones. */
export function revokeToken(file: string, id: string, like?: string, now = new Date()): TokenRecord {
  return withStoreLock(file, () => {
    const tokens = readTokens(file);
    const t = tokens.find((x) => x.id === id || `${x.id}` === id.replace(/^UB1-[0-9a-f]{64}-/, "").slice(0, 6));
    if (!t) throw new UsageError(`no join token with id ${JSON.stringify(id)} in ${file}; known: ${tokens.map((x) => x.id).join(", ") || "none"} (see: unibus token list)`);
    if (!t.revokedAt) t.revokedAt = now.toISOString();
    writeTokens(file, tokens, like);
    return t;
  });
}

/**
 * writeTokens replaces the store atomically. The new file keeps the owner,
 * group and mode of the store it replaces (install.sh made it readable by the
 * service group), else those of `like`: root running `token revoke` on an
 * installed node once left a root-only file the service could not read, and
 * every join after it was refused with EACCES.
 */
function writeTokens(file: string, tokens: TokenRecord[], like?: string): void {
  const reference = ownerOf(file) ?? (like ? ownerOf(like) : undefined);
  writeFileAtomic(file, JSON.stringify({ tokens }, null, 2) + "\n", ((reference?.mode ?? 0) & 0o640) | 0o600, reference);
}
