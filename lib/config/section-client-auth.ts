/**
 * section-client-auth.ts is who may use the client port (and the MQTT and
 * WebSocket listeners, which share it): [[client.users]] with passwords and
 * subject permissions, [[client.nkeys]] with allow-lists, and the explicit
 * `allow_anonymous` escape hatch. nats-server enforces all of it; unibus
 * validates it and renders `authorization { users: [...] }`.
 */
import { fromPublic } from "@nats-io/nkeys";
import { z } from "zod";
import { natsPasswordHash } from "../auth/bcrypt.ts";
import { PASSWORD_KEYS, passwordFields, passwordSourceProblem, resolvePassword } from "../auth/password.ts";
import { effectiveSecretValue, type ResolvedSecret } from "../auth/secret-source.ts";
import { SUBJECT_HINT, subjectProblem } from "../auth/subjects.ts";
import type { ConfigIssue, UnibusConfig } from "./load.ts";
import { isLoopback, type HostPort } from "./units.ts";

export { listenValue } from "./_parsed.ts";

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

/** clientAuthShape adds the access keys to the [client] table of schema.ts. */
export const clientAuthShape = {
  allow_anonymous: z.boolean({ error: "expected true or false" }).optional(),
  users: z.array(userSchema, { error: "expected [[client.users]] tables" }).optional(),
  nkeys: z.array(nkeySchema, { error: "expected [[client.nkeys]] tables" }).optional(),
};

type RawClientAuth = { [K in keyof typeof clientAuthShape]?: z.output<(typeof clientAuthShape)[K]> };

/** SubjectRule is an allow list and a deny list of subjects, as nats-server takes them. */
export interface SubjectRule { allow?: string[]; deny?: string[] }

/** ClientUser is one user name and password with optional subject rules (none: everything allowed). */
export interface ClientUser { user: string; password: ResolvedSecret; publish?: SubjectRule; subscribe?: SubjectRule }

/** ClientNkey is one nkey client; it may only use the subjects listed (allow-list model). */
export interface ClientNkey { publicKey: string; publish: string[]; subscribe: string[] }

/** ClientAuthConfig is the effective client access policy. */
export interface ClientAuthConfig { allowAnonymous: boolean; users: ClientUser[]; nkeys: ClientNkey[] }

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

/** resolveClientAuth reads the password sources and fills the defaults. */
export function resolveClientAuth(raw: RawClientAuth | undefined, at: (p: string) => string, env: Record<string, string | undefined>): ClientAuthConfig {
  return {
    allowAnonymous: raw?.allow_anonymous ?? false,
    users: (raw?.users ?? []).map((u) => ({
      user: u.user,
      password: resolvePassword(u, at, env),
      ...(u.publish ? { publish: u.publish } : {}),
      ...(u.subscribe ? { subscribe: u.subscribe } : {}),
    })),
    nkeys: (raw?.nkeys ?? []).map((n) => ({ publicKey: n.public_key, publish: n.publish ?? [], subscribe: n.subscribe ?? [] })),
  };
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

/** checkClientAuth refuses anonymous network listeners, unreadable passwords and inline passwords off loopback. */
export function checkClientAuth(config: UnibusConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const auth = hasClientAuth(config);
  const exposed = clientListeners(config).filter((l) => !isLoopback(l.listen.host));
  if (!auth && !config.client.allowAnonymous) {
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

/** allowOnly renders an allow-list; an empty list denies everything (nats reads an empty allow as "all"). */
function allowOnly(list: string[]): Record<string, string[]> {
  return list.length ? { allow: list } : { deny: [">"] };
}

/** renderClientAuth is the nats-server `authorization` block, passwords as bcrypt hashes. */
export function renderClientAuth(config: UnibusConfig): Record<string, unknown> {
  if (!hasClientAuth(config)) return {};
  const users: Record<string, unknown>[] = config.client.users.map((u) => {
    const publish = renderRule(u.publish);
    const subscribe = renderRule(u.subscribe);
    return {
      user: u.user,
      password: natsPasswordHash(u.password.value ?? ""),
      ...(publish || subscribe ? { permissions: { ...(publish ? { publish } : {}), ...(subscribe ? { subscribe } : {}) } } : {}),
    };
  });
  for (const n of config.client.nkeys) {
    users.push({ nkey: n.publicKey, permissions: { publish: allowOnly(n.publish), subscribe: allowOnly(n.subscribe) } });
  }
  return { authorization: { users } };
}

/** clientAuthSecrets are the values the logger must redact. */
export function clientAuthSecrets(config: UnibusConfig): string[] {
  return config.client.users.map((u) => u.password.value).filter((v): v is string => Boolean(v));
}

/** effectiveClientAuth is the [client] access keys for `config check`, secrets redacted. */
export function effectiveClientAuth(config: UnibusConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { allow_anonymous: config.client.allowAnonymous };
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
