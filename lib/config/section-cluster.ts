/**
 * section-cluster.ts is the [cluster] table of node.toml: the route layer
 * that joins several unibus nodes into one bus. It owns the schema, the
 * effective value (own address found among the peers, route secret read from
 * a private file or $UNIBUS_CLUSTER_SECRET), the cross checks, the rendered
 * nats-server `cluster {}` block and the redacted view for `config check`,
 * registered as clusterSection.
 *
 * Routes are mutual TLS (both ends present a certificate from the cluster CA)
 * AND authenticated with the route secret: a box needs both to join. The
 * route secret is its own trust boundary, never a client credential.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { filePath, listenValue, parsed } from "./_parsed.ts";
import { isBcryptHash } from "../auth/bcrypt.ts";
import { readSecretEnv, readSecretFile, redactedSecret, type ResolvedSecret } from "../auth/secret-source.ts";
import type { HostInfo } from "../host.ts";
import { CLUSTER, DEFAULTS } from "./defaults.ts";
import { differs, presence, secretForms, type ConfigIssue, type Listener, type NodeTlsFiles, type ResolveContext, type Section } from "./section.ts";
import { renderDiscovery } from "./section-discovery.ts";
import { NODE_NAME_HINT, isValidNodeName, canonicalIp, isWildcard, joinHostPort, parseListen, parsePeer, type HostPort } from "./units.ts";
import type { ClusterConfig, UnibusConfig } from "./config-types.ts";
export type { ClusterConfig } from "./config-types.ts";

/** CLUSTER_SECRET_ENV names the environment variable that can carry the route secret instead of secret_file. */
export const CLUSTER_SECRET_ENV = "UNIBUS_CLUSTER_SECRET";

/** clusterTable validates the [cluster] table. */
const clusterTable = z.strictObject({
  name: z.string({ error: "expected a string" }).refine(isValidNodeName, { message: `expected ${NODE_NAME_HINT}` }),
  listen: listenValue.default(DEFAULTS.clusterListen),
  peers: z.array(parsed(parsePeer), { error: 'expected a list of peer addresses like ["10.0.0.11:6222", "10.0.0.12:6222"]' })
    .min(1, "expected at least one peer address (every node of the cluster, this one included)"),
  secret_file: filePath.optional(),
  advertise: parsed(parsePeer).optional(),
  join_listen: listenValue.optional(),
});

/** RawCluster is the validated [cluster] table. */
export type RawCluster = z.output<typeof clusterTable>;


/**
 * resolveCluster applies defaults, reads the route secret ($UNIBUS_CLUSTER_SECRET
 * wins over secret_file) and finds this node among the peers. It never
 * throws: what is wrong is kept for checkCluster, which reports it at its key.
 */
function resolveCluster(raw: RawCluster, at: (p: string) => string, env: Record<string, string | undefined>, host: HostInfo): ClusterConfig {
  const listen = raw.listen;
  const problems: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  raw.peers.forEach((peer, i) => {
    const key = peer.text.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) problems.push({ path: ["cluster", "peers", i], message: `"${peer.text}" is listed twice (also peers[${first}]); expected each node once` });
    else seen.set(key, i);
  });
  let self: HostPort | undefined;
  let selfFrom: ClusterConfig["selfFrom"] = "none";
  if (raw.advertise) {
    self = raw.advertise;
    selfFrom = "advertise";
  } else {
    const mine = raw.peers.filter((peer, i) => seen.get(peer.text.toLowerCase()) === i && isThisHost(peer, listen, host));
    if (mine.length > 1) {
      problems.push({
        path: ["cluster", "peers"],
        message: `${mine.map((p) => `"${p.text}"`).join(" and ")} all name this node (port ${listen.port} on this host); expected one address per node, or set cluster.advertise = "HOST:PORT" to say which one is this node`,
      });
    }
    if (mine.length === 1) {
      self = mine[0];
      selfFrom = "peers";
    }
    if (mine.length === 0) {
      const where = isWildcard(listen.host) ? ` and an address of this host (${[host.hostname, ...host.addresses.filter((a) => !a.includes("%"))].join(", ")})` : ` at ${listen.host}`;
      problems.push({
        path: ["cluster", "peers"],
        message: `none of the peers is this node: expected one peer with port ${listen.port}${where}; add this node's address, or set cluster.advertise = "HOST:PORT" to name it`,
      });
    }
  }
  const routes = raw.peers.filter((peer, i) => seen.get(peer.text.toLowerCase()) === i && !(self && sameAddress(peer, self)));
  const secret = env[CLUSTER_SECRET_ENV]
    ? readSecretEnv(CLUSTER_SECRET_ENV, "secret_file", env)
    : raw.secret_file
      ? readSecretFile(at(raw.secret_file), "secret_file")
      : { source: "none", key: "secret_file", error: `expected secret_file = "FILE" (a private file holding the route secret) or the environment variable ${CLUSTER_SECRET_ENV}` };
  const joinListen = raw.join_listen ?? (parseListen(joinHostPort(listen.host, listen.port < 65535 ? listen.port + 1 : listen.port - 1)) as HostPort);
  return { name: raw.name, listen, joinListen, joinListenSet: raw.join_listen !== undefined, peers: raw.peers, ...(self ? { self } : {}), selfFrom, routes, secret, problems };
}

