/**
 * init-cluster.ts implements `unibus init cluster`: everything a home lab
 * needs to form one bus, made in one step on one machine: the cluster CA, a
 * strong route secret (0600) and one annotated config per node. Each node
 * issues its own certificate from the CA at start, with its address as SAN.
 */
import { randomBytes } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { CLUSTER_SECRET_ENV } from "../config/section-cluster.ts";
import { NODE_NAME_HINT, PEER_HINT, isValidNodeName, joinHostPort, parsePeer, withDefaultPort, type HostPort } from "../config/units.ts";
import { pathExists } from "../fsutil.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { CA_CERT_FILE, CA_KEY_FILE, createCa, loadCa, writeCaFiles, type NewCa } from "../pki/index.ts";
import { readFileSync } from "node:fs";
import { createToken, TOKEN_STORE_FILE } from "../membership/token-store.ts";
import { caDigest, formatToken } from "../membership/token.ts";
import { isLoopback, parseDuration, parseListen } from "../config/units.ts";
import { parseCommand } from "./_flags.ts";
import { INSTALLED_CONFIG_FILE } from "../config/installed.ts";



/** GATEWAY_SECRET_FILE is the gateway secret's file name in the output folder (--site): the same on every site. */
export const GATEWAY_SECRET_FILE = "gateway.secret";
/** SECRET_FILE is the route secret's file name in the output folder. */
export const SECRET_FILE = "cluster.secret";
/** CERTS_DIR is the CA's folder inside the output folder. */
export const CERTS_DIR = "certs";

/** ClusterNode is one --node argument. */
interface ClusterNode { name: string; address: HostPort }

