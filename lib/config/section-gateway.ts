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
  if (!config.cluster) issues.push({ path: ["gateway"], message: "expected a [cluster] table: a gateway joins this node's cluster (its cluster.name is the gateway name) to other clusters" });
  if (!config.tls) issues.push({ path: ["gateway"], message: "expected a [tls] section: gateways are mutual TLS with the node certificate" });
  const secret = gw.secret;
  const at = secret.source === "none" ? ["gateway"] : ["gateway", secret.key];
  if (secret.error) issues.push({ path: at, message: secret.error });
  else if (secret.value!.length < CLUSTER.minSecretLength) issues.push({ path: at, message: `expected a gateway secret of at least ${CLUSTER.minSecretLength} characters (from ${secret.source}); make one with: openssl rand -base64 32` });
  else if (isBcryptHash(secret.value!) || /\s/.test(secret.value!)) issues.push({ path: at, message: `expected the gateway secret itself on one line without spaces, not a hash (from ${secret.source})` });
  else if (secret.value === config.cluster?.secret.value) issues.push({ path: at, message: "expected a secret other than the route secret: gateways between sites are a separate trust boundary from routes inside one cluster" });
  const seen = new Set<string>();
  gw.remotes.forEach((r, i) => {
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
function renderGateway(config: UnibusConfig, { tls }: NodeFacts): Record<string, unknown> {
  const gw = config.gateway;
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
    listen: gw.listen.text,
    ...(gw.advertise ? { advertise: gw.advertise.text } : {}),
    ...(gw.secret.source.startsWith("file ") ? { secret_file: gw.secret.source.slice(5) } : gw.secret.source.startsWith("env ") ? { secret_env: gw.secret.source.slice(4) } : {}),
    secret: redactedSecret(gw.secret),
    remotes: gw.remotes.map((r) => ({ name: r.name, urls: r.urls.map((u) => u.text) })),
  },
  // nats-server cannot reload gateway settings; any change needs a restart.
  restartOnly: (a, b) => differs("[gateway]", a.gateway, b.gateway),
} satisfies Section<"gateway", GatewayConfig | undefined>;
