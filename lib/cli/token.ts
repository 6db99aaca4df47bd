/**
 * token.ts implements `unibus token create|list|revoke` on a node that holds
 * the CA key: a join token lets one box (or several, until it expires) join
 * with `unibus join`; create prints the exact command to run on the new box.
 */
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { joinHostPort, parseDuration } from "../config/units.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { readMembers } from "../membership/members.ts";
import { createToken, readTokens, revokeToken, tokenState, tokenStorePath } from "../membership/token-store.ts";
import { caDigest, formatToken } from "../membership/token.ts";
import { certFingerprint, readClusterCa } from "../pki/index.ts";
import { TRUST_PHASE_MAX_MS, readRotationPhase } from "../membership/rotation-gate.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { requestCaSigning } from "../control/ca.ts";
import { dataDirLayout } from "../data-dir.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import type { Varz } from "../natsd/monitoring-types.ts";

/** X509Certificate is the parsed certificate type the PKI module hands out. */
type X509Certificate = Awaited<ReturnType<typeof readClusterCa>>["signing"]["cert"];


/** caHolderConfig loads the config and insists on the CA key, naming the CA holders when it is missing. */
function caHolderConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  if (!config.cluster) throw new ConfigError(`${config.file} has no [cluster]: join tokens admit boxes to a cluster`);
  if (!config.tls?.caKey) {
    const holders = readMembers(dataDirLayout(config.node.dataDir).members).filter((m) => m.service && !m.removed).map((m) => `${m.name} (${m.service})`);
    throw new ConfigError(`this node does not hold the CA key ([tls] ca_key is not set in ${config.file}), so it cannot admit new members; run this on a CA holder${holders.length ? `: ${holders.join(", ")}` : ""}`);
  }
  return config;
}

/** joinAddress is this node's join port as the other boxes reach it. */
function joinAddress(config: UnibusConfig): string {
  const c = config.cluster!;
  const host = c.self?.host ?? (c.joinListen.host === "0.0.0.0" || c.joinListen.host === "::" ? undefined : c.joinListen.host);
  if (!host) return `THIS-HOST:${c.joinListen.port}`;
  return joinHostPort(host, c.joinListen.port);
}

/** ROTATION_WAIT_MS bounds the wait for a CA rotation's first phase (the node ends it within TRUST_PHASE_MAX_MS). */
const ROTATION_WAIT_MS = TRUST_PHASE_MAX_MS + 15_000;

/**
 * signingCaForTokens is the CA a new token must pin: the one this CA holder's
 * join port offers to a new box. In a rotation's first phase (members
 * learning the new CA) the old CA still signs and the port offers it, so a
 * token pinning the new CA would be refused until the second phase: wait for
 * it (at most a minute), saying so on the terminal.
 */
async function signingCaForTokens(config: UnibusConfig): Promise<X509Certificate> {
  const { tls, node } = config;
  const ca = await readClusterCa(tls!.caCert, tls!.caKey!);
  if (!ca.next) return ca.signing.cert;
  const next = certFingerprint(ca.next);
  // The running node's CA authority knows at once when the new CA signs.
  const asked = await requestCaSigning(node.dataDir, next, 0);
  if (asked.reached && asked.answer.signs) return ca.signing.cert;
  if (!asked.reached) {
    const phase = readRotationPhase(node.dataDir);
    if (phase?.newCa === next && phase.phase === "reissue") return ca.signing.cert;
  }
  process.stderr.write("a CA rotation is in its first phase (the members learn the new CA; at most a minute): waiting for the new CA to sign, so that the token pins the CA the join port offers ...\n");
  if (asked.reached) {
    const waited = await requestCaSigning(node.dataDir, next, ROTATION_WAIT_MS);
    if (waited.reached && waited.answer.signs) return ca.signing.cert;
  }
  throw new RuntimeError(`the CA rotation is still in its first phase after ${Math.round(ROTATION_WAIT_MS / 1000)} s: is unibus running on this node (systemctl status unibus)? unibus status shows the rotation's phase; run token create again once it says the new CA signs`);
}

/**
 * edgesNotYetAccepted says why the running node does not accept edges yet
 * although the config file sets [leafnodes] listen (nats-server opens its
 * leafnode port only when it starts, so adding [leafnodes] needs a restart),
 * or undefined when it does, or when the node's /varz could not be read.
 */