/** checkCluster reports what spans several keys: missing [tls], unreadable or weak secret, own address. */
function checkCluster(config: UnibusConfig): ConfigIssue[] {
  const cluster = config.cluster;
  if (!cluster) return [];
  const issues: ConfigIssue[] = [...cluster.problems];
  if (!config.tls) {
    issues.push({ path: ["cluster"], message: "expected a [tls] section with ca_cert (and ca_key, or cert and key): routes between nodes are mutual TLS with certificates from the cluster CA" });
  }
  const secret = cluster.secret;
  if (secret.error) {
    issues.push({ path: secret.source.startsWith("env ") || secret.source === "none" ? ["cluster"] : ["cluster", "secret_file"], message: secret.error });
  } else if (secret.value!.length < CLUSTER.minSecretLength) {
    issues.push({ path: ["cluster", "secret_file"], message: `expected a route secret of at least ${CLUSTER.minSecretLength} characters (from ${secret.source}); make one with: openssl rand -base64 32` });
  } else if (isBcryptHash(secret.value!) || /[\s]/.test(secret.value!)) {
    issues.push({ path: ["cluster", "secret_file"], message: `expected the route secret itself on one line without spaces, not a hash (from ${secret.source}): nodes dial each other with it` });
  }
  return issues;
}

/** ROUTE_USER is the user name routes authenticate as; the secret is what matters. */
export const ROUTE_USER = "unibus-route";

/**
 * renderCluster builds nats-server's `cluster {}` block: full-mesh routes
 * carrying the secret (the file is 0600), the bcrypt hash of the secret for
 * incoming routes, mutual TLS with the node certificate, and the small-cluster
 * tuning in CLUSTER (see defaults.ts for why). Whether client URLs are
 * gossiped (no_advertise) is section-discovery.ts's decision.
 */
function renderCluster(cluster: ClusterConfig, tls: NodeTlsFiles | undefined): Record<string, unknown> {
  if (!tls) throw new Error("renderCluster needs the node certificate: [cluster] requires [tls]");
  const secret = clusterSecret(cluster);
  const password = encodeURIComponent(secret);
  return {
    name: cluster.name,
    listen: cluster.listen.text,
    ...(cluster.self ? { advertise: cluster.self.text } : {}),
    routes: renderedRoutes(cluster).map((peer) => `nats-route://${ROUTE_USER}:${password}@${peer.text}`),
    // The secret itself, not a hash: nats dials gossiped (implicit) routes with
    // this password, so a hash here made every route to a member that was not
    // in cluster.peers fail authentication. The file is 0600 and already
    // carries the secret in the route URLs above.
    authorization: { user: ROUTE_USER, password: secret, timeout: CLUSTER.authTimeoutS },
    tls: { cert_file: tls.certFile, key_file: tls.keyFile, ca_file: tls.caFile, verify: true, timeout: DEFAULTS.tlsTimeoutS },
    pool_size: CLUSTER.poolSize,
    compression: CLUSTER.compression,
    ping_interval: CLUSTER.pingInterval,
    ping_max: CLUSTER.pingMax,
  };
}

/**
 * renderedRoutes is the route address of every other member; a cluster of
 * one (the first box, before others join) gets its own address instead,
 * since nats ignores a route to itself but clustered JetStream refuses to
 * start without one configured route.
 *
 * Never this node's own address beside the others: a fresh JetStream meta
 * group takes its expected size from the number of configured routes
 * (server/raft.go, bootstrapRaftNode), and its first election counts the
 * votes of servers with an empty log only when every one of that many
 * servers voted (NRG's empty-log protection; the meta group always starts
 * "recovering"). With all N members listed, a new three-node cluster with
 * one box down or set up wrong never elected a meta leader; with the N-1
 * others, two of three do, and the group grows as the third arrives.
 * MQTT's stream replicas do not depend on this count: [mqtt] renders
 * stream_replicas from the members (section-edge.ts, mqttStreamReplicas).
 */
