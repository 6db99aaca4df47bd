/**
 * user.ts implements `unibus user add|passwd|remove|list`: the cluster's
 * client users, changed on any member and applied by every member within
 * seconds without a restart (lib/access/replica.ts). A change needs a
 * majority of the members to answer, as a change to a RAFT group would: a
 * member cut off from the others refuses it with nothing changed, and keeps
 * admitting the users it knew. The running node makes the change over its
 * control channel (lib/control/users.ts), with its own system-account
 * credential. Passwords are read on standard input and hashed here
 * (bcrypt), once; only the hash leaves this process.
 */
import { text } from "node:stream/consumers";
import { BCRYPT_COST, hashPassword } from "../auth/bcrypt.ts";
import { MIN_SECRET_LENGTH } from "../auth/secret-source.ts";
import { subjectProblem, SUBJECT_HINT } from "../auth/subjects.ts";
import { CONNECTION_TYPES, type AccessRule, type ConnectionType } from "../access/ledger.ts";
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { isUserPublicKey, NKEY_HINT } from "../config/section-client.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { requestUserChange, requestUserList, type UserChange } from "../control/users.ts";
import type { ChangeOutcome } from "../access/change.ts";
import { configPath, parseCommand } from "./_flags.ts";

function clusterConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  if (!config.cluster || !config.tls) throw new ConfigError(`${config.file} has no [cluster] and [tls]: the cluster's users need a cluster; on a single node use [[client.users]] (unibus passwd) or [[client.nkeys]]`);
  return config;
}

function userName(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one NAME: the user to ${what}`);
  const name = positionals[0]!;
  if (!/^[^\s"]{1,128}$/.test(name)) throw new UsageError(`user name ${JSON.stringify(name)} is invalid: expected a name without spaces or quotes`);
  return name;
}

function rules(allow: string[] | undefined, deny: string[] | undefined, flag: string): AccessRule | undefined {
  for (const s of [...(allow ?? []), ...(deny ?? [])]) {
    const problem = subjectProblem(s);
    if (problem) throw new UsageError(`--${flag} ${JSON.stringify(s)} is invalid: expected ${SUBJECT_HINT}; ${problem}`);
  }
  if (!allow?.length && !deny?.length) return undefined;
  return { ...(allow?.length ? { allow } : {}), ...(deny?.length ? { deny } : {}) };
}

/** connectionsFlag reads --only client,mqtt,websocket into nats connection kinds. */
function connectionsFlag(value: string | undefined): ConnectionType[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(",").map((v) => v.trim().toLowerCase()).filter(Boolean);
  const known = CONNECTION_TYPES as Record<string, ConnectionType>;
  const bad = names.filter((n) => !known[n]);
  if (bad.length || names.length === 0) throw new UsageError(`--only ${JSON.stringify(value)} is invalid: expected a comma-separated list of ${Object.keys(CONNECTION_TYPES).join(", ")}`);
  return [...new Set(names.map((n) => known[n]!))];
}

function costFlag(value: string | undefined): number {
  const cost = value === undefined ? BCRYPT_COST : Number(value);
  if (!Number.isInteger(cost) || cost < 4 || cost > 16) throw new UsageError(`--cost must be a whole number from 4 to 16, got "${value}"`);
  return cost;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (input is shown; end with Enter, then Ctrl-D): ");
  const password = (await text(process.stdin)).split(/\r?\n/)[0] ?? "";
  if (password.length < MIN_SECRET_LENGTH) throw new UsageError(`expected a password of at least ${MIN_SECRET_LENGTH} characters on standard input, e.g. printf '%s' "$PASSWORD" | sudo unibus user add NAME`);
  return password;
}

function notRunning(config: UnibusConfig, detail: string): RuntimeError {
  return new RuntimeError(`unibus is not running with ${config.file} (${detail}): a change to the cluster's users is made by a running member; start it (sudo systemctl start unibus), or run the command on another member`);
}

/** change asks the running node to make the change and prints who took it. */
async function change(config: UnibusConfig, req: UserChange, what: string): Promise<number> {
  const answer = await requestUserChange(config.node.dataDir, req);
  if (!answer.reached) throw notRunning(config, answer.detail);
  const o: ChangeOutcome = answer.outcome;
  const missing = o.size - o.took.length;
  process.stdout.write(`${what}: applied on ${o.took.length} of ${o.size} members (${o.took.join(", ")}) in ${o.ms} ms${missing ? `; the other ${missing} take${missing === 1 ? "s" : ""} it when ${missing === 1 ? "it is" : "they are"} reachable` : ""}\n`);
  return 0;
}

