/**
 * section-leafnodes.ts lets a fleet of edge boxes hang off a hub. A hub
 * listens for leaf connections (TLS with the node certificate when [tls] is
 * configured; edges sign in with a shared secret or per-edge users); an edge
 * lists [[leafnodes.remotes]] it dials, and keeps serving its own clients
 * while the uplink is down. nats-server does the work; unibus validates and
 * renders `leafnodes { ... }`.
 */
import { existsSync, statSync } from "node:fs";
import { z } from "zod";
import { effectiveSecretValue, readSecretEnv, readSecretFile, type ResolvedSecret } from "../auth/secret-source.ts";
import { DEFAULTS } from "./defaults.ts";
import { hasEdgeTable } from "./_edge-sign-in.ts";
/** edgeSignIns is public through the [leafnodes] section: what edges sign in with (lib/natsd/edge-kick.ts compares them across a reload). */
export { edgeSignIns, type EdgeSignIn } from "./_edge-sign-in.ts";
import { fromSeed } from "@nats-io/nkeys";
import { passwordFields, passwordSourceProblem, resolvePassword } from "./_password.ts";
import { envName, filePath, listenValue, parsed } from "./_parsed.ts";
import { differs, noSans, secretForms, type ConfigIssue, type NodeFacts, type ResolveContext, type Section } from "./section.ts";
import { isLoopback, joinHostPort, parseDuration, type HostPort } from "./units.ts";
import { SUBJECT_HINT, subjectProblem } from "../auth/subjects.ts";
import type { EnrolledEdge, LeafRemote, LeafUrl, LeafnodesConfig, UnibusConfig } from "./config-types.ts";
export type { LeafUrl, LeafRemote, EnrolledEdge, LeafnodesConfig } from "./config-types.ts";
import { dataDirLayout } from "../data-dir.ts";
import { sameHub, uplinkOrder } from "../fleet/hub-order.ts";

/**
 * leafPingSettings are the nats-server ping settings a node with leaf
 * connections runs with: nats has no ping interval of its own for leaf
 * connections (they use the server's, 2 minutes by default, so a cut uplink
 * went unnoticed for 4 to 6 minutes). A ping every third of the keep-alive,
 * and a connection with two pings unanswered is dropped, so a cut link is
 * seen within the keep-alive; a shorter [limits] ping_interval is kept.
 * Undefined without [leafnodes].
 */
export function leafPingSettings(config: UnibusConfig, limitPingMs: number): { pingIntervalMs: number; pingMax: number } | undefined {
  const leaf = config.leafnodes;
  if (!leaf) return undefined;
  return { pingIntervalMs: Math.min(limitPingMs, Math.max(1_000, Math.floor(leaf.keepaliveMs / 3))), pingMax: 2 };
}

/** LEAF_URL_HINT describes a hub address an edge dials. */
export const LEAF_URL_HINT = 'a hub address like "nats-leaf://hub.lan:7422" (schemes nats-leaf, nats or tls; no user or password in it: use secret_file or secret_env)';

const path = filePath;
const userName = z.string({ error: "expected a user name (string)" }).regex(/^[A-Za-z0-9_.@-]+$/, { message: "expected a user name of letters, digits, '.', '_', '-' or '@'" });


