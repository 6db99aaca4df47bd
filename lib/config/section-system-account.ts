/**
 * section-system-account.ts is who may use nats-server's system account
 * ($SYS): the server and JetStream administration API that the nats CLI's
 * `server` commands, nats-surveyor and NUI need (`$SYS.REQ.SERVER.PING`,
 * `.VARZ`, `.JSZ`, `$JS.API.SERVER.REMOVE`). Operators and tools sign in
 * with [[system_account.users]] (the same password sources as client users)
 * or [[system_account.nkeys]]; unibus itself signs in with a node-local nkey
 * kept in the data dir (lib/natsd/system-credential.ts).
 *
 * Rendering `accounts { $SYS: { users } }` keeps the default system account's
 * name, so nodes of a cluster agree with older ones, and every client user
 * stays in the global account. With no client users, nats-server binds
 * anonymous clients to the global account by itself (its "system account
 * only" no-auth user), so a default loopback node still takes anonymous
 * clients, MQTT devices, WebSocket browsers and leaf nodes exactly as before.
 */
import { z } from "zod";
import { natsPasswordHash } from "../auth/bcrypt.ts";
import { effectiveSecretValue, type ResolvedSecret } from "../auth/secret-source.ts";
import { passwordFields, passwordSourceProblem, resolvePassword } from "./_password.ts";
import { noListeners, noSans, secretForms, type ConfigIssue, type NodeFacts, type ResolveContext, type Section } from "./section.ts";
import { clientListeners, isUserPublicKey, NKEY_HINT } from "./section-client.ts";
import { isLoopback } from "./units.ts";
import type { SystemAccountConfig, SystemUser, UnibusConfig } from "./config-types.ts";
export type { SystemUser, SystemAccountConfig } from "./config-types.ts";

/** SYSTEM_ACCOUNT is nats-server's default system account name, kept so mixed-version clusters agree. */
export const SYSTEM_ACCOUNT = "$SYS";

const SYSTEM_PASSWORD_KEYS = ["password_hash", "password_file", "password_env", "password"] as const;

const userSchema = z.strictObject({
  user: z.string({ error: "expected a user name (string)" }).regex(/^[^\s"]+$/, { message: "expected a user name without spaces or quotes" }),
  ...passwordFields,
  password: z.string({ error: "expected a password (string)" }).optional(),
}).superRefine((u, ctx) => {
  const problem = passwordSourceProblem(u, SYSTEM_PASSWORD_KEYS);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const nkeySchema = z.strictObject({
  public_key: z.string({ error: `expected ${NKEY_HINT}` }).refine(isUserPublicKey, { message: `expected ${NKEY_HINT}` }),
});

const table = z.strictObject({
  users: z.array(userSchema, { error: "expected [[system_account.users]] tables" }).default([]),
  nkeys: z.array(nkeySchema, { error: "expected [[system_account.nkeys]] tables" }).default([]),
}).prefault({});



/** schema reads the password sources; an absent table is no operator users. */
function schema(ctx: ResolveContext) {
  return table.transform((raw): SystemAccountConfig => ({
    users: raw.users.map((u) => ({ user: u.user, password: resolvePassword(u, ctx.at, ctx.env) })),
    nkeys: raw.nkeys.map((n) => n.public_key),
  }));
}

/**
 * checkSystemAccount refuses unreadable passwords, names or keys that clash
 * with client users (nats-server keeps one table of user names across
 * accounts) and inline passwords on a node reachable from the network.
 */
function checkSystemAccount(config: UnibusConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const sys = config.systemAccount;
  const clientNames = new Set(config.client.users.map((u) => u.user));
  const clientKeys = new Set(config.client.nkeys.map((n) => n.publicKey));
  const exposed = clientListeners(config).filter((l) => !isLoopback(l.listen.host));
  const seen = new Set<string>();
  sys.users.forEach((u, i) => {
    const at = ["system_account", "users", i];
    if (seen.has(u.user)) issues.push({ path: [...at, "user"], message: `expected a unique user name, "${u.user}" is already defined` });
    if (clientNames.has(u.user)) issues.push({ path: [...at, "user"], message: `expected a name no client user has: "${u.user}" is also in [[client.users]], and nats-server keeps one list of user names` });
    seen.add(u.user);
    if (u.password.error) issues.push({ path: [...at, u.password.key], message: u.password.error });
    if (u.password.key === "password" && exposed.length > 0) {
      issues.push({ path: [...at, "password"], message: `expected password_hash, password_file or password_env: an inline password is only accepted while every client listener is on loopback, and ${exposed[0]!.path.join(".")} is "${exposed[0]!.listen.text}"` });
    }
  });
  const keys = new Set<string>();
  sys.nkeys.forEach((k, i) => {
    const at = ["system_account", "nkeys", i, "public_key"];
    if (keys.has(k)) issues.push({ path: at, message: "expected a unique public key, this one is already listed" });
    if (clientKeys.has(k)) issues.push({ path: at, message: "expected a key no client uses: it is also in [[client.nkeys]]" });
    keys.add(k);
  });
  return issues;
}

/**
 * renderSystemAccount is the nats-server `accounts` and `system_account`
 * keys: the operator users and nkeys plus unibus's own nkey (systemKey,
 * the public half of the node-local credential), when given.
 */
function renderSystemAccount(config: UnibusConfig, { systemKey }: NodeFacts): Record<string, unknown> {
  const sys = config.systemAccount;
  const users: Record<string, unknown>[] = sys.users.map((u) => ({ user: u.user, password: natsPasswordHash(u.password.value ?? "") }));
  for (const key of [...sys.nkeys, ...(systemKey ? [systemKey] : [])]) users.push({ nkey: key });
  if (users.length === 0) return {};
  return { accounts: { [SYSTEM_ACCOUNT]: { users } }, system_account: SYSTEM_ACCOUNT };
}

/** effectiveSystemAccount is the [system_account] table for `config check`, secrets redacted; undefined when empty. */
function effectiveSystemAccount(config: UnibusConfig): Record<string, unknown> | undefined {
  const sys = config.systemAccount;
  if (!sys.users.length && !sys.nkeys.length) return undefined;
  return {
    ...(sys.users.length ? { users: sys.users.map((u) => ({ user: u.user, [u.password.key]: effectiveSecretValue(u.password) })) } : {}),
    ...(sys.nkeys.length ? { nkeys: sys.nkeys.map((k) => ({ public_key: k })) } : {}),
  };
}

/**
 * systemAccountSection is the [system_account] table (config key
 * systemAccount). It opens no port of its own: operators sign in on the
 * client port.
 */
export const systemAccountSection = {
  key: "systemAccount",
  table: "system_account",
  schema,
  checks: checkSystemAccount,
  listeners: noListeners,
  secrets: ({ systemAccount }) => secretForms(...systemAccount.users.map((u) => u.password.value)),
  sans: noSans,
  render: renderSystemAccount,
  effective: effectiveSystemAccount,
  restartOnly: () => undefined,
} satisfies Section<"systemAccount", SystemAccountConfig>;
