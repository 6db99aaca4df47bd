/**
 * jetstream-credential.ts is unibus's own way into the JetStream API of the
 * account clients use (nats's global account): a user nkey generated on the
 * first start and kept in the data dir (0600), like the system account's
 * (system-credential.ts). The system account cannot call another account's
 * `$JS.API`, so backup and restore sign in here. Its public key is rendered
 * into the client users table, limited to plain NATS connections and to the
 * JetStream API and snapshot subjects; a node whose clients are anonymous
 * renders no users table and the tools connect as anonymous clients do.
 */
import { dataDirLayout } from "../data-dir.ts";
import { ensureUserSeedFile, loadUserSeedFile, type SystemCredential } from "./system-credential.ts";

/** JetstreamCredential is the node's own nkey in the clients' account (same shape as the system one). */
export type JetstreamCredential = SystemCredential;

/** jetstreamSeedPath is where a data dir keeps the seed. */
export function jetstreamSeedPath(dataDir: string): string {
  return dataDirLayout(dataDir).jetstreamSeed;
}

/** loadJetstreamCredential reads the node's seed; it never creates one (the node does at start). */
export function loadJetstreamCredential(dataDir: string): JetstreamCredential {
  return loadUserSeedFile(jetstreamSeedPath(dataDir));
}

/** ensureJetstreamCredential loads the node's seed, generating it (0600) on the first start. */
export function ensureJetstreamCredential(dataDir: string): JetstreamCredential {
  return ensureUserSeedFile(jetstreamSeedPath(dataDir));
}
