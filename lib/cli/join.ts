/**
 * join.ts implements `unibus join ADDRESS --token TOKEN`: make this box a
 * member of a running cluster with one command. It checks everything
 * (token shape, files it would overwrite, the CA against the token, the CA
 * holder's answer) before it writes anything, then writes the config, the CA
 * certificate, its own certificate and key, and the route secret in the
 * installed layout (/etc/unibus, /var/lib/unibus) or under --out DIR.
 */
import { readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULTS } from "../config/defaults.ts";
import { SECRET_FILE, CERTS_DIR } from "./init-cluster.ts";
import { NODE_NAME_HINT, isValidNodeName, nodeNameFromHost, parseListen, parsePeer, withDefaultPort, type HostPort } from "../config/units.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { pathExists, writeFileAtomic } from "../fsutil.ts";
import { loadConfig } from "../config/load.ts";
import { CA_CERT_FILE, NODE_CERT_FILE, NODE_KEY_FILE } from "../pki/index.ts";
import { joinCluster, type JoinResult } from "../membership/join.ts";
import { enrollEdge, type EdgeEnrollment } from "../membership/edge-join.ts";
import { writeUplinkState } from "../membership/edge-agent.ts";
import { dataDirLayout } from "../data-dir.ts";
import { parseToken } from "../membership/token.ts";
import { clearLeftMarker } from "../membership/left-marker.ts";
import { parseCommand } from "./_flags.ts";
import { clientListenText, mqttListenText } from "../membership/client-policy.ts";
import { AccessLedger } from "../access/ledger.ts";
import { randomBytes } from "node:crypto";

/** JOIN_TOKEN_ENV can carry the token instead of --token (keeps it out of `ps`). */
export const JOIN_TOKEN_ENV = "UNIBUS_JOIN_TOKEN";
/**
 * INSTALLING: install.sh runs this join (UNIBUS_JOIN_INSTALLING=1) and installs what it writes
 * at once, from a temp folder it then removes: no "next:" pointing there.
 */
const INSTALLING = process.env.UNIBUS_JOIN_INSTALLING === "1";

/** CONFIG_FILE_NAME is the config's name in the installed layout and under --out. */
const CONFIG_FILE_NAME = "unibus.toml";