export function renderedRoutes(cluster: ClusterConfig): HostPort[] {
  return cluster.routes.length || !cluster.self ? cluster.routes : [cluster.self];
}

/**
 * clusterSize is how many members this node's config (with the members
 * list folded in, lib/membership/routes.ts) says the cluster has: the routes
 * it dials plus itself.
 */
export function clusterSize(cluster: ClusterConfig): number {
  return cluster.routes.length + 1;
}

/** clusterSecret returns the route secret of a checked config (load.ts has refused configs without one). */
function clusterSecret(cluster: ClusterConfig): string {
  if (cluster.secret.value === undefined) throw new Error(`cluster route secret is unavailable: ${cluster.secret.error ?? "not set"}`);
  return cluster.secret.value;
}

/** effectiveCluster is the [cluster] table for `config check` and the admin page; the secret never appears. */
function effectiveCluster(cluster: ClusterConfig): Record<string, unknown> {
  return {
    name: cluster.name,
    listen: cluster.listen.text,
    peers: cluster.peers.map((p) => p.text),
    ...(cluster.self ? { advertise: cluster.self.text } : {}),
    join_listen: cluster.joinListen.text,
    ...(cluster.secret.source.startsWith("file ") ? { secret_file: cluster.secret.source.slice(5) } : {}),
    secret: redactedSecret(cluster.secret),
  };
}

function isThisHost(peer: HostPort, listen: HostPort, host: HostInfo): boolean {
  if (peer.port !== listen.port) return false;
  if (!isWildcard(listen.host)) return sameHost(peer.host, listen.host);
  const names = [host.hostname, host.hostname.split(".")[0] ?? "", "localhost"].filter(Boolean);
  if (!isIP(peer.host)) return names.some((n) => n.toLowerCase() === peer.host.toLowerCase());
  return host.addresses.some((a) => sameHost(a.split("%")[0]!, peer.host));
}

function sameAddress(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && sameHost(a.host, b.host);
}

function sameHost(a: string, b: string): boolean {
  if (isIP(a) === 6 && isIP(b) === 6) return canonicalIp(a) === canonicalIp(b);
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * joinAndRouteListeners are the route port and, on a node holding the CA
 * key, the join port unibus itself opens (lib/membership): a join port on
 * another listener's port would only fail at run time, after the bus started.
 */
function joinAndRouteListeners({ cluster, tls }: UnibusConfig): Listener[] {
  if (!cluster) return [];
  const route: Listener = { path: ["cluster", "listen"], listen: cluster.listen };
  if (!tls?.caKey) return [route];
  const join: Listener = { path: ["cluster", "join_listen"], listen: cluster.joinListen };
  if (!cluster.joinListenSet) join.origin = `is not set: it defaults to the route port + 1 (${cluster.joinListen.text}); set [cluster] join_listen = "HOST:PORT" to a free port`;
  return [route, join];
}

/** clusterSection is the [cluster] table: routes between the nodes of one cluster. */
export const clusterSection = {
  key: "cluster",
  schema: (ctx: ResolveContext) => clusterTable.optional().transform((raw) => raw && resolveCluster(raw, ctx.at, ctx.env, ctx.host)),
  checks: checkCluster,
  listeners: joinAndRouteListeners,
  secrets: ({ cluster }) => secretForms(cluster?.secret.value),
  // Peers dial this node at its own address: the certificate must name it.
  sans: ({ cluster }) => (cluster?.self ? [cluster.self.host] : []),
  render: (config, { tls }) => (config.cluster ? { cluster: { ...renderCluster(config.cluster, tls), no_advertise: renderDiscovery(config).noAdvertise } } : {}),
  effective: ({ cluster }) => cluster && effectiveCluster(cluster),
  // nats would take a new cluster name live and split this node from its cluster at once.
  restartOnly: (a, b) => presence("cluster", a.cluster, b.cluster) ?? differs("cluster.name", a.cluster?.name, b.cluster?.name),
} satisfies Section<"cluster", ClusterConfig | undefined>;