/** run writes the cluster files, refusing to overwrite any of them without --force. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("init cluster", args);
  const clientListen = values["client-listen"] === undefined ? DEFAULTS.clientListen : parseListen(values["client-listen"]);
  if (typeof clientListen === "string") throw new UsageError(`--client-listen ${JSON.stringify(values["client-listen"])} is invalid: expected ${clientListen}`);
  const mqttListen = values["mqtt-listen"] === undefined ? undefined : parseListen(values["mqtt-listen"]);
  if (typeof mqttListen === "string") throw new UsageError(`--mqtt-listen ${JSON.stringify(values["mqtt-listen"])} is invalid: expected ${mqttListen}`);
  const name = values.name;
  if (!name) throw new UsageError(`--name NAME is required`);
  if (!isValidNodeName(name)) throw new UsageError(`--name ${JSON.stringify(name)} is invalid: expected ${NODE_NAME_HINT}`);
  if (!values.out) throw new UsageError(`--out DIR is required`);
  const nodes = parseNodes(values.node ?? []);
  const out = resolve(values.out);
  const certsDir = join(out, CERTS_DIR);
  const secretFile = join(out, SECRET_FILE);
  const configFiles = nodes.map((n) => join(out, `${n.name}.toml`));
  const site = Boolean(values.site);
  const gatewaySecretFile = join(out, GATEWAY_SECRET_FILE);
  // Another site made with --ca keeps its gateway secret beside its certs/: every site signs in with the same one.
  const siblingSecret = values.ca !== undefined ? join(resolve(values.ca), "..", GATEWAY_SECRET_FILE) : undefined;
  const reuseGatewaySecret = site && siblingSecret !== undefined && resolve(siblingSecret) !== gatewaySecretFile && pathExists(siblingSecret);

  // --ca OUT/certs reuses the CA where it already is.
  const caInPlace = values.ca !== undefined && resolve(values.ca) === certsDir;
  if (!values.force) {
    for (const file of [...(caInPlace ? [] : [join(certsDir, CA_CERT_FILE), join(certsDir, CA_KEY_FILE)]), secretFile, ...(site ? [gatewaySecretFile] : []), join(out, TOKEN_STORE_FILE), ...configFiles]) {
      if (pathExists(file)) throw new ConfigError(`${file} already exists; refusing to overwrite a cluster's files (nodes holding the old CA and secret could no longer join). Use --force to replace them, or choose another --out folder`);
    }
  }
  // Another site of the same bus reuses the first site's CA (--ca DIR), so the sites' nodes trust each other.
  const ca = values.ca !== undefined ? await reusedCa(resolve(values.ca)) : await createCa({ name: `${name} cluster CA` });
  if (!caInPlace) await writeCaFiles(certsDir, ca, { force: true });
  writeFileAtomic(secretFile, randomBytes(32).toString("base64url") + "\n", 0o600);
  const peers = nodes.map((n) => n.address.text);
  if (site) writeFileAtomic(gatewaySecretFile, reuseGatewaySecret ? readFileSync(siblingSecret!, "utf8") : randomBytes(32).toString("base64url") + "\n", 0o600);
  nodes.forEach((node, i) => writeFileAtomic(configFiles[i]!, nodeConfigText(name, node, peers, basename(out), clientListen, mqttListen) + (site ? siteTableText(name) : ""), 0o644));
  // Every generated file must load as it will on its box (advertise names the node, so no host lookup is involved).
  for (const file of configFiles) {
    try {
      loadConfig(file, {});
    } catch (err) {
      throw new RuntimeError(`generated ${file} does not validate (a unibus bug)`, { cause: err });
    }
  }
  // A join token for the boxes that come next: they join instead of getting the CA key.
  const first = nodes[0]!;
  const { token, record } = createToken(join(out, TOKEN_STORE_FILE), caDigest(new Uint8Array(ca.cert.rawData)), parseDuration(DEFAULTS.joinTokenTtl) as number, secretFile);
  const joinAt = joinHostPort(first.address.host, first.address.port + 1);
  process.stdout.write(
    `created cluster "${name}" with ${nodes.length} node${nodes.length === 1 ? "" : "s"} in ${out}\n` +
      `  ${join(certsDir, CA_CERT_FILE)}      CA certificate (0644)${values.ca !== undefined ? `, reused from ${resolve(values.ca)} (another site's nodes trust this one's)` : ""}\n` +
      `  ${join(certsDir, CA_KEY_FILE)}  CA private key (0600): nodes issue their own certificates with it\n` +
      `  ${secretFile}    route secret (0600), or set ${CLUSTER_SECRET_ENV} instead\n` +
      (site ? `  ${gatewaySecretFile}    gateway secret (0600)${reuseGatewaySecret ? `, the same as ${resolve(siblingSecret!)}` : ": copy it to every other site's folder (or make them with --ca ${certsDir} --site)"}\n` : "") +
      `  ${join(out, TOKEN_STORE_FILE)}  join tokens (0600); ${nodes.map((n) => n.name).join(", ")} serve${nodes.length === 1 ? "s" : ""} joins on the route port + 1\n` +
      configFiles.map((f, i) => `  ${f}  for ${nodes[i]!.name} (${nodes[i]!.address.host})\n`).join("") +
      `next: install it on ${first.name}, in the folder holding install.sh and the unibus executable (if you ran this elsewhere, copy this folder there first):\n` +
      `  sudo ./install.sh --config ${basename(out)}/${first.name}.toml\n` +
      (nodes.length > 1 ? `  (and the same with NODE.toml on ${nodes.slice(1).map((n) => n.name).join(", ")}: boxes made here hold the CA key too)\n` : "") +
      `it installs the config as ${INSTALLED_CONFIG_FILE} with certs/ and the *.secret files beside it; then check with: sudo unibus status\n` +
      `then add boxes without copying the CA key: once ${first.name} runs, on each new box run (token valid until ${record.expiresAt}; more with: sudo unibus token create on ${first.name}):\n` +
      `  sudo ./install.sh --join ${joinAt} --token ${formatToken(token)}   # beside install.sh and the unibus executable\n` +
      `open between the boxes: tcp ${[...new Set(nodes.flatMap((n) => [n.address.port, n.address.port + 1]))].join(", ")} (routes: mutual TLS; the join port: TLS, a new box proves its token); for clients: tcp ${clientListen.port}${isLoopback(clientListen.host) ? " once [client] listens on the network" : ""}${mqttListen && !isLoopback(mqttListen.host) ? `; for MQTT devices: tcp ${mqttListen.port}` : ""}\n` +
      (isLoopback(clientListen.host) ? "" : `let clients in, on any member once it runs (every member admits them within seconds): printf '%s' "$APP_PASSWORD" | sudo unibus user add app\n`) +
      (site ? `site "${name}" keeps its own JetStream (domain "${name}"); list each other site in every NAME.toml's [[gateway.remotes]] (name and its nodes' addresses, gateway port ${DEFAULTS.gatewayListen.port}), and open tcp ${DEFAULTS.gatewayListen.port} between the sites\n` : "") +
      (nodes.length < 3 ? `note: JetStream needs 3 nodes to keep replicated streams writable when one box is down: join ${3 - nodes.length} more\n` : ""),
  );
  return 0;
}

/**
 * reusedCa reads DIR/ca.pem and DIR/ca-key.pem for `--ca DIR` and checks them
 * as a node would at start (a CA certificate inside its validity, a private
 * ECDSA key that belongs to it); a ConfigError names the file that is wrong.
 */