/** run joins this box and writes its files. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("join", args);
  if (positionals.length !== 1) throw new UsageError(`expected one ADDRESS (a CA holder's join port, e.g. 10.0.0.11:6223), got ${positionals.length ? positionals.join(" ") : "none"}`);
  const address = parsePeer(withDefaultPort(positionals[0]!, DEFAULTS.clusterListen.port + 1));
  if (typeof address === "string") throw new UsageError(`ADDRESS ${JSON.stringify(positionals[0])} is invalid: expected ${address}`);
  const tokenText = values.token ?? process.env[JOIN_TOKEN_ENV];
  if (!tokenText) throw new UsageError(`--token TOKEN is required (or $${JOIN_TOKEN_ENV}): run \`unibus token create\` on a node that holds the CA key`);
  const token = parseToken(tokenText);
  const name = values.name ?? nodeNameFromHost(hostname());
  if (!isValidNodeName(name)) throw new UsageError(`--name ${JSON.stringify(name)} is invalid: expected ${NODE_NAME_HINT}`);
  if (values.edge) return joinAsEdge({ address, token, name, replace: values.replace, force: values.force, ...(values.out ? { out: values.out } : {}), ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}) });
  const listen = values.listen ? parseListen(values.listen) : DEFAULTS.clusterListen;
  if (typeof listen === "string") throw new UsageError(`--listen ${JSON.stringify(values.listen)} is invalid: expected ${listen}`);
  const layout = values.out
    ? { dir: resolve(values.out), dataDir: resolve(values["data-dir"] ?? join(resolve(values.out), DEFAULTS.dataDir)), installed: false }
    : { dir: DEFAULTS.installedConfigDir, dataDir: resolve(values["data-dir"] ?? DEFAULTS.installedDataDir), installed: true };
  const files = {
    config: join(layout.dir, CONFIG_FILE_NAME),
    ca: join(layout.dir, CERTS_DIR, CA_CERT_FILE),
    cert: join(layout.dir, CERTS_DIR, NODE_CERT_FILE),
    key: join(layout.dir, CERTS_DIR, NODE_KEY_FILE),
    secret: join(layout.dir, SECRET_FILE),
    nodeId: dataDirLayout(layout.dataDir).nodeId,
    members: dataDirLayout(layout.dataDir).members,
    access: dataDirLayout(layout.dataDir).clusterAccess,
  };
  if (!values.force) {
    refuseExisting([files.config, files.cert, files.key, files.secret, files.nodeId]);
  }
  const id = randomBytes(16).toString("hex");
  const progress = (line: string) => process.stderr.write(`join: ${line}\n`);
  const result = await joinCluster({
    address, token, name, replace: values.replace, listen, id, sans: [],
    ...(values.advertise ? { advertiseHost: values.advertise.replace(/^\[(.*)\]$/, "$1") } : {}),
  }, progress);
  // Installed: secrets and config root:unibus 0640, data-dir files the service user's; set before each rename.
  const { owner, secretMode, rootGroup } = writeIdentity(files, result, layout.installed);
  writeFileAtomic(files.secret, result.secret + "\n", secretMode, rootGroup);
  writeFileAtomic(files.nodeId, id + "\n", 0o600, owner);
  writeFileAtomic(files.members, JSON.stringify({ members: result.members }, null, 2) + "\n", 0o600, owner);
  // The cluster's users as the CA holder knew them: this box admits them from its first start.
  const ledger = new AccessLedger(layout.dataDir, { fresh: true });
  ledger.merge(result.access);
  ledger.save(owner);
  clearLeftMarker(layout.dataDir);
  // A trust bundle an earlier node here learned (CA rotation) would outvote the CA this join wrote.
  rmSync(dataDirLayout(layout.dataDir).trustBundle, { force: true });
  writeFileAtomic(files.config, configText(name, result, listen, address, dataDirLine(layout)), owner ? 0o640 : 0o644, rootGroup);
  try {
    loadConfig(files.config, {});
  } catch (err) {
    throw new ConfigError(`the written ${files.config} does not validate (a unibus bug): ${(err as Error).message}`);
  }
  const peers = result.members.filter((m) => !m.removed && m.name !== name);
  process.stdout.write(
    `joined cluster "${result.cluster}" as "${name}" (route ${result.route}); ${peers.length} other member${peers.length === 1 ? "" : "s"}: ${peers.map((m) => m.name).join(", ") || "none"}\n` +
      `  ${files.config}\n  ${files.ca}\n  ${files.cert}\n  ${files.key}  (the key was made here and never left this box)\n  ${files.secret}  (route secret)\n` +
      (result.jetstreamAt ? `note: "${name}" was removed from the cluster less than 5 minutes ago; nats-server keeps a removed name out of the JetStream meta group for 5 minutes, so JetStream takes this box in by ${result.jetstreamAt} at the latest (routes and core NATS work at once; until then status says meta_incomplete, naming ${name})\n` : "") +
      nextHint(files.config, layout.installed) +
      // The CA holder listed the member at once: until it runs, every member misses a route to it.
      (layout.installed || INSTALLING ? "" : `"${name}" is a member from now on: the other members dial it and say so until it runs; if it never will: unibus remove ${name} on any member\n`),
  );
  return 0;
}

/** refuseExisting stops a join before anything is written when a file it would write is there already (a box that is, or was, a node). */
function refuseExisting(paths: string[]): void {
  for (const file of paths) {
    if (pathExists(file)) {
      throw new ConfigError(`${file} already exists: this box already is (or was) a unibus node. Refusing to overwrite it; remove the old files, choose another --out folder, or add --force`);
    }
  }
}

/**
 * writeIdentity writes what a member's and an edge's join both receive (the
 * CA certificate, the node key and certificate) and returns the owner and
 * modes for the rest: installed, secrets are root:unibus 0640 and data-dir
 * files the service user's, set before each rename; otherwise the caller's own, 0600.
 */
function writeIdentity(
  files: { ca: string; key: string; cert: string },
  issued: { caPem: string; keyPem: string; certPem: string },
  installed: boolean,
): { owner?: { uid: number; gid: number }; secretMode: number; rootGroup?: { uid: number; gid: number } } {
  const owner = installed ? serviceOwner() : undefined;
  const secretMode = owner ? 0o640 : 0o600;
  const rootGroup = owner ? { uid: 0, gid: owner.gid } : undefined;
  writeFileAtomic(files.ca, issued.caPem, 0o644);
  writeFileAtomic(files.key, issued.keyPem, secretMode, rootGroup);
  writeFileAtomic(files.cert, issued.certPem, 0o644);
  return { owner, secretMode, rootGroup };
}

/** serviceOwner is the unibus service account, when install.sh created it: installed files are then root:unibus 0640. */
function serviceOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("unibus:"));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