const leafUrl = z.unknown().transform((value, ctx): LeafUrl => {
  const fail = (why: string) => {
    ctx.addIssue({ code: "custom", message: `expected ${LEAF_URL_HINT}${why}` });
    return z.NEVER;
  };
  if (typeof value !== "string") return fail(`, got ${typeof value}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`, got ${JSON.stringify(value)}`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!["nats-leaf", "nats", "tls"].includes(scheme)) return fail(`; scheme "${scheme}" is not supported`);
  if (url.username || url.password) return fail("; this one carries credentials");
  if (!url.hostname) return fail(`, got ${JSON.stringify(value)}`);
  if ((url.pathname && url.pathname !== "/") || url.search || url.hash) return fail(`, got ${JSON.stringify(value)}`);
  const port = url.port ? Number(url.port) : DEFAULTS.leafPort;
  // WHATWG URL keeps IPv6 hosts in brackets; store the bare address and bracket it once, when writing.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { scheme, host, port, text: `${scheme}://${joinHostPort(host, port)}` };
});

const remoteSchema = z.strictObject({
  url: leafUrl.optional(),
  urls: z.array(leafUrl, { error: `expected a list of hub addresses, each ${LEAF_URL_HINT}` }).min(1, { message: "expected at least one hub address" }).optional(),
  home: leafUrl.optional(),
  fallback: leafUrl.optional(),
  user: userName.optional(),
  secret_file: path.optional(),
  secret_env: envName.optional(),
  nkey_file: path.optional(),
  ca_file: path.optional(),
  cert_file: path.optional(),
  key_file: path.optional(),
}).superRefine((r, ctx) => {
  if ((r.cert_file === undefined) !== (r.key_file === undefined)) ctx.addIssue({ code: "custom", message: "expected cert_file and key_file together (the edge's certificate from the hub's CA and its key)" });
  if (r.cert_file !== undefined && r.ca_file === undefined) ctx.addIssue({ code: "custom", message: "expected ca_file with cert_file: the edge checks in with the hub's CA holders, verifying them against the hub's CA" });
  if (r.nkey_file !== undefined && (r.user !== undefined || r.secret_file !== undefined || r.secret_env !== undefined)) ctx.addIssue({ code: "custom", message: "expected nkey_file (an enrolled edge's own key) or user with secret_file/secret_env, not both" });
  if ((r.url === undefined) === (r.urls === undefined)) ctx.addIssue({ code: "custom", message: "expected url (one hub node) or urls (every node of the hub cluster), exactly one of them" });
  if (r.home && !(r.urls ?? (r.url ? [r.url] : [])).some((u) => sameHub(u, r.home!))) ctx.addIssue({ code: "custom", path: ["home"], message: `expected home to be one of the remote's urls (the hub node this edge dials first), got ${JSON.stringify(r.home.text)}` });
  if (r.fallback && !(r.urls ?? (r.url ? [r.url] : [])).some((u) => sameHub(u, r.fallback!))) ctx.addIssue({ code: "custom", path: ["fallback"], message: `expected fallback to be one of the remote's urls (the hub node this edge dials second), got ${JSON.stringify(r.fallback.text)}` });
  else if (r.fallback && r.home && sameHub(r.home, r.fallback)) ctx.addIssue({ code: "custom", path: ["fallback"], message: `expected fallback to be another hub node than home, got home's ${JSON.stringify(r.fallback.text)}` });
  if (r.secret_file !== undefined && r.secret_env !== undefined) ctx.addIssue({ code: "custom", message: "expected one of secret_file or secret_env, not both" });
  if (r.user !== undefined && r.secret_file === undefined && r.secret_env === undefined) ctx.addIssue({ code: "custom", message: "expected secret_file or secret_env with user" });
});

const LEAF_PASSWORD_KEYS = ["password_hash", "password_file", "password_env"] as const;

const leafUserSchema = z.strictObject({ user: userName, ...passwordFields }).superRefine((u, ctx) => {
  const problem = passwordSourceProblem(u, LEAF_PASSWORD_KEYS);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** leafnodesTable is the [leafnodes] table. */
const leafnodesTable = z.strictObject({
  listen: listenValue.optional(),
  secret_file: path.optional(),
  secret_env: envName.optional(),
  users: z.array(leafUserSchema, { error: "expected [[leafnodes.users]] tables" }).optional(),
  enroll: z.boolean({ error: "expected true or false" }).optional(),
  store_and_forward: z.array(z.string({ error: `expected ${SUBJECT_HINT}` }).superRefine((v, ctx) => {
    const problem = subjectProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: `expected ${SUBJECT_HINT}; ${JSON.stringify(v)}: ${problem}` });
  }), { error: 'expected a list of subjects like ["sensors.>"]' }).optional(),
  remotes: z.array(remoteSchema, { error: "expected [[leafnodes.remotes]] tables" }).optional(),
  keepalive: parsed<number>(parseDuration).superRefine((n, ctx) => {
    if (n < KEEPALIVE_BOUNDS_MS.min || n > KEEPALIVE_BOUNDS_MS.max) ctx.addIssue({ code: "custom", message: `expected ${KEEPALIVE_HINT}, from 3s to 10m, got ${n} ms` });
  }).optional(),
}).superRefine((l, ctx) => {
  if (l.listen === undefined && !l.remotes?.length) ctx.addIssue({ code: "custom", message: "expected listen (this node is a hub) or [[leafnodes.remotes]] (this node is an edge), or both" });
  const auth = [l.secret_file !== undefined && "secret_file", l.secret_env !== undefined && "secret_env", l.users?.length && "users"].filter(Boolean);
  if (auth.length > 1) ctx.addIssue({ code: "custom", message: `expected one way for edges to sign in (secret_file, secret_env or [[leafnodes.users]]), got ${auth.join(" and ")}` });
  if (l.store_and_forward?.length && !l.remotes?.length) ctx.addIssue({ code: "custom", path: ["store_and_forward"], message: "expected [[leafnodes.remotes]]: store and forward keeps an edge's messages for its hub" });
  if (l.enroll && l.listen === undefined) ctx.addIssue({ code: "custom", path: ["enroll"], message: "expected listen: enrolled edges connect to this node's leaf port" });
  if (l.listen === undefined && auth.length) ctx.addIssue({ code: "custom", path: [String(auth[0])], message: "expected listen: secrets and users are for edges connecting to this node" });
});

/**
 * enrolledUplink is the uplink of an edge enrolled with `unibus join --edge`:
 * the first remote with its own certificate (cert_file, key_file) and the
 * hub's CA (ca_file). Its edge checks in with the hub's CA holders (CA
 * rotations, renewals: lib/membership/edge-agent.ts). Undefined on a node
 * that is no enrolled edge.
 */
export function enrolledUplink(config: UnibusConfig): (LeafRemote & { certFile: string; keyFile: string; caFile: string }) | undefined {
  return config.leafnodes?.remotes.find((r): r is LeafRemote & { certFile: string; keyFile: string; caFile: string } => Boolean(r.certFile && r.keyFile && r.caFile));
}

/**
 * uplinkCaFile is the CA file an uplink verifies its hub with: for the
 * enrolled uplink, the bundle its edge keeps in the data dir once it has one
 * (it follows the hub's CA rotations; ca_file under /etc stays as joined).
 */
export function uplinkCaFile(config: UnibusConfig, remote: LeafRemote): string | undefined {
  if (!remote.caFile) return undefined;
  const bundle = dataDirLayout(config.node.dataDir).uplinkTrust;
  return enrolledUplink(config) === remote && existsSync(bundle) ? bundle : remote.caFile;
}


/** KEEPALIVE_HINT describes [leafnodes] keepalive. */
const KEEPALIVE_HINT = 'a duration like "15s": how soon a cut uplink is noticed';

/** KEEPALIVE_BOUNDS_MS: below 3 s a busy Raspberry Pi would drop healthy uplinks; above 10 min nothing is kept alive. */
const KEEPALIVE_BOUNDS_MS = { min: 3_000, max: 600_000 } as const;


/** resolveLeafnodes reads the secrets and resolves paths. */
function resolveLeafnodes(raw: z.output<typeof leafnodesTable>, at: (p: string) => string, env: Record<string, string | undefined>): LeafnodesConfig {
  const secret = raw.secret_file !== undefined ? readSecretFile(at(raw.secret_file), "secret_file")
    : raw.secret_env !== undefined ? readSecretEnv(raw.secret_env, "secret_env", env) : undefined;
  return {
    ...(raw.listen ? { listen: raw.listen } : {}),
    ...(secret ? { secret } : {}),
    users: (raw.users ?? []).map((u) => ({ user: u.user, password: resolvePassword(u, at, env) })),
    keepaliveMs: raw.keepalive ?? DEFAULTS.leafKeepaliveMs,
    enroll: raw.enroll ?? false,
    storeAndForward: raw.store_and_forward ?? [],
    enrolled: [],
    remotes: (raw.remotes ?? []).map((r) => {
      const s = r.secret_file !== undefined ? readSecretFile(at(r.secret_file), "secret_file")
        : r.secret_env !== undefined ? readSecretEnv(r.secret_env, "secret_env", env) : undefined;
      const urls = r.urls ?? (r.url ? [r.url] : []);
      const nkey = r.nkey_file !== undefined ? readNkeySeed(at(r.nkey_file)) : undefined;
      return {
        urls, ...(r.home ? { home: r.home } : {}), ...(r.fallback ? { fallback: r.fallback } : {}), label: urls.map((u) => u.text).join(", "), user: r.user ?? DEFAULTS.leafUser, ...(s ? { secret: s } : {}), ...(nkey ? { nkey } : {}), ...(r.ca_file ? { caFile: at(r.ca_file) } : {}),
        ...(r.cert_file && r.key_file ? { certFile: at(r.cert_file), keyFile: at(r.key_file) } : {}),
      };
    }),
  };
}

/** readNkeySeed reads an enrolled edge's user nkey seed from a 0600 file and checks that it is one. */
function readNkeySeed(file: string): ResolvedSecret {
  const got = readSecretFile(file, "nkey_file");
  if (got.error || !got.value) return got;
  try {
    if (!fromSeed(new TextEncoder().encode(got.value.trim())).getPublicKey().startsWith("U")) throw new Error("not a user key");
  } catch {
    return { source: got.source, key: got.key, error: `expected a user nkey seed (SU…, written by unibus join --edge) in ${file}` };
  }
  return { ...got, value: got.value.trim() };
}

/** checkLeafnodes refuses an open hub on the network and unreadable secrets or CA files. */
function checkLeafnodes(config: UnibusConfig): ConfigIssue[] {
  const leaf = config.leafnodes;
  if (!leaf) return [];
  const issues: ConfigIssue[] = [];
  if (leaf.storeAndForward.length && !config.jetstream.enabled) issues.push({ path: ["leafnodes", "store_and_forward"], message: "expected [jetstream] enabled = true: the edge keeps the messages in a JetStream stream" });
  if (leaf.enroll && (!config.cluster || !config.tls)) issues.push({ path: ["leafnodes", "enroll"], message: "expected [cluster] and [tls]: edges enroll through the cluster's CA holders (unibus token create, unibus join --edge)" });
  if (leaf.listen && !isLoopback(leaf.listen.host) && !leaf.secret && leaf.users.length === 0 && !leaf.enroll) {
    issues.push({ path: ["leafnodes", "listen"], message: `expected a loopback address, or secret_file, secret_env or [[leafnodes.users]] so that only your edges can join the bus at "${leaf.listen.text}"` });
  }
  if (leaf.secret?.error) issues.push({ path: ["leafnodes", leaf.secret.key], message: leaf.secret.error });
  // Edges sign in through the same users table as clients (_edge-sign-in.ts): names must not clash.
  const clientNames = new Set(config.client.users.map((u) => u.user));
  leaf.users.forEach((u, i) => {
    if (u.password.error) issues.push({ path: ["leafnodes", "users", i, u.password.key], message: u.password.error });
    if (clientNames.has(u.user)) issues.push({ path: ["leafnodes", "users", i, "user"], message: `expected a name no client user has: "${u.user}" is also in [[client.users]], and nats-server keeps one list of user names` });
  });
  if (leaf.listen && leaf.secret && clientNames.has(DEFAULTS.leafUser)) {
    issues.push({ path: ["leafnodes", leaf.secret.key], message: `edges sign in with the shared secret as user "${DEFAULTS.leafUser}", which is also a [[client.users]] name; rename that client user` });
  }
  const dialedBy = new Map<string, number>();
  leaf.remotes.forEach((r, i) => {
    for (const u of r.urls) {
      const key = joinHostPort(u.host, u.port);
      const other = dialedBy.get(key);
      if (other !== undefined && other !== i) {
        issues.push({ path: ["leafnodes", "remotes", i, "urls"], message: `expected each hub node in one remote only: ${u.text} is also in [[leafnodes.remotes]] entry ${other + 1}, and two uplinks into one hub cluster deliver every message twice; list every hub node in one entry's urls` });
      }
      dialedBy.set(key, i);
    }
  });
  leaf.remotes.forEach((r, i) => {
    if (r.secret?.error) issues.push({ path: ["leafnodes", "remotes", i, r.secret.key], message: r.secret.error });
    if (r.nkey?.error) issues.push({ path: ["leafnodes", "remotes", i, "nkey_file"], message: r.nkey.error });
    for (const [key, file] of [["ca_file", r.caFile], ["cert_file", r.certFile], ["key_file", r.keyFile]] as const) {
      if (file && !(existsSync(file) && statSync(file).isFile())) issues.push({ path: ["leafnodes", "remotes", i, key], message: `file not found: ${file}` });
    }
  });
  return issues;
}


/** renderLeafnodes is the nats-server `leafnodes` block; credentials go into the remote URL (the file is 0600). */
function renderLeafnodes(config: UnibusConfig, { tls }: NodeFacts): Record<string, unknown> {
  const leaf = config.leafnodes;
  if (!leaf) return {};
  const out: Record<string, unknown> = { reconnect: DEFAULTS.leafReconnect };
  if (leaf.listen) {
    out.listen = leaf.listen.text;
    if (tls) out.tls = { cert_file: tls.certFile, key_file: tls.keyFile, timeout: DEFAULTS.tlsTimeoutS };
    // No authorization block here: edges sign in through the main users table, which reloads live (_edge-sign-in.ts).
  }
  if (leaf.remotes.length) {
    out.remotes = leaf.remotes.map((r) => {
      const caFile = uplinkCaFile(config, r);
      const cred = r.secret?.value ? `${encodeURIComponent(r.user)}:${encodeURIComponent(r.secret.value)}@` : "";
      // Each edge dials the hub nodes in its own order, its home first (lib/fleet/hub-order.ts): a fleet spreads, a lost node's
      // edges spread over the others, and home-return.ts knows which node is home. nats must not shuffle it.
      return {
        urls: uplinkOrder(config.node.name, r.urls, r.home, r.fallback).map((u) => `${u.scheme}://${cred}${joinHostPort(u.host, u.port)}`),
        ...(r.urls.length > 1 ? { dont_randomize: true } : {}),
        ...(r.nkey?.value ? { nkey: r.nkey.value } : {}),
        ...(caFile ? { tls: { ca_file: caFile, timeout: DEFAULTS.tlsTimeoutS } } : {}),
      };
    });
  }
  return { leafnodes: out };
}

/** effectiveLeafnodes is the [leafnodes] table for `config check`, secrets redacted. */
function effectiveLeafnodes(leaf: LeafnodesConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (leaf.listen) out.listen = leaf.listen.text;
  if (leaf.enroll) out.enroll = true;
  if (leaf.storeAndForward.length) out.store_and_forward = leaf.storeAndForward;
  out.keepalive = `${leaf.keepaliveMs / 1000}s`;
  if (leaf.secret) out[leaf.secret.key] = effectiveSecretValue(leaf.secret);
  if (leaf.users.length) out.users = leaf.users.map((u) => ({ user: u.user, [u.password.key]: effectiveSecretValue(u.password) }));
  if (leaf.remotes.length) {
    out.remotes = leaf.remotes.map((r) => ({
      ...(r.urls.length === 1 ? { url: r.urls[0]!.text } : { urls: r.urls.map((u) => u.text) }),
      ...(r.home ? { home: r.home.text } : {}),
      ...(r.fallback ? { fallback: r.fallback.text } : {}),
      ...(r.secret ? { user: r.user, [r.secret.key]: effectiveSecretValue(r.secret) } : {}),
      ...(r.nkey ? { nkey_file: effectiveSecretValue(r.nkey) } : {}),
      ...(r.caFile ? { ca_file: r.caFile } : {}),
      ...(r.certFile ? { cert_file: r.certFile, key_file: r.keyFile } : {}),
    }));
  }
  return out;
}

/**
 * leafnodesRestartOnly names the hub-side keys nats-server cannot change on
 * reload (the leaf port's address); edge users, the leaf secret and remotes
 * (the edge side) change live.
 */
function leafnodesRestartOnly(a: UnibusConfig, b: UnibusConfig): string | undefined {
  const x = a.leafnodes;
  const y = b.leafnodes;
  // The JetStream domain store and forward sets is fixed from nats-server's start.
  if (Boolean(x?.storeAndForward.length) !== Boolean(y?.storeAndForward.length)) return "leafnodes.store_and_forward (turning it on or off sets the JetStream domain)";
  if (Boolean(x?.listen) !== Boolean(y?.listen)) return "leafnodes.listen (adding or removing the hub side)";
  if (!x?.listen || !y?.listen) return undefined;
  const changed = differs("leafnodes.listen", x.listen.text, y.listen.text);
  if (changed) return changed;
  // Edge users and the leaf secret reload live, except the very first on a node whose clients are anonymous:
  // that moves anonymous clients from nats's own no-auth user to unibus's, which nats only does at a start.
  const anonymous = (c: UnibusConfig) => c.client.users.length === 0 && c.client.nkeys.length === 0;
  if (anonymous(a) && anonymous(b) && hasEdgeTable(a) !== hasEdgeTable(b)) {
    return "leafnodes.secret_file / secret_env / [[leafnodes.users]] (the first or last way for edges to sign in, on a node whose clients are anonymous)";
  }
  return undefined;
}

/** leafnodesSection is the [leafnodes] table: hub side (listen) and edge side (remotes). */
export const leafnodesSection = {
  key: "leafnodes",
  schema: (ctx: ResolveContext) => leafnodesTable.optional().transform((raw) => raw && resolveLeafnodes(raw, ctx.at, ctx.env)),
  checks: checkLeafnodes,
  listeners: ({ leafnodes }) => (leafnodes?.listen ? [{ path: ["leafnodes", "listen"], listen: leafnodes.listen }] : []),
  secrets: ({ leafnodes: l }) => secretForms(l?.secret?.value, ...(l?.users ?? []).map((u) => u.password.value), ...(l?.remotes ?? []).flatMap((r) => [r.secret?.value, r.nkey?.value])),
  sans: noSans,
  render: renderLeafnodes,
  effective: ({ leafnodes }) => leafnodes && effectiveLeafnodes(leafnodes),
  restartOnly: leafnodesRestartOnly,
} satisfies Section<"leafnodes", LeafnodesConfig | undefined>;
