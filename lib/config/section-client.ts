/**
 * section-client.ts is the [client] table: the NATS client port and who may
 * use it (and the MQTT and WebSocket listeners, which share it):
 * [[client.users]] with passwords and subject permissions, [[client.nkeys]]
 * with allow-lists, and the explicit `allow_anonymous` escape hatch.
 * nats-server enforces all of it; unibus validates it and renders `listen`
 * and `authorization { users: [...] }`.
 */
import { fromPublic } from "@nats-io/nkeys";
import { z } from "zod";
import { natsPasswordHash } from "../auth/bcrypt.ts";
import { effectiveSecretValue, type ResolvedSecret } from "../auth/secret-source.ts";
import { SUBJECT_HINT, subjectProblem } from "../auth/subjects.ts";
import { DEFAULTS } from "./defaults.ts";
import { PASSWORD_KEYS, passwordFields, passwordSourceProblem, resolvePassword } from "./_password.ts";
import { listenValue } from "./_parsed.ts";
import { checkDiscovery, clientAdvertiseValue, renderDiscovery } from "./section-discovery.ts";
import { edgeUsersTable } from "./_edge-sign-in.ts";
import { jetstreamToolUser } from "./_jetstream-tool-user.ts";
import { differs, noSans, secretForms, type ConfigIssue, type NodeFacts, type ResolveContext, type Section } from "./section.ts";
import { NOBODY_NKEY, usesClusterAccess, withClusterUsers } from "../access/client-users.ts";
import type { AccessEntry } from "../access/ledger.ts";
import { isLoopback, type HostPort } from "./units.ts";
import type { ClientConfig, ClientNkey, ClientUser, SubjectRule, UnibusConfig } from "./config-types.ts";
export type { SubjectRule, ClientUser, ClientNkey, ClientConfig } from "./config-types.ts";

const subject = z.string({ error: `expected ${SUBJECT_HINT}` }).superRefine((s, ctx) => {
  const problem = subjectProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: `expected ${SUBJECT_HINT}; ${JSON.stringify(s)}: ${problem}` });
});
const subjects = z.array(subject, { error: 'expected a list of subjects like ["sensors.>"]' });
const rule = z.strictObject({ allow: subjects.optional(), deny: subjects.optional() }, { error: 'expected a table like { allow = ["a.>"], deny = ["a.secret.>"] }' });

const USER_PASSWORD_KEYS = PASSWORD_KEYS;

