/**
 * cluster-fixtures.ts builds what the cluster tests share: a CA and route
 * secret on disk, node configs for a loopback cluster on free ports, TLS
 * client connections and small readers of nats monitoring.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort } from "./_helpers.ts";

/** LoopbackNode is one node of a loopback cluster: its ports, files and (once started) process. */
export interface LoopbackNode {
  name: string;
  dir: string;
  config: string;
  dataDir: string;
  client: number;
  monitor: number;
  route: number;
  proc?: RunningUnibus;
}

/** LoopbackCluster is a cluster whose nodes all listen on 127.0.0.1 with distinct ports. */
export interface LoopbackCluster {
  name: string;
  secret: string;
  secretFile: string;
  ca: { dir: string; cert: string; key: string };
  nodes: LoopbackNode[];
}

/** randomSecret makes a route secret with characters that need URL encoding, to prove they are handled. */
export function randomSecret(): string {
  return `s3cr+t/${crypto.randomUUID()}=x`;
}

/** makeLoopbackCluster writes a CA, a 0600 secret file and one config per node into dir. */
export async function makeLoopbackCluster(dir: string, names: string[], options: { clusterName?: string; debugFirst?: boolean } = {}): Promise<LoopbackCluster> {
  const ca = await makeCaDir(dir, "ca");
  const secret = randomSecret();
  const secretFile = join(dir, "cluster.secret");
  writeFileSync(secretFile, secret + "\n", { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  const nodes: LoopbackNode[] = [];
  for (const name of names) {
    const nodeDir = join(dir, name);
    mkdirSync(nodeDir, { recursive: true });
    nodes.push({ name, dir: nodeDir, config: join(nodeDir, "node.toml"), dataDir: join(nodeDir, "data"), client: await freePort(), monitor: await freePort(), route: await freePort() });
  }
  const clusterName = options.clusterName ?? "looptest";
  const peers = nodes.map((n) => `"127.0.0.1:${n.route}"`).join(", ");
  for (const [i, n] of nodes.entries()) {
    writeFileSync(n.config, `[node]
name = "${n.name}"
data_dir = "data"
[client]
listen = "127.0.0.1:${n.client}"
[monitor]
listen = "127.0.0.1:${n.monitor}"
[admin]
listen = "127.0.0.1:${await freePort()}"
[log]
level = "${options.debugFirst && i === 0 ? "debug" : "info"}"
[jetstream]
max_file = "256MiB"
max_memory = "64MiB"
[cluster]
name = "${clusterName}"
listen = "127.0.0.1:${n.route}"
# Its own free port: the default (route port + 1) is not reserved, and another node's port could be it.
join_listen = "127.0.0.1:${await freePort()}"
peers = [${peers}]
secret_file = "${secretFile}"
[tls]
ca_cert = "${ca.cert}"
ca_key = "${ca.key}"
`);
  }
  return { name: clusterName, secret, secretFile, ca, nodes };
}

/** startNode spawns the node's unibus (the compiled executable). */
export function startNode(node: LoopbackNode, env: Record<string, string> = {}): RunningUnibus {
  node.proc = new RunningUnibus(["--config", node.config], env);
  return node.proc;
}

/** tlsConnect opens a NATS connection that verifies the nodes against the cluster CA. */
export function tlsConnect(ports: number[], caFile: string, host = "127.0.0.1"): Promise<NatsConnection> {
  return connect({
    servers: ports.map((p) => `tls://${host}:${p}`),
    tls: { caFile },
    timeout: 5_000,
    reconnectTimeWait: 250,
    maxReconnectAttempts: -1,
  });
}

/** monitorJson reads one nats monitoring endpoint; undefined when the node does not answer. */
export async function monitorJson<T = Record<string, any>>(port: number, endpoint: string, host = "127.0.0.1"): Promise<T | undefined> {
  try {
    const res = await fetch(`http://${host}:${port}/${endpoint}`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** routeNames lists the remote server names in a node's /routez. */
export async function routeNames(port: number): Promise<string[]> {
  const routez = await monitorJson<{ routes?: { remote_name: string }[] }>(port, "routez");
  return (routez?.routes ?? []).map((r) => r.remote_name).sort();
}

/** metaLeader returns the JetStream meta leader a node reports, if any. */
export async function metaLeader(port: number): Promise<string | undefined> {
  const jsz = await monitorJson<{ meta_cluster?: { leader?: string } }>(port, "jsz");
  return jsz?.meta_cluster?.leader || undefined;
}

/**
 * metaGroupOf tells whether the node on monitoring `port` sees a JetStream
 * meta group of `size` with a leader and every other member listed. A meta
 * leader alone is not that: under load the group elects one while the third
 * server is still outside it (cluster_size 2), and asking about that server
 * then answers "not a member of the cluster".
 */
export async function metaGroupOf(port: number, size: number): Promise<boolean> {
  const jsz = await monitorJson<{ meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string }[] } }>(port, "jsz");
  const meta = jsz?.meta_cluster;
  return Boolean(meta?.leader) && meta?.cluster_size === size && (meta?.replicas ?? []).length === size - 1;
}

/** elapsed formats a duration for the timing lines the tests print. */
export function ms(from: number, to = performance.now()): number {
  return Math.round(to - from);
}
