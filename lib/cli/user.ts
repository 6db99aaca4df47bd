/**
 * user.ts implements `unibus user add|passwd|remove|list`: the cluster's
 * client users, changed on any member and applied by every member within
 * seconds without a restart (lib/access/replica.ts). A change needs a
 * majority of the members to answer, as a change to a RAFT group would: a
 * member cut off from the others refuses it with nothing changed, and keeps
 * admitting the users it knew. Passwords are read on standard input and
 * hashed here (bcrypt), once; only the hash leaves this process.
 */
import { text } from "node:stream/consumers";
import { BCRYPT_COST, hashPassword } from "../auth/bcrypt.ts";
import { MIN_SECRET_LENGTH } from "../auth/secret-source.ts";
import { subjectProblem, SUBJECT_HINT } from "../auth/subjects.ts";
import { AccessLedger, CONNECTION_TYPES, entryProblem, type AccessEntry, type AccessRule, type ConnectionType } from "../access/ledger.ts";
import { clusterAccess, usesClusterAccess } from "../access/client-users.ts";
import { ACCESS_SUBJECTS } from "../access/replica.ts";
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { isUserPublicKey, NKEY_HINT } from "../config/section-client.ts";
import { majorityOf } from "../diagnosis/quorum.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { MemberRegistry } from "../membership/members.ts";
import { SystemClient } from "../natsd/system-client.ts";
import { configPath, parseFlags } from "./_flags.ts";

/** PING_PATIENCE_MS is how long a change waits for a majority of members to answer before it is refused. */
const PING_PATIENCE_MS = 10_000;

const configFlag = { config: { type: "string", short: "c" } } as const;
const ruleFlags = {
  publish: { type: "string", multiple: true },
  subscribe: { type: "string", multiple: true },
  "deny-publish": { type: "string", multiple: true },
  "deny-subscribe": { type: "string", multiple: true },
} as const;

function clusterConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  if (!config.cluster || !config.tls) throw new ConfigError(`${config.file} has no [cluster] and [tls]: the cluster's users need a cluster; on a single node use [[client.users]] (unibus passwd) or [[client.nkeys]]`);
  return config;
}

/** memberNames are the members a change must reach: the members list, or the config's peers before any check-in. */
function memberCount(config: UnibusConfig): number {
  const active = new MemberRegistry(config.node.dataDir).active().map((m) => m.name);
  return Math.max(new Set([...active, config.node.name]).size, (config.cluster?.routes.length ?? 0) + 1);
}

interface Ping { node: string; digest: string; latest: number; users: number }
interface Ack { ok: boolean; node: string; error?: string }

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

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (input is shown; end with Enter, then Ctrl-D): ");
  const password = (await text(process.stdin)).split(/\r?\n/)[0] ?? "";
  if (password.length < MIN_SECRET_LENGTH) throw new UsageError(`expected a password of at least ${MIN_SECRET_LENGTH} characters on standard input, e.g. printf '%s' "$PASSWORD" | sudo unibus user add NAME`);
  return password;
}

/**
 * change sends entries to every member and reports how many took them; it
 * refuses before sending when fewer than a majority answer.
 */
