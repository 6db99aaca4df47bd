/**
 * section-gateway.ts is the [gateway] table: it joins this node's cluster to
 * clusters on other sites into one NATS supercluster. Each node of a cluster
 * listens for gateway connections and dials the remote clusters listed in
 * [[gateway.remotes]]; nats-server then forwards only the subjects the other
 * side is interested in, so a WAN link carries no more than it must.
 *
 * Gateways are mutual TLS with the node certificate (every site's nodes are
 * issued by the same CA) AND authenticated with the gateway secret, a trust
 * boundary of its own: it is never the route secret, so a box that may join
 * one site's cluster cannot thereby speak for a whole site.
 *
 * Two shapes, because nats-server has exactly one JetStream meta group per
 * supercluster (and refuses nothing when the clusters' domains differ: their
 * meta groups then merge into one that cannot name its peers):
 * - without `site`, a real nats gateway: one supercluster, ONE JetStream
 *   spanning the sites. A WAN cut leaves the smaller side (either side of
 *   two equal sites) without a meta leader: existing streams there still
 *   take writes, but no stream, KV bucket or durable consumer can be made.
 * - with `site = "NAME"`, an independent site: its own JetStream domain
 *   (NAME) and leaf connections to the other sites for core messages, the
 *   shape NATS documents for JetStream islands that must work alone. A cut
 *   leaves every site fully writable; `$JS.<site>.API` reaches another
 *   site's JetStream while the link is up. The site whose name sorts first
 *   dials (one leaf link per pair of sites: a leaf link both ways would loop).
 */
import { z } from "zod";
import { isBcryptHash } from "../auth/bcrypt.ts";
import { readSecretEnv, readSecretFile, redactedSecret, type ResolvedSecret } from "../auth/secret-source.ts";
import { CLUSTER, DEFAULTS } from "./defaults.ts";
import { envName, filePath, listenValue, parsed } from "./_parsed.ts";
import { differs, noSans, secretForms, type ConfigIssue, type NodeFacts, type ResolveContext, type Section } from "./section.ts";
import { NODE_NAME_HINT, isValidNodeName, joinHostPort, parsePeer, type HostPort } from "./units.ts";
import type { GatewayConfig, GatewayRemote, UnibusConfig } from "./config-types.ts";
export type { GatewayRemote, GatewayConfig } from "./config-types.ts";

const remoteSchema = z.strictObject({
  name: z.string({ error: "expected the remote cluster's name" }).refine(isValidNodeName, { message: `expected ${NODE_NAME_HINT}` }),
  urls: z.array(parsed(parsePeer), { error: 'expected a list of the remote cluster\'s gateway addresses like ["site-b.example:7222"]' })
    .min(1, "expected at least one gateway address of the remote cluster"),
});

const table = z.strictObject({
  site: z.string({ error: "expected this site's name" }).refine(isValidNodeName, { message: `expected ${NODE_NAME_HINT}` }).optional(),
  listen: listenValue.default(DEFAULTS.gatewayListen),
  advertise: parsed(parsePeer).optional(),
  secret_file: filePath.optional(),
  secret_env: envName.optional(),
  remotes: z.array(remoteSchema, { error: "expected [[gateway.remotes]] tables" }).default([]),
}).superRefine((g, ctx) => {
  if (g.secret_file !== undefined && g.secret_env !== undefined) ctx.addIssue({ code: "custom", path: ["secret_env"], message: "expected one of secret_file or secret_env, not both" });
});



function schema(ctx: ResolveContext) {
  return table.optional().transform((raw): GatewayConfig | undefined => raw && {
    ...(raw.site !== undefined ? { site: raw.site } : {}),
    listen: raw.listen,
    ...(raw.advertise ? { advertise: raw.advertise } : {}),
    secret: raw.secret_file !== undefined ? readSecretFile(ctx.at(raw.secret_file), "secret_file")
      : raw.secret_env !== undefined ? readSecretEnv(raw.secret_env, "secret_env", ctx.env)
      : { source: "none", key: "secret_file", error: 'expected secret_file = "FILE" or secret_env = "NAME": the secret every site\'s gateways sign in with' },
    remotes: raw.remotes.map((r) => ({ name: r.name, urls: r.urls })),
  });
}

