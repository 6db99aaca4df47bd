/**
 * system-credential.ts is unibus's own way into nats-server's system
 * account: a user nkey generated on the first start and kept in the data dir
 * (0600, like the admin token). The public key is rendered into the
 * system account; the seed lets unibus (metrics, `unibus remove`,
 * `unibus context`) sign the server's challenge. It is node-local: each node
 * of a cluster has its own, so copying one data dir's file never opens another.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { createUser, fromSeed } from "@nats-io/nkeys";
import { RuntimeError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";

/** SystemCredential is the node's own system-account nkey. */
export interface SystemCredential {
  /** The seed file (what a nats CLI context's "nkey" points at). */
  file: string;
  /** The secret seed ("SU…"); register it with the logger's redactor. */
  seed: string;
  /** The public key ("U…") rendered into the system account. */
  publicKey: string;
  /** True when this call created the file. */
  generated: boolean;
}

/** systemSeedPath is where a data dir keeps the seed. */
export function systemSeedPath(dataDir: string): string {
  return dataDirLayout(dataDir).systemSeed;
}

function fromSeedText(text: string, file: string): { seed: string; publicKey: string } {
  const seed = text.trim();
  try {
    const pair = fromSeed(new TextEncoder().encode(seed));
    const publicKey = pair.getPublicKey();
    if (!publicKey.startsWith("U")) throw new Error("not a user seed");
    return { seed, publicKey };
  } catch (err) {
    throw new RuntimeError(`${file} does not hold a user nkey seed (${(err as Error).message}); delete it and restart unibus to make a new one`);
  }
}

/**
 * loadSystemCredential reads the node's seed, refusing a file others can
 * read; it never creates one (use ensureSystemCredential at start).
 */
export function loadSystemCredential(dataDir: string): SystemCredential {
  return loadUserSeedFile(systemSeedPath(dataDir));
}

/**
 * loadUserSeedFile reads a user nkey seed file unibus keeps (0600), refusing
 * one others can read; errors say how to fix the file or who may read it.
 */
export function loadUserSeedFile(file: string): SystemCredential {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) throw new RuntimeError(`${file} must be readable by its owner only (chmod 600 ${file}); it has mode ${mode.toString(8).padStart(4, "0")}`);
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new RuntimeError(`${file} does not exist: the node makes it on its first start; start unibus with this config first`);
    if (code === "EACCES") throw new RuntimeError(`cannot read ${file}: permission denied; run as the user the node runs as (e.g. sudo -u unibus, or sudo)`);
    throw new RuntimeError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return { file, ...fromSeedText(text, file), generated: false };
}

/** ensureSystemCredential loads the node's seed, generating it (0600) on the first start. */
export function ensureSystemCredential(dataDir: string): SystemCredential {
  return ensureUserSeedFile(systemSeedPath(dataDir));
}

/** ensureUserSeedFile loads a user nkey seed file, generating it (0600) when it does not exist. */
export function ensureUserSeedFile(file: string): SystemCredential {
  if (existsSync(file)) return loadUserSeedFile(file);
  const pair = createUser();
  const seed = new TextDecoder().decode(pair.getSeed());
  writeFileAtomic(file, `${seed}\n`, 0o600);
  return { file, seed, publicKey: pair.getPublicKey(), generated: true };
}