async function change(config: UnibusConfig, make: (at: number) => AccessEntry, what: string): Promise<number> {
  const size = memberCount(config);
  const need = majorityOf(size);
  const t0 = Date.now();
  await using sys = await SystemClient.connect(config, { name: "unibus-user" });
  // A node that has just started answers a moment after nats-server is ready: ask again for a few seconds.
  let pings: Ping[] = [];
  for (const until = Date.now() + PING_PATIENCE_MS; ;) {
    pings = await sys.requestAll<Ping>(ACCESS_SUBJECTS.ping, "", { expected: size, timeoutMs: 2_000 }).catch(() => [] as Ping[]);
    if (pings.length >= need || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (pings.length < need) {
    const who = pings.map((p) => p.node).sort().join(", ") || "none";
    throw new RuntimeError(`only ${pings.length} of ${size} members answer (${who}); a change to the cluster's users needs a majority (${need}). Nothing changed. Start the members that are down or fix the routes (sudo unibus status says which), then try again`);
  }
  const at = Math.max(Date.now(), ...pings.map((p) => p.latest + 1));
  const entry = make(at);
  const problem = entryProblem(entry);
  if (problem) throw new RuntimeError(`refusing to send a malformed user entry (${problem}; a unibus bug)`);
  const acks = await sys.requestAll<Ack>(ACCESS_SUBJECTS.write, { by: config.node.name, entries: [entry] }, { expected: size, timeoutMs: 5_000 }).catch(() => [] as Ack[]);
  const took = acks.filter((a) => a.ok).map((a) => a.node).sort();
  const failed = acks.filter((a) => !a.ok);
  const ms = Date.now() - t0;
  if (took.length < need) {
    throw new RuntimeError(`${what}: only ${took.length} of ${size} members took the change (${took.join(", ") || "none"})${failed.length ? `; ${failed.map((f) => `${f.node}: ${f.error}`).join("; ")}` : ""}. The members that have it pass it on when the others are reachable; run the command again once sudo unibus status is healthy`);
  }
  const missing = size - took.length;
  process.stdout.write(`${what}: applied on ${took.length} of ${size} members (${took.join(", ")}) in ${ms} ms${missing ? `; the other ${missing} take${missing === 1 ? "s" : ""} it when ${missing === 1 ? "it is" : "they are"} reachable` : ""}\n`);
  return 0;
}

/** add creates a cluster user (password on stdin, or --nkey KEY). */
export async function add(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { ...configFlag, ...ruleFlags, nkey: { type: "string" }, only: { type: "string" }, replace: { type: "boolean", default: false }, cost: { type: "string" } }, true);
  const name = userName(positionals, "add");
  const config = clusterConfig(values.config);
  const publish = rules(values.publish, values["deny-publish"], "publish");
  const subscribe = rules(values.subscribe, values["deny-subscribe"], "subscribe");
  const connections = connectionsFlag(values.only);
  const limits = { ...(publish ? { publish } : {}), ...(subscribe ? { subscribe } : {}), ...(connections ? { connections } : {}) };
  const have = new AccessLedger(config.node.dataDir).get(name);
  if (have && !have.removed && !values.replace) throw new UsageError(`cluster user "${name}" already exists (${have.kind}); change its password with: unibus user passwd ${name}; replace it (password, key and permissions) with: unibus user add ${name} --replace …`);
  const by = config.node.name;
  if (values.nkey !== undefined) {
    if (!isUserPublicKey(values.nkey)) throw new UsageError(`--nkey ${JSON.stringify(values.nkey)} is invalid: expected ${NKEY_HINT}`);
    const publicKey = values.nkey;
    const code = await change(config, (at) => ({ name, kind: "nkey", publicKey, ...limits, at, by }), `nkey user "${name}" added`);
    if (!publish?.allow?.length && !subscribe?.allow?.length) process.stdout.write(`note: an nkey user may use only the subjects listed with --publish/--subscribe, and none are: it can connect but neither publish nor subscribe\n`);
    return code;
  }
  const cost = values.cost === undefined ? BCRYPT_COST : Number(values.cost);
  if (!Number.isInteger(cost) || cost < 4 || cost > 16) throw new UsageError(`--cost must be a whole number from 4 to 16, got "${values.cost}"`);
  const passwordHash = hashPassword(await readPassword(), cost);
  return change(config, (at) => ({ name, kind: "password", passwordHash, ...limits, at, by }), `user "${name}" added`);
}

/** passwd gives a cluster user a new password (on stdin), keeping its permissions. */
export async function passwd(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { ...configFlag, cost: { type: "string" } }, true);
  const name = userName(positionals, "change the password of");
  const config = clusterConfig(values.config);
  const have = new AccessLedger(config.node.dataDir).get(name);
  if (!have || have.removed) throw new UsageError(noSuchUser(config, name));
  if (have.kind !== "password") throw new UsageError(`cluster user "${name}" signs in with an nkey, not a password; give it a new key with: unibus user add ${name} --replace --nkey KEY`);
  const cost = values.cost === undefined ? BCRYPT_COST : Number(values.cost);
  if (!Number.isInteger(cost) || cost < 4 || cost > 16) throw new UsageError(`--cost must be a whole number from 4 to 16, got "${values.cost}"`);
  const passwordHash = hashPassword(await readPassword(), cost);
  return change(config, (at) => ({ ...have, passwordHash, at, by: config.node.name }), `password of "${name}" changed (its connections that signed in with the old one are closed)`);
}

