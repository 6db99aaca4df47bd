/**
 * context.ts is `unibus context`: a ready `nats context` JSON for the node's
 * system account, so the nats CLI's server commands (`nats server ping`,
 * `nats server report jetstream`, `nats server cluster peer-remove`) work at
 * once. By default it uses the node's own credential (the seed file in the
 * data dir, referenced by path, never copied); with --user it uses an
 * operator user of [[system_account.users]]. The JSON goes to stdout, or to
 * --out written 0600 because it may hold a password.
 */
import { UsageError, ExitCode } from "../errors.ts";
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { systemEndpoint } from "../natsd/system-client.ts";
import { loadSystemCredential } from "../natsd/system-credential.ts";
import { configPath, parseCommand } from "./_flags.ts";

/** NatsContext is the subset of the nats CLI's context file unibus fills. */
export interface NatsContext {
  description: string;
  url: string;
  user?: string;
  password?: string;
  nkey?: string;
  ca?: string;
}

/** buildContext makes the context for the node's own credential, or for one operator user. */
export function buildContext(config: UnibusConfig, user?: string): { context: NatsContext; notes: string[] } {
  const endpoint = systemEndpoint(config);
  const notes: string[] = [];
  const base = {
    description: `unibus node ${config.node.name}: system account${user ? ` as ${user}` : ""}`,
    url: `${endpoint.caFile ? "tls" : "nats"}://${endpoint.hostPort}`,
    ...(endpoint.caFile ? { ca: endpoint.caFile } : {}),
  };
  if (user === undefined) {
    const credential = loadSystemCredential(config.node.dataDir);
    return { context: { ...base, nkey: credential.file }, notes };
  }
  const entry = config.systemAccount.users.find((u) => u.user === user);
  if (!entry) {
    const known = config.systemAccount.users.map((u) => u.user);
    throw new UsageError(`--user ${JSON.stringify(user)}: no such user in [[system_account.users]] of ${config.file}${known.length ? `; expected one of ${known.join(", ")}` : " (there are none)"}`);
  }
  if (entry.password.error) throw new UsageError(`--user ${user}: ${entry.password.error}`);
  if (entry.password.key === "password_hash") {
    notes.push(`${user} has only a password_hash in the config: add the password with: nats context edit NAME (or pass --password to nats)`);
    return { context: { ...base, user }, notes };
  }
  return { context: { ...base, user, password: entry.password.value! }, notes };
}

/** run prints (or writes with --out) the context JSON. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("context", args);
  const config = loadConfig(configPath(values.config));
  const { context, notes } = buildContext(config, values.user);
  const text = JSON.stringify(context, null, 2) + "\n";
  if (values.out) {
    writeFileAtomic(values.out, text, 0o600);
    process.stderr.write(`wrote ${values.out} (mode 0600); for the nats CLI: cp ${values.out} ~/.config/nats/context/${config.node.name}.json && nats --context ${config.node.name} server ping\n`);
  } else {
    process.stdout.write(text);
  }
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
  return ExitCode.ok;
}