function configText(name: string, r: JoinResult, listen: HostPort, via: HostPort, dataDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  const peers = [...new Set([...r.members.filter((m) => !m.removed && m.name !== name).map((m) => m.route), r.route])];
  return `# unibus node ${q(name)} of cluster ${q(r.cluster)}, written by \`unibus join ${via.text}\` on ${new Date().toISOString()}.
# Paths are relative to this file. Check the cluster: unibus status --config THIS_FILE

[node]
# nats server_name; bound to this node's certificate (certs/node.pem is for ${q(name)}).
name = ${q(name)}
${dataDir}
[client]
${r.client?.network
    ? `# NATS clients, as on every member of the cluster (taken over from ${q(via.text)} at join).
# Who may sign in is the cluster's: unibus user add|list|remove|passwd on any member
# (a [[client.users]] table here would admit a user on this box only, and win a clash).
listen = ${q(clientListenText(r.client))}`
    : `# NATS clients. Loopback until client authentication is configured (unibus user add on any
# member adds a user for the whole cluster).
listen = ${q(r.client ? clientListenText(r.client) : DEFAULTS.clientListen.text)}`}
${r.client && mqttListenText(r.client) ? `
[mqtt]
# MQTT devices, as on every member of the cluster (taken over at join); the same users.
listen = ${q(mqttListenText(r.client)!)}
` : ""}
[cluster]
name = ${q(r.cluster)}
listen = ${q(listen.text)}
# The members when this box joined. Members that join later are learned from the
# CA holders (kept in the data dir's members.json) and dialed too; nothing to edit.
peers = [${peers.map(q).join(", ")}]
# The address the other members reach this box at.
advertise = ${q(r.route)}
secret_file = ${q(SECRET_FILE)}

[tls]
ca_cert = ${q(`${CERTS_DIR}/${CA_CERT_FILE}`)}
# Issued by a CA holder for this box's own key; renewed through a CA holder
# before it expires (renewals are kept in the data dir's tls/). No CA key here.
cert = ${q(`${CERTS_DIR}/${NODE_CERT_FILE}`)}
key = ${q(`${CERTS_DIR}/${NODE_KEY_FILE}`)}
sans = [${q(r.advertiseHost)}]${r.client && !r.client.tls ? "\n# The cluster's clients connect without TLS.\nclient_tls = false" : ""}
`;
}

/** EDGE_NKEY_FILE is the enrolled edge's nkey seed beside its config (0600; *.secret, so install.sh installs it with the config). */
const EDGE_NKEY_FILE = "edge-nkey.secret";

/**
 * joinAsEdge enrolls this box as an edge of the hub cluster behind address
 * and writes its config: one uplink listing every hub node, signing in with
 * the edge's own nkey, verifying the hub against the pinned CA.
 */
async function joinAsEdge(o: { address: HostPort; token: ReturnType<typeof parseToken>; name: string; replace: boolean; force: boolean; out?: string; dataDir?: string }): Promise<number> {
  const layout = o.out
    ? { dir: resolve(o.out), dataDir: resolve(o.dataDir ?? join(resolve(o.out), DEFAULTS.dataDir)), installed: false }
    : { dir: DEFAULTS.installedConfigDir, dataDir: resolve(o.dataDir ?? DEFAULTS.installedDataDir), installed: true };
  const files = {
    config: join(layout.dir, CONFIG_FILE_NAME),
    ca: join(layout.dir, CERTS_DIR, CA_CERT_FILE),
    cert: join(layout.dir, CERTS_DIR, NODE_CERT_FILE),
    key: join(layout.dir, CERTS_DIR, NODE_KEY_FILE),
    nkey: join(layout.dir, EDGE_NKEY_FILE),
  };
  if (!o.force) {
    refuseExisting([files.config, files.cert, files.key, files.nkey]);
  }
  const result = await enrollEdge({ address: o.address, token: o.token, name: o.name, replace: o.replace }, (line) => process.stderr.write(`join: ${line}\n`));
  const { owner, secretMode, rootGroup } = writeIdentity(files, result, layout.installed);
  writeFileAtomic(files.nkey, result.seed + "\n", secretMode, rootGroup);
  // Where the edge checks in (CA rotations, renewals); files an earlier node here kept would outvote what this join wrote.
  for (const f of [dataDirLayout(layout.dataDir).uplinkTrust, dataDirLayout(layout.dataDir).uplinkCert, dataDirLayout(layout.dataDir).uplinkKey]) rmSync(f, { force: true });
  writeUplinkState(layout.dataDir, { updatedAt: new Date().toISOString(), services: result.services }, owner);
  writeFileAtomic(files.config, edgeConfigText(o.name, result, o.address, dataDirLine(layout)), owner ? 0o640 : 0o644, rootGroup);
  try {
    loadConfig(files.config, {});
  } catch (err) {
    throw new ConfigError(`the written ${files.config} does not validate (a unibus bug): ${(err as Error).message}`);
  }
  process.stdout.write(
    `enrolled as edge "${o.name}" of hub cluster "${result.cluster}"; its uplink lists ${result.leafUrls.length} hub node${result.leafUrls.length === 1 ? "" : "s"}: ${result.leafUrls.join(", ")}\n` +
      `  ${files.config}\n  ${files.ca}\n  ${files.cert}\n  ${files.key}\n  ${files.nkey}  (this edge's leaf credential: made here, never sent; the hub keeps only its public key ${result.nkey})\n` +
      nextHint(files.config, layout.installed) +
      `to shut this edge out later, on a hub node: unibus edge remove ${o.name}\n`,
  );
  return 0;
}