/** remove takes a cluster user away on every member; its connections are closed. */
export async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { ...configFlag }, true);
  const name = userName(positionals, "remove");
  const config = clusterConfig(values.config);
  const have = new AccessLedger(config.node.dataDir).get(name);
  if (!have || have.removed) throw new UsageError(noSuchUser(config, name));
  return change(config, (at) => ({ name, kind: have.kind, removed: true, at, by: config.node.name }), `user "${name}" removed (its connections are closed)`);
}

function noSuchUser(config: UnibusConfig, name: string): string {
  if (config.client.users.some((u) => u.user === name)) return `"${name}" is not a cluster user: it is written in ${config.file} ([[client.users]]) and applies to this box only; edit that file and run sudo unibus reload`;
  return `there is no cluster user "${name}" (unibus user list shows them)`;
}

function describeRule(r: AccessRule | undefined, nkey: boolean): string {
  if (!r) return nkey ? "nothing" : "all";
  return [r.allow?.length ? r.allow.join(",") : nkey ? "" : "all", r.deny?.length ? `not ${r.deny.join(",")}` : ""].filter(Boolean).join(" ");
}

/** list prints the cluster's users as this member knows them, the file's users of this box, and whether the members agree. */
export async function list(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...configFlag, json: { type: "boolean", default: false } });
  const config = clusterConfig(values.config);
  const ledger = new AccessLedger(config.node.dataDir);
  const users = ledger.active();
  const shadowed = new Set(clusterAccess(config, users).shadowed);
  let pings: Ping[] = [];
  let reachError: string | undefined;
  try {
    await using sys = await SystemClient.connect(config, { name: "unibus-user" });
    pings = await sys.requestAll<Ping>(ACCESS_SUBJECTS.ping, "", { expected: memberCount(config), timeoutMs: 2_000 });
  } catch (err) {
    reachError = (err as Error).message;
  }
  const mine = ledger.digest();
  const behind = pings.filter((p) => p.digest !== mine).map((p) => p.node).sort();
  if (values.json) {
    process.stdout.write(JSON.stringify({
      users: users.map((u) => ({ name: u.name, kind: u.kind, ...(u.publicKey ? { publicKey: u.publicKey } : {}), ...(u.publish ? { publish: u.publish } : {}), ...(u.subscribe ? { subscribe: u.subscribe } : {}), ...(u.connections ? { connections: u.connections } : {}), changedAt: new Date(u.at).toISOString(), by: u.by, ...(shadowed.has(u.name) ? { shadowedByFile: true } : {}) })),
      fileUsers: config.client.users.map((u) => u.user),
      fileNkeys: config.client.nkeys.map((n) => n.publicKey),
      members: pings.map((p) => ({ node: p.node, inStep: p.digest === mine })),
      applied: usesClusterAccess(config),
    }, null, 2) + "\n");
    return 0;
  }
  const kinds = Object.fromEntries(Object.entries(CONNECTION_TYPES).map(([k, v]) => [v, k]));
  const rows = [["user", "kind", "publish", "subscribe", "on", "changed", "by"], ...users.map((u) => [
    u.name + (shadowed.has(u.name) ? " (file wins here)" : ""), u.kind, describeRule(u.publish, u.kind === "nkey"), describeRule(u.subscribe, u.kind === "nkey"), u.connections ? u.connections.map((c) => kinds[c]).join(",") : "any", new Date(u.at).toISOString().replace(/\.\d+Z$/, "Z"), u.by,
  ])];
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  let out = users.length ? rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join("  ")).join("\n") + "\n" : "no cluster users yet: add one with printf '%s' \"$PASSWORD\" | sudo unibus user add NAME\n";
  if (config.client.users.length || config.client.nkeys.length) {
    out += `this box also admits, from ${config.file}: ${[...config.client.users.map((u) => u.user), ...config.client.nkeys.map((n) => `nkey ${n.publicKey.slice(0, 8)}…`)].join(", ")} (the file wins a clash)\n`;
  }
  if (!usesClusterAccess(config)) out += `note: ${config.file} sets allow_anonymous = true, so this box does not apply the cluster's users\n`;
  if (reachError) out += `members: not asked (${reachError}); the list above is this box's copy\n`;
  else out += `members in step with this copy: ${pings.length - behind.length} of ${memberCount(config)}${behind.length ? `; catching up: ${behind.join(", ")} (within seconds while reachable)` : ""}\n`;
  process.stdout.write(out);
  return 0;
}
