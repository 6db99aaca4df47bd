/**
 * token.ts implements `unibus token create|list|revoke` on a node that holds
 * the CA key: a join token lets one box (or several, until it expires) join
 * with `unibus join`; create prints the exact command to run on the new box.
 */
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { joinHostPort, parseDuration } from "../config/units.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { readMembers, MEMBERS_FILE } from "../membership/members.ts";
import { createToken, readTokens, revokeToken, tokenState, tokenStorePath } from "../membership/token-store.ts";
import { caDigest, formatToken } from "../membership/token.ts";
import { readClusterCa } from "../pki/index.ts";
import { join } from "node:path";
import { configPath, parseFlags } from "./_flags.ts";

/** DEFAULT_TOKEN_TTL is how long a new token works: long enough to set up a box, short enough to forget. */
export const DEFAULT_TOKEN_TTL = "24h";

/** caHolderConfig loads the config and insists on the CA key, naming the CA holders when it is missing. */
function caHolderConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  if (!config.cluster) throw new ConfigError(`${config.file} has no [cluster]: join tokens admit boxes to a cluster`);
  if (!config.tls?.caKey) {
    const holders = readMembers(join(config.node.dataDir, MEMBERS_FILE)).filter((m) => m.service && !m.removed).map((m) => `${m.name} (${m.service})`);
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

/** create makes a token and prints the join line. */
export async function create(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { config: { type: "string", short: "c" }, ttl: { type: "string", default: DEFAULT_TOKEN_TTL }, quiet: { type: "boolean", short: "q", default: false } });
  const ttl = parseDuration(values.ttl);
  if (typeof ttl === "string" || ttl < 60_000) throw new UsageError(`--ttl ${JSON.stringify(values.ttl)} is invalid: expected ${typeof ttl === "string" ? ttl : "at least 1m"}`);
  const config = caHolderConfig(values.config);
  // During a CA rotation new tokens pin the new CA: it is the one that signs.
  const ca = (await readClusterCa(config.tls!.caCert, config.tls!.caKey!)).signing.cert;
  const file = tokenStorePath(config.file);
  const { token, record } = createToken(file, caDigest(new Uint8Array(ca.rawData)), ttl, config.cluster!.secret.source.startsWith("file ") ? config.cluster!.secret.source.slice(5) : undefined);
  const line = `unibus join ${joinAddress(config)} --token ${formatToken(token)}`;
  if (values.quiet) {
    process.stdout.write(`${line}\n`);
    return 0;
  }
  process.stdout.write(
    `join token ${record.id} for cluster "${config.cluster!.name}", valid until ${record.expiresAt} (revoke: unibus token revoke ${record.id}).\n` +
      `On the new box, run:\n  ${line}\nor join, install and start in one step, in the folder holding install.sh and the unibus executable:\n  sudo ./install.sh --join ${joinAddress(config)} --token ${formatToken(token)}\n` +
      `The new box is named after its host name unless you add --name NAME.\n`,
  );
  return 0;
}

/** list prints every token with its state; secrets are never shown. */
export async function list(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { config: { type: "string", short: "c" }, json: { type: "boolean", default: false } });
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
  const { values, positionals } = parseFlags(args, { config: { type: "string", short: "c" } }, true);
  if (positionals.length !== 1) throw new UsageError("expected one token ID (see: unibus token list)");
  const config = caHolderConfig(values.config);
  const t = revokeToken(tokenStorePath(config.file), positionals[0]!);
  process.stdout.write(`revoked join token ${t.id}: no box can join with it any more\n`);
  return 0;
}
