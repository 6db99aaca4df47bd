/**
 * connect.ts opens the connection backup and restore work through: the
 * node's own client port (loopback when it listens on every interface), into
 * the clients' account, signed with the node's JetStream key when the node
 * renders a users table (lib/natsd/jetstream-credential.ts), verified
 * against the cluster CA when the port speaks TLS. Whether it does depends
 * on the cluster's users as the node last knew them, so the key is tried
 * first and an anonymous connection second (a node without users admits
 * anonymous clients, whatever they present).
 */
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { RuntimeError } from "../errors.ts";
import { loadJetstreamCredential } from "../natsd/jetstream-credential.ts";
import { systemEndpoint } from "../natsd/system-client.ts";

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