export function edgesNotYetAccepted(config: UnibusConfig, varz: Varz | undefined): string | undefined {
  const listen = config.leafnodes?.listen;
  if (!listen || !varz) return undefined;
  const port = (varz.leaf as { port?: number } | undefined)?.port;
  if (port === listen.port) return undefined;
  return `this node does not accept edges yet: its nats-server ${port ? `listens for leafnodes on port ${port}` : "has no leafnode port"}, while ${config.file} sets [leafnodes] listen = "${listen.text}" (a restart is pending); restart unibus (sudo systemctl restart unibus), one node at a time: wait until unibus status is healthy before the next`;
}

/** create makes a token and prints the join line. */
export async function create(args: string[]): Promise<number> {
  const { values } = parseCommand("token create", args);
  const ttl = parseDuration(values.ttl);
  if (typeof ttl === "string" || ttl < 60_000) throw new UsageError(`--ttl ${JSON.stringify(values.ttl)} is invalid: expected ${typeof ttl === "string" ? ttl : "at least 1m"}`);
  const config = caHolderConfig(values.config);
  // During a CA rotation new tokens pin the new CA, which the join port offers only once it signs.
  const ca = await signingCaForTokens(config);
  const file = tokenStorePath(config.file);
  const { token, record } = createToken(file, caDigest(new Uint8Array(ca.rawData)), ttl, config.cluster!.secret.source.startsWith("file ") ? config.cluster!.secret.source.slice(5) : undefined);
  const edge = values.edge ? " --edge" : "";
  if (values.edge && !(config.leafnodes?.listen && config.leafnodes.enroll)) {
    process.stderr.write(`warning: ${config.file} has no [leafnodes] listen with enroll = true: this hub refuses edges until you set it and reload\n`);
  } else if (values.edge) {
    const varz = await new MonitorClient(config.monitor.listen.text).get<Varz>("varz").catch(() => undefined);
    const warning = edgesNotYetAccepted(config, varz);
    if (warning) process.stderr.write(`warning: ${warning}\n`);
  }
  const line = `unibus join ${joinAddress(config)} --token ${formatToken(token)}${edge}`;
  if (values.quiet) {
    process.stdout.write(`${line}\n`);
    return 0;
  }
  process.stdout.write(
    `join token ${record.id} for cluster "${config.cluster!.name}", valid until ${record.expiresAt} (revoke: unibus token revoke ${record.id}).\n` +
      `On the new ${values.edge ? "edge " : ""}box, run:\n  ${line}\n` +
      `or join, install and start in one step, in the folder holding install.sh and the unibus executable:\n  sudo ./install.sh --join ${joinAddress(config)} --token ${formatToken(token)}${edge}\n` +
      `The new box is named after its host name unless you add --name NAME.${values.edge ? " Each edge gets its own key; shut one out with: unibus edge remove NAME" : ""}\n`,
  );
  return 0;
}

/** list prints every token with its state; secrets are never shown. */
export async function list(args: string[]): Promise<number> {
  const { values } = parseCommand("token list", args);
  const config = caHolderConfig(values.config);
  const tokens = readTokens(tokenStorePath(config.file)).map((t) => ({ id: t.id, state: tokenState(t), createdAt: t.createdAt, expiresAt: t.expiresAt, ...(t.revokedAt ? { revokedAt: t.revokedAt } : {}) }));
  if (values.json) {
    process.stdout.write(JSON.stringify(tokens, null, 2) + "\n");
    return 0;
  }
  if (tokens.length === 0) process.stdout.write("no join tokens (make one: unibus token create)\n");
  for (const t of tokens) process.stdout.write(`${t.id}  ${t.state.padEnd(7)}  created ${t.createdAt}  ${t.state === "revoked" ? `revoked ${t.revokedAt}` : `expires ${t.expiresAt}`}\n`);
  return 0;
}

/** revoke stops a token from admitting anyone, at once (the node reads the store at every join). */
export async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("token revoke", args);
  if (positionals.length !== 1) throw new UsageError("expected one token ID (see: unibus token list)");
  const config = caHolderConfig(values.config);
  const t = revokeToken(tokenStorePath(config.file), positionals[0]!);
  process.stdout.write(`revoked join token ${t.id}: no box can join with it any more\n`);
  return 0;
}