/** add creates a cluster user (password on stdin, or --nkey KEY). */
export async function add(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("user add", args);
  const name = userName(positionals, "add");
  const config = clusterConfig(values.config);
  const publish = rules(values.publish, values["deny-publish"], "publish");
  const subscribe = rules(values.subscribe, values["deny-subscribe"], "subscribe");
  const connections = connectionsFlag(values.only);
  const limits = { ...(publish ? { publish } : {}), ...(subscribe ? { subscribe } : {}), ...(connections ? { connections } : {}) };
  const base = { op: "add" as const, name, replace: values.replace, ...limits };
  if (values.nkey !== undefined) {
    if (!isUserPublicKey(values.nkey)) throw new UsageError(`--nkey ${JSON.stringify(values.nkey)} is invalid: expected ${NKEY_HINT}`);
    const code = await change(config, { ...base, kind: "nkey", publicKey: values.nkey }, `nkey user "${name}" added`);
    if (!publish?.allow?.length && !subscribe?.allow?.length) process.stdout.write(`note: an nkey user may use only the subjects listed with --publish/--subscribe, and none are: it can connect but neither publish nor subscribe\n`);
    return code;
  }
  const cost = costFlag(values.cost);
  const passwordHash = hashPassword(await readPassword(), cost);
  return change(config, { ...base, kind: "password", passwordHash }, `user "${name}" added`);
}

/** passwd gives a cluster user a new password (on stdin), keeping its permissions. */
export async function passwd(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("user passwd", args);
  const name = userName(positionals, "change the password of");
  const config = clusterConfig(values.config);
  const cost = costFlag(values.cost);
  const passwordHash = hashPassword(await readPassword(), cost);
  return change(config, { op: "passwd", name, passwordHash }, `password of "${name}" changed (its connections that signed in with the old one are closed)`);
}

/** remove takes a cluster user away on every member; its connections are closed. */
export async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("user remove", args);
  const name = userName(positionals, "remove");
  const config = clusterConfig(values.config);
  return change(config, { op: "remove", name }, `user "${name}" removed (its connections are closed)`);
}

function describeRule(r: AccessRule | undefined, nkey: boolean): string {
  if (!r) return nkey ? "nothing" : "all";
  return [r.allow?.length ? r.allow.join(",") : nkey ? "" : "all", r.deny?.length ? `not ${r.deny.join(",")}` : ""].filter(Boolean).join(" ");
}

/** list prints the cluster's users as this member knows them, the file's users of this box, and whether the members agree. */
export async function list(args: string[]): Promise<number> {
  const { values } = parseCommand("user list", args);
  const config = clusterConfig(values.config);
  const answer = await requestUserList(config.node.dataDir);
  if (!answer.reached) throw notRunning(config, answer.detail);
  const l = answer.list;
  if (values.json) {
    process.stdout.write(JSON.stringify(l, null, 2) + "\n");
    return 0;
  }
  const kinds = Object.fromEntries(Object.entries(CONNECTION_TYPES).map(([k, v]) => [v, k]));
  const rows = [["user", "kind", "publish", "subscribe", "on", "changed", "by"], ...l.users.map((u) => [
    u.name + (u.shadowedByFile ? " (file wins here)" : ""), u.kind, describeRule(u.publish, u.kind === "nkey"), describeRule(u.subscribe, u.kind === "nkey"),
    u.connections ? u.connections.map((c) => kinds[c]).join(",") : "any", u.changedAt.replace(/\.\d+Z$/, "Z"), u.by,
  ])];
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  let out = l.users.length ? rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join("  ")).join("\n") + "\n" : "no cluster users yet: add one with printf '%s' \"$PASSWORD\" | sudo unibus user add NAME\n";
  if (l.fileUsers.length || l.fileNkeys.length) {
    out += `this box also admits, from ${l.file}: ${[...l.fileUsers, ...l.fileNkeys.map((k) => `nkey ${k.slice(0, 8)}…`)].join(", ")} (the file wins a clash)\n`;
  }
  if (!l.applied) out += `note: ${l.file} sets allow_anonymous = true, so this box does not apply the cluster's users\n`;
  const behind = l.members.filter((m) => !m.inStep).map((m) => m.node).sort();
  if (!l.members.length) out += `members: none answered; the list above is this member's copy\n`;
  else out += `members in step with this copy: ${l.members.length - behind.length} of ${l.size}${behind.length ? `; catching up: ${behind.join(", ")} (within seconds while reachable)` : ""}\n`;
  process.stdout.write(out);
  return 0;
}