const userSchema = z.strictObject({
  user: z.string({ error: "expected a user name (string)" }).regex(/^[^\s"]+$/, { message: "expected a user name without spaces or quotes" }),
  ...passwordFields,
  password: z.string({ error: "expected a password (string)" }).optional(),
  publish: rule.optional(),
  subscribe: rule.optional(),
}).superRefine((u, ctx) => {
  const problem = passwordSourceProblem(u, USER_PASSWORD_KEYS);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** NKEY_HINT describes a user public nkey. */
export const NKEY_HINT = "a user public nkey (56 characters starting with U; make one with: unibus nkey gen)";

const nkeySchema = z.strictObject({
  public_key: z.string({ error: `expected ${NKEY_HINT}` }).refine(isUserPublicKey, { message: `expected ${NKEY_HINT}` }),
  publish: subjects.optional(),
  subscribe: subjects.optional(),
});

const table = z.strictObject({
  listen: listenValue.default(DEFAULTS.clientListen),
  advertise: clientAdvertiseValue.optional(),
  allow_anonymous: z.boolean({ error: "expected true or false" }).default(DEFAULTS.allowAnonymous),
  users: z.array(userSchema, { error: "expected [[client.users]] tables" }).default([]),
  nkeys: z.array(nkeySchema, { error: "expected [[client.nkeys]] tables" }).default([]),
}).prefault({});





/** isUserPublicKey tells whether key is a valid user public nkey (checksum included). */
export function isUserPublicKey(key: string): boolean {
  if (!/^U[A-Z2-7]{55}$/.test(key)) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/** schema reads the password sources; every default comes from DEFAULTS. */
function schema(ctx: ResolveContext) {
  return table.transform((raw): ClientConfig => ({
    listen: raw.listen,
    ...(raw.advertise ? { advertise: raw.advertise } : {}),
    allowAnonymous: raw.allow_anonymous,
    users: raw.users.map((u) => ({
      user: u.user,
      password: resolvePassword(u, ctx.at, ctx.env),
      ...(u.publish ? { publish: u.publish } : {}),
      ...(u.subscribe ? { subscribe: u.subscribe } : {}),
    })),
    nkeys: raw.nkeys.map((n) => ({ publicKey: n.public_key, publish: n.publish ?? [], subscribe: n.subscribe ?? [] })),
  }));
}

/** hasClientAuth tells whether clients must sign in (any user or nkey configured). */
function hasClientAuth(config: UnibusConfig): boolean {
  return config.client.users.length > 0 || config.client.nkeys.length > 0;
}

/** ClientListener is one listener that client credentials guard. */
export interface ClientListener { name: string; path: string[]; listen: HostPort; tls: boolean }

/** clientListeners lists the listeners guarded by client auth: client port, MQTT, WebSocket. */
export function clientListeners(config: UnibusConfig): ClientListener[] {
  const out: ClientListener[] = [{ name: "client", path: ["client", "listen"], listen: config.client.listen, tls: Boolean(config.tls?.clientTls) }];
  if (config.mqtt) out.push({ name: "mqtt", path: ["mqtt", "listen"], listen: config.mqtt.listen, tls: config.mqtt.tls });
  if (config.websocket) out.push({ name: "websocket", path: ["websocket", "listen"], listen: config.websocket.listen, tls: config.websocket.tls });
  return out;
}

/** checkClient refuses anonymous network listeners, unreadable passwords and inline passwords off loopback. */
function checkClient(config: UnibusConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const auth = hasClientAuth(config);
  const exposed = clientListeners(config).filter((l) => !isLoopback(l.listen.host));
  // A member's client port is guarded by the cluster's users (unibus user add); until there are some, nobody gets in.
  if (!auth && !config.client.allowAnonymous && !usesClusterAccess(config)) {
    for (const l of exposed) {
      issues.push({ path: l.path, message: `expected a loopback address (127.0.0.1 or [::1]) while no client may sign in: add [[client.users]] or [[client.nkeys]], or set allow_anonymous = true in [client] to let anyone who can reach "${l.listen.text}" connect without credentials` });
    }
  }
  if (auth && config.client.allowAnonymous) {
    issues.push({ path: ["client", "allow_anonymous"], message: "expected false (or no key) while [[client.users]] or [[client.nkeys]] are configured: nats-server then refuses clients without credentials" });
  }
  const seen = new Set<string>();
  config.client.users.forEach((u, i) => {
    if (seen.has(u.user)) issues.push({ path: ["client", "users", i, "user"], message: `expected a unique user name, "${u.user}" is already defined` });
    seen.add(u.user);
    if (u.password.error) issues.push({ path: ["client", "users", i, u.password.key], message: u.password.error });
    if (u.password.key === "password" && exposed.length > 0) {
      issues.push({ path: ["client", "users", i, "password"], message: `expected password_hash, password_file or password_env: an inline password is only accepted while every client listener is on loopback, and ${exposed[0]!.path.join(".")} is "${exposed[0]!.listen.text}"` });
    }
  });
  const keys = new Set<string>();
  config.client.nkeys.forEach((n, i) => {
    if (keys.has(n.publicKey)) issues.push({ path: ["client", "nkeys", i, "public_key"], message: "expected a unique public key, this one is already listed" });
    keys.add(n.publicKey);
  });
  return issues;
}

/** clientAuthWarnings are logged at every start: anonymous access on a network listener. */
export function clientAuthWarnings(config: UnibusConfig): string[] {
  if (hasClientAuth(config) || !config.client.allowAnonymous) return [];
  return clientListeners(config)
    .filter((l) => !isLoopback(l.listen.host))
    .map((l) => `allow_anonymous = true: anyone who can reach ${l.name} listener ${l.listen.text} may connect without credentials`);
}

function renderRule(rule: SubjectRule | undefined): Record<string, string[]> | undefined {
  if (!rule) return undefined;
  return { ...(rule.allow ? { allow: rule.allow } : {}), ...(rule.deny ? { deny: rule.deny } : {}) };
}

/**
 * RESERVED_PUBLISH are the subjects only unibus itself publishes to (an
 * edge's verdict report to its hub, lib/fleet/edge-report.ts): every client
 * user and nkey is denied them, so no device can speak for an edge. unibus's
 * own tool user and the hub's edge (leaf) users are not client users.
 */
export const RESERVED_PUBLISH = "_UNIBUS.>";

/** clientPublish is a client's publish rule with the reserved subjects denied. */
function clientPublish(rule: Record<string, string[]> | undefined): Record<string, string[]> {
  if (rule?.deny?.includes(">")) return rule;
  return { ...(rule?.allow ? { allow: rule.allow } : {}), deny: [...(rule?.deny ?? []), RESERVED_PUBLISH] };
}

/** allowOnly renders an allow-list; an empty list denies everything (nats reads an empty allow as "all"). */
function allowOnly(list: string[]): Record<string, string[]> {
  return list.length ? { allow: list } : { deny: [">"] };
}

/**
 * renderClient is the client `listen` and the nats-server `authorization`
 * block, passwords as bcrypt hashes; on a member of a cluster the cluster's
 * users follow the file's (lib/access/client-users.ts), and while there are
 * none an unusable nkey keeps nats-server from admitting anyone; on a hub
 * it also carries the edge users.
 */
/** clientSignIn says who signs in on the client port: the users and nkeys rendered, and whether only the unusable placeholder guards it. */
function clientSignIn(config: UnibusConfig, access: readonly AccessEntry[]): { client: ClientConfig; placeholder: boolean; signIn: boolean } {
  const client = withClusterUsers(config, access);
  // Loopback-only members keep taking anonymous local clients until the first user, as a single node does.
  const exposed = clientListeners(config).some((l) => !isLoopback(l.listen.host));
  const placeholder = exposed && usesClusterAccess(config) && client.users.length === 0 && client.nkeys.length === 0;
  return { client, placeholder, signIn: client.users.length > 0 || client.nkeys.length > 0 || placeholder };
}

/**
 * rendersUsersTable tells whether the node's nats config has a users table
 * (then every client signs in, unibus's own tools with their key) or admits
 * anonymous clients, given the cluster's users the node knows (access).
 */
export function rendersUsersTable(config: UnibusConfig, access: readonly AccessEntry[]): boolean {
  return clientSignIn(config, access).signIn || edgeUsersTable(config, false) !== undefined;
}

function renderClient(config: UnibusConfig, node: NodeFacts = {}): Record<string, unknown> {
  const advertise = renderDiscovery(config).clientAdvertise;
  const listen = { listen: config.client.listen.text, ...(advertise ? { client_advertise: advertise } : {}) };
  const { client, placeholder, signIn } = clientSignIn(config, node.access ?? []);
  const edges = edgeUsersTable(config, signIn);
  if (!signIn && !edges) return listen;
  const only = edges?.clientRestriction ?? {};
  const users: Record<string, unknown>[] = client.users.map((u) => {
    const publish = clientPublish(renderRule(u.publish));
    const subscribe = renderRule(u.subscribe);
    return {
      user: u.user,
      password: natsPasswordHash(u.password.value ?? ""),
      permissions: { publish, ...(subscribe ? { subscribe } : {}) },
      ...only,
      // A cluster user limited to some client kinds (never leaf connections, so a hub's restriction still holds).
      ...(u.connectionTypes ? { allowed_connection_types: u.connectionTypes } : {}),
    };
  });
  for (const n of client.nkeys) {
    users.push({ nkey: n.publicKey, permissions: { publish: clientPublish(allowOnly(n.publish)), subscribe: allowOnly(n.subscribe) }, ...only, ...(n.connectionTypes ? { allowed_connection_types: n.connectionTypes } : {}) });
  }
  if (placeholder) users.push({ nkey: NOBODY_NKEY, permissions: { publish: allowOnly([]), subscribe: allowOnly([]) }, ...only });
  // Edge users of a hub live in the same table, for leaf connections only (see _edge-sign-in.ts).
  if (edges) users.push(...edges.users);
  // unibus's own backup and restore (lib/natsd/jetstream-credential.ts).
  if (node.jetstreamKey) users.push(jetstreamToolUser(node.jetstreamKey));
  return { ...listen, authorization: { users }, ...(edges?.noAuthUser ? { no_auth_user: edges.noAuthUser } : {}) };
}

/** effectiveClient is the [client] table for `config check`, secrets redacted. */
function effectiveClient(config: UnibusConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    listen: config.client.listen.text,
    ...(config.client.advertise ? { advertise: config.client.advertise.text } : {}),
    allow_anonymous: config.client.allowAnonymous,
  };
  if (config.client.users.length) {
    out.users = config.client.users.map((u) => ({
      user: u.user,
      [u.password.key]: effectiveSecretValue(u.password),
      ...(u.publish ? { publish: u.publish } : {}),
      ...(u.subscribe ? { subscribe: u.subscribe } : {}),
    }));
  }
  if (config.client.nkeys.length) {
    out.nkeys = config.client.nkeys.map((n) => ({ public_key: n.publicKey, publish: n.publish, subscribe: n.subscribe }));
  }
  return out;
}

/** clientSection is the [client] table. */
export const clientSection = {
  key: "client",
  schema,
  checks: (config) => [...checkClient(config), ...checkDiscovery(config)],
  listeners: ({ client }) => [{ path: ["client", "listen"], listen: client.listen }],
  secrets: ({ client }) => secretForms(...client.users.map((u) => u.password.value)),
  sans: noSans,
  render: renderClient,
  effective: effectiveClient,
  // nats-server binds the client port once; a new address needs a restart.
  restartOnly: (a, b) => differs("client.listen", a.client.listen.text, b.client.listen.text),
} satisfies Section<"client", ClientConfig>;