/** checkGateway: a gateway joins clusters, speaks TLS, and has a strong secret of its own. */
function checkGateway(config: UnibusConfig): ConfigIssue[] {
  const gw = config.gateway;
  if (!gw) return [];
  const issues: ConfigIssue[] = [];
  if (!config.cluster && gw.site === undefined) issues.push({ path: ["gateway"], message: 'expected a [cluster] table (a gateway joins this node\'s cluster, named by cluster.name, to other clusters) or site = "NAME" (this node is a site of its own with its own JetStream)' });
  if (gw.site !== undefined && config.leafnodes) issues.push({ path: ["gateway", "site"], message: "expected no [leafnodes] beside [gateway] site: an independent site's links to other sites are nats-server's leaf connections, and it has one leaf port; edges and site links on one node are not supported yet" });
  if (!config.tls) issues.push({ path: ["gateway"], message: "expected a [tls] section: gateways are mutual TLS with the node certificate" });
  const secret = gw.secret;
  const at = secret.source === "none" ? ["gateway"] : ["gateway", secret.key];
  if (secret.error) issues.push({ path: at, message: secret.error });
  else if (secret.value!.length < CLUSTER.minSecretLength) issues.push({ path: at, message: `expected a gateway secret of at least ${CLUSTER.minSecretLength} characters (from ${secret.source}); make one with: openssl rand -base64 32` });
  else if (isBcryptHash(secret.value!) || /\s/.test(secret.value!)) issues.push({ path: at, message: `expected the gateway secret itself on one line without spaces, not a hash (from ${secret.source})` });
  else if (secret.value === config.cluster?.secret.value) issues.push({ path: at, message: "expected a secret other than the route secret: gateways between sites are a separate trust boundary from routes inside one cluster" });
  const seen = new Set<string>();
  gw.remotes.forEach((r, i) => {
    if (gw.site !== undefined && r.name === gw.site) issues.push({ path: ["gateway", "remotes", i, "name"], message: `expected another site's name; "${r.name}" is this node's own site` });
    if (r.name === config.cluster?.name) issues.push({ path: ["gateway", "remotes", i, "name"], message: `expected another cluster's name; "${r.name}" is this node's own cluster` });
    if (seen.has(r.name)) issues.push({ path: ["gateway", "remotes", i, "name"], message: `expected each remote cluster once, "${r.name}" is listed twice` });
    seen.add(r.name);
  });
  return issues;
}

/**
 * renderGateway is nats-server's `gateway {}` block: named after the
 * cluster, mutual TLS with the node certificate, incoming gateways checked
 * against the gateway secret, outgoing URLs carrying it (the rendered file
 * is 0600).
 */
function renderGateway(config: UnibusConfig, facts: NodeFacts): Record<string, unknown> {
  const gw = config.gateway;
  if (gw?.site !== undefined) return renderSiteLinks(gw, facts);
  const { tls } = facts;
  if (!gw || !config.cluster) return {};
  if (!tls) throw new Error("the gateway needs the node certificate: [gateway] requires [tls]");
  const secret = gw.secret.value ?? "";
  const cred = `${encodeURIComponent(DEFAULTS.gatewayUser)}:${encodeURIComponent(secret)}@`;
  return {
    gateway: {
      name: config.cluster.name,
      listen: gw.listen.text,
      ...(gw.advertise ? { advertise: gw.advertise.text } : {}),
      // The secret itself, not a hash: nats dials gateways it learns by gossip
      // (another site's other nodes, a third site introduced by this one) with
      // this password, and a hash sent as a password never matches. The file
      // is 0600 and already carries the secret in the URLs below.
      authorization: { user: DEFAULTS.gatewayUser, password: secret, timeout: CLUSTER.authTimeoutS },
      tls: { cert_file: tls.certFile, key_file: tls.keyFile, ca_file: tls.caFile, verify: true, timeout: DEFAULTS.tlsTimeoutS },
      gateways: gw.remotes.map((r) => ({ name: r.name, urls: r.urls.map((u) => `nats://${cred}${joinHostPort(u.host, u.port)}`) })),
    },
  };
}