async function reusedCa(dir: string): Promise<NewCa> {
  const certFile = join(dir, CA_CERT_FILE);
  const keyFile = join(dir, CA_KEY_FILE);
  for (const file of [certFile, keyFile]) {
    if (!pathExists(file)) throw new ConfigError(`--ca ${dir}: ${file} does not exist; expected the folder holding ${CA_CERT_FILE} and ${CA_KEY_FILE} of the CA to reuse (the certs/ folder \`unibus init cluster\` wrote for the first site)`);
  }
  const loaded = await loadCa(certFile, keyFile);
  return { cert: loaded.cert, certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
}

function parseNodes(specs: string[]): ClusterNode[] {
  if (specs.length === 0) throw new UsageError(`at least one --node NAME=ADDRESS is required`);
  const port = DEFAULTS.clusterListen.port;
  const nodes: ClusterNode[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const nodeName = spec.slice(0, eq);
    const addr = spec.slice(eq + 1);
    if (eq <= 0 || !addr) throw new UsageError(`--node ${JSON.stringify(spec)} is invalid: expected NAME=ADDRESS like pi-1=10.0.0.11 or pi-1=pi-1.lan:6222`);
    if (!isValidNodeName(nodeName)) throw new UsageError(`--node ${JSON.stringify(spec)}: node name ${JSON.stringify(nodeName)} is invalid: expected ${NODE_NAME_HINT}`);
    const address = parsePeer(withDefaultPort(addr, port));
    if (typeof address === "string") throw new UsageError(`--node ${JSON.stringify(spec)}: expected ${address.replace(PEER_HINT, "an address like 10.0.0.11, pi-1.lan or 10.0.0.11:6222")}`);
    if (nodes.some((n) => n.name === nodeName)) throw new UsageError(`--node ${nodeName} is given twice: every node needs its own name (nats server_name)`);
    const clash = nodes.find((n) => n.address.text.toLowerCase() === address.text.toLowerCase());
    if (clash) throw new UsageError(`--node ${nodeName} and --node ${clash.name} both use ${address.text}: every node needs its own address`);
    nodes.push({ name: nodeName, address });
  }
  return nodes;
}

/** siteTableText is the [gateway] table of a node of an independent site (--site): the site's own JetStream, leaf links to the sites listed later. */
function siteTableText(site: string): string {
  const q = (s: string) => JSON.stringify(s);
  return `
[gateway]
# This site keeps its own JetStream (domain ${q(site)}): a WAN cut leaves it writable. Other sites are
# reached by leaf links on this port (mutual TLS, the gateway secret); of each pair of sites, the one
# whose name sorts first dials. README "Sites".
site = ${q(site)}
listen = ${q(DEFAULTS.gatewayListen.text)}
# The gateway secret (0600), the same on every site; never the route secret.
secret_file = ${q(GATEWAY_SECRET_FILE)}
# One table per other site: its name and its nodes' gateway addresses.
# [[gateway.remotes]]
# name = "site-b"
# urls = ["10.2.0.11:${DEFAULTS.gatewayListen.port}"]
`;
}

/** nodeConfigText renders one node's annotated config; paths are relative to the config file. */
function nodeConfigText(cluster: string, node: ClusterNode, peers: string[], folder: string, clientListen: HostPort, mqttListen?: HostPort): string {
  const q = (s: string) => JSON.stringify(s);
  return `# unibus node ${q(node.name)} of cluster ${q(cluster)}, generated by \`unibus init cluster\`.
# Install it on ${node.name}, in the folder holding install.sh and the unibus executable
# (unibus-linux-<arch>: install.sh finds it beside itself), with this folder copied there:
#   sudo ./install.sh --config ${folder}/${node.name}.toml
# install.sh installs this file as ${INSTALLED_CONFIG_FILE}, with certs/ and ${SECRET_FILE}
# beside it (paths below are relative to this file). Check the cluster from any box:
#   sudo unibus status

[node]
# nats server_name: unique and stable per node (JetStream's RAFT groups know nodes by it).
name = ${q(node.name)}
# data_dir: JetStream store and node certificate. Default: "data" beside this file, or
# $STATE_DIRECTORY under systemd (install.sh sets /var/lib/unibus).
# data_dir = "/var/lib/unibus"

[client]
${isLoopback(clientListen.host)
    ? `# NATS clients. Loopback until client authentication is configured; then e.g. "0.0.0.0:4222".`
    : `# NATS clients on the network: boxes that join take this port over. Who may sign in is the
# cluster's: unibus user add|list|remove|passwd on any member; until the first user is added,
# nobody can. ([[client.users]] here would admit a user on this box only, and win a clash.)`}
# With [tls] below, clients connect with TLS and verify the node against certs/ca.pem.
listen = ${q(clientListen.text)}
${mqttListen ? `
[mqtt]
# MQTT devices (nats-server's MQTT 3.1.1 broker), with the cluster's users; boxes that join
# take this listener over. Its streams get min(3, members) replicas.
listen = ${q(mqttListen.text)}
` : ""}
[cluster]
name = ${q(cluster)}
# Route port on every interface; routes are mutual TLS and need the route secret.
listen = ${q(`0.0.0.0:${node.address.port}`)}
# Every node of the cluster; this node's own entry is skipped (advertise names it).
peers = [${peers.map(q).join(", ")}]
# The address the other nodes reach this node at.
advertise = ${q(node.address.text)}
# The route secret (0600, never logged). ${CLUSTER_SECRET_ENV} in the environment overrides it.
secret_file = ${q(SECRET_FILE)}
# Holding the CA key, this node admits new boxes (unibus token create, unibus join)
# and renews the certificates of members without the key, on this port:
# join_listen = ${q(`0.0.0.0:${node.address.port + 1}`)}

[tls]
ca_cert = ${q(`${CERTS_DIR}/${CA_CERT_FILE}`)}
# With the CA key the node issues and renews its own certificate (serverAuth+clientAuth).
ca_key = ${q(`${CERTS_DIR}/${CA_KEY_FILE}`)}
# Added to the automatic SANs (node name, host name, interface addresses).
sans = [${q(node.address.host)}]
`;
}
