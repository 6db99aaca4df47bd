/**
 * connect.ts opens the connection backup and restore work through: the
 * node's own client port (loopback when it listens on every interface), into
 * the clients' account, signed with the node's JetStream key when the node
 * renders a users table (lib/natsd/jetstream-credential.ts), verified
 * against the cluster CA when the port speaks TLS. Whether it does depends
 * on the cluster's users as the node last knew them (its copy), so the
 * connection is anonymous when the node renders no users table, and signed
 * otherwise, each falling back to the other (the users may have changed).
 */
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { RuntimeError } from "../errors.ts";
import { loadJetstreamCredential } from "../natsd/jetstream-credential.ts";
import { systemEndpoint } from "../natsd/system-client.ts";
import { rendersUsersTable } from "../config/section-client.ts";
import { AccessLedger, type AccessEntry } from "../access/ledger.ts";

/** knownClusterUsers are the cluster's users as the node's copy holds them; none when it cannot be read. */
function knownClusterUsers(config: UnibusConfig): readonly AccessEntry[] {
  if (!config.cluster || !config.tls) return [];
  try {
    return new AccessLedger(config.node.dataDir).all();
  } catch {
    return [];
  }
}

/** connectJetstream connects to the node described by config; the error says whether the node runs. */
export async function connectJetstream(config: UnibusConfig, name = "unibus-backup"): Promise<NatsConnection> {
  const endpoint = systemEndpoint(config);
  const seed = loadJetstreamCredential(config.node.dataDir).seed;
  const options = {
    servers: endpoint.hostPort,
    name,
    ...(endpoint.caFile ? { tls: { caFile: endpoint.caFile } } : {}),
    timeout: 5_000,
    reconnect: false,
    maxReconnectAttempts: 0,
  };
  // Without a users table the node admits anonymous clients and refuses an unknown key with an
  // "authentication error" in its log (which status and the bed count): do not present one then.
  if (!rendersUsersTable(config, knownClusterUsers(config))) {
    try {
      return await connect(options);
    } catch {
      // the users may have changed since: try the key below
    }
  }
  try {
    return await connect({ ...options, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) });
  } catch (signed) {
    try {
      return await connect(options);
    } catch {
      throw new RuntimeError(`cannot reach node ${config.node.name} at ${endpoint.hostPort}: ${(signed as Error).message}; is unibus running with ${config.file}?`);
    }
  }
}