/** dialsSite tells whether this site dials `remote`: the site whose name sorts first dials, so each pair of sites has one leaf link. */
export function dialsSite(site: string, remote: string): boolean {
  return site < remote;
}

/**
 * renderSiteLinks is an independent site's `leafnodes {}` block: a leaf port
 * on gateway.listen for the sites that dial this one (mutual TLS with the
 * node certificate, the gateway secret as the one leaf user, bound to the
 * global account where clients are), and a remote per site this one dials.
 * The JetStream domain is section-jetstream.ts's (jetstreamDomain).
 */
function renderSiteLinks(gw: GatewayConfig, { tls }: NodeFacts): Record<string, unknown> {
  if (!tls) throw new Error("the site links need the node certificate: [gateway] requires [tls]");
  const secret = gw.secret.value ?? "";
  const cred = `${encodeURIComponent(DEFAULTS.gatewayUser)}:${encodeURIComponent(secret)}@`;
  const tlsBlock = { cert_file: tls.certFile, key_file: tls.keyFile, ca_file: tls.caFile, timeout: DEFAULTS.tlsTimeoutS };
  const dialed = gw.remotes.filter((r) => dialsSite(gw.site!, r.name));
  return {
    leafnodes: {
      listen: gw.listen.text,
      ...(gw.advertise ? { advertise: gw.advertise.text } : {}),
      reconnect: DEFAULTS.leafReconnect,
      tls: { ...tlsBlock, verify: true },
      authorization: { user: DEFAULTS.gatewayUser, password: secret, timeout: CLUSTER.authTimeoutS },
      ...(dialed.length ? { remotes: dialed.map((r) => ({ urls: r.urls.map((u) => `nats-leaf://${cred}${joinHostPort(u.host, u.port)}`), tls: tlsBlock })) } : {}),
    },
  };
}

/**
 * jetstreamDomain is the JetStream domain this node's config asks for: an
 * independent site's name ([gateway] site); undefined otherwise (edges that
 * store and forward set their own, section-leafnodes.ts).
 */
export function jetstreamDomain(config: UnibusConfig): string | undefined {
  return config.gateway?.site;
}

/**
 * gatewayPingSettings are the nats-server ping settings a node with
 * [gateway] runs with: nats has no ping interval of its own for gateway or
 * leaf connections (they use the server's, 2 minutes, so a cut WAN link went
 * unnoticed for 4 to 6 minutes). A ping every 5 s and two unanswered drop the
 * link, so a cut is seen within 15 s; a shorter [limits] ping_interval is kept.
 */
export function gatewayPingSettings(config: UnibusConfig, limitPingMs: number): { pingIntervalMs: number; pingMax: number } | undefined {
  if (!config.gateway) return undefined;
  return { pingIntervalMs: Math.min(limitPingMs, Math.floor(DEFAULTS.leafKeepaliveMs / 3)), pingMax: 2 };
}

/** gatewaySection is the [gateway] table. */
export const gatewaySection = {
  key: "gateway",
  schema,
  checks: checkGateway,
  listeners: ({ gateway }) => (gateway ? [{ path: ["gateway", "listen"], listen: gateway.listen }] : []),
  secrets: ({ gateway }) => secretForms(gateway?.secret.value),
  // Other sites dial the advertised address: the certificate must name it.
  sans: ({ gateway }) => (gateway?.advertise ? [gateway.advertise.host] : noSans()),
  render: renderGateway,
  effective: ({ gateway: gw }) => gw && {
    ...(gw.site !== undefined ? { site: gw.site } : {}),
    listen: gw.listen.text,
    ...(gw.advertise ? { advertise: gw.advertise.text } : {}),
    ...(gw.secret.source.startsWith("file ") ? { secret_file: gw.secret.source.slice(5) } : gw.secret.source.startsWith("env ") ? { secret_env: gw.secret.source.slice(4) } : {}),
    secret: redactedSecret(gw.secret),
    remotes: gw.remotes.map((r) => ({ name: r.name, urls: r.urls.map((u) => u.text) })),
  },
  // nats-server cannot reload gateway settings; any change needs a restart.
  restartOnly: (a, b) => differs("[gateway]", a.gateway, b.gateway),
} satisfies Section<"gateway", GatewayConfig | undefined>;