function edgeConfigText(name: string, r: EdgeEnrollment, via: HostPort, dataDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  return `# unibus edge ${q(name)} of hub cluster ${q(r.cluster)}, written by \`unibus join ${via.text} --edge\` on ${new Date().toISOString()}.
# Paths are relative to this file. Check it: unibus status --config THIS_FILE

[node]
name = ${q(name)}
${dataDir}
[client]
# Local clients only, no credentials needed on loopback.
listen = ${q(DEFAULTS.clientListen.text)}

[leafnodes]
# How soon a cut uplink is noticed.
keepalive = "${DEFAULTS.leafKeepaliveMs / 1000}s"

# One uplink to the hub cluster, listing every hub node (nats moves to another when one drops).
[[leafnodes.remotes]]
urls = [${r.leafUrls.map(q).join(", ")}]
${r.home ? `# Its home hub node, given by the hub so that the fleet spreads evenly: dialed first, returned to after a failover.\nhome = ${q(r.home)}\n` : ""}${r.fallback ? `# Its second choice, given by the hub so that the edges of a lost home split evenly over the others.\nfallback = ${q(r.fallback)}\n` : ""}# This edge's own key (the hub knows only its public half; unibus edge remove ${name} shuts it out).
nkey_file = ${q(EDGE_NKEY_FILE)}
# The hub cluster's CA, pinned by the join token. The hub's CA rotations reach this edge at its
# check-ins with the hub's CA holders; it then keeps the hub's CAs in its data dir's uplink/ folder.
ca_file = ${q(`${CERTS_DIR}/${CA_CERT_FILE}`)}
# This edge's certificate from the hub's CA: it checks in with the hub's CA holders with it
# (renewed into the data dir's uplink/ folder before it expires, and after a CA rotation).
cert_file = ${q(`${CERTS_DIR}/${NODE_CERT_FILE}`)}
key_file = ${q(`${CERTS_DIR}/${NODE_KEY_FILE}`)}
`;
}

/**
 * nextHint is a join's closing "next:" line, the same for a member and an
 * edge: install the written config (installed layout) or start it. A folder
 * (--out) is started where it is: install.sh copies the config and the files
 * beside it, not the data dir the join wrote (node id, members, uplink), so
 * installing it is not offered; `install.sh --join` joins straight into the
 * service. Empty when install.sh runs the join: it installs and starts at
 * once, from a temp folder it then removes.
 */
function nextHint(config: string, installed: boolean): string {
  if (INSTALLING) return "";
  return installed
    ? `next: sudo ./install.sh --config ${config}   (or start: unibus --config ${config})\n`
    : `next: unibus --config ${config}   (to join as an installed service instead: sudo ./install.sh --join …)\n`;
}

/**
 * dataDirLine is the `data_dir = …` line of a written config when the join
 * wrote its data (node id, members, uplink) somewhere the config would not
 * find by itself (--data-dir), else "": /var/lib/unibus for /etc/unibus,
 * DIR/data for --out DIR.
 */
export function dataDirLine(layout: { dir: string; dataDir: string; installed: boolean }): string {
  const implied = layout.installed ? DEFAULTS.installedDataDir : join(layout.dir, DEFAULTS.dataDir);
  return resolve(layout.dataDir) === resolve(implied) ? "" : `data_dir = ${JSON.stringify(layout.dataDir)}\n`;
}
