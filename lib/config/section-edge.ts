/**
 * section-edge.ts opens the bus to devices that do not speak NATS: the
 * [mqtt] table (nats-server's built-in broker, which keeps sessions in
 * JetStream) and the [websocket] table (browsers). Both are guarded by the
 * same [[client.users]] as the client port, and use the node certificate
 * when [tls] is configured.
 */
import { z } from "zod";
import { CLUSTER, DEFAULTS } from "./defaults.ts";
import { clusterSize } from "./section-cluster.ts";
import { listenValue } from "./_parsed.ts";
import { differs, noSans, noSecrets, presence, type ConfigIssue, type NodeTlsFiles, type ResolveContext, type Section } from "./section.ts";
import { isLoopback, type HostPort } from "./units.ts";
import type { EdgeListener, UnibusConfig } from "./config-types.ts";
export type { EdgeListener } from "./config-types.ts";


/** schema maps one table; TLS is on when [tls] is configured and no_tls is not set. */
function schema(ctx: ResolveContext): z.ZodType<EdgeListener | undefined> {
  return z.strictObject({ listen: listenValue, no_tls: z.boolean({ error: "expected true or false" }).default(false) })
    .optional()
    .transform((r) => (r ? { listen: r.listen, noTls: r.no_tls, tls: ctx.hasTls && !r.no_tls } : undefined));
}

function tlsBlock(tls: NodeTlsFiles | undefined) {
  return tls ? { cert_file: tls.certFile, key_file: tls.keyFile, timeout: DEFAULTS.tlsTimeoutS } : undefined;
}

/**
 * mqttStreamReplicas is how many replicas nats-server gives the `$MQTT_*`
 * streams it creates: min(3, cluster size), the size counted from the
 * members this node knows now (the config with the members list folded in,
 * lib/membership/routes.ts); undefined without a clustered JetStream.
 * Rendered as `stream_replicas` rather than left to nats-server's counting
 * of configured routes, which gave 1 on a box joined to a one-node cluster.
 * Streams that exist already keep their count: lib/mqtt/replica-keeper.ts
 * raises them.
 */
export function mqttStreamReplicas(config: UnibusConfig): number | undefined {
  if (!config.cluster || !config.jetstream.enabled) return undefined;
  return Math.min(CLUSTER.mqttMaxReplicas, clusterSize(config.cluster));
}

/** checkMqtt: MQTT keeps its sessions in JetStream. */
function checkMqtt(config: UnibusConfig): ConfigIssue[] {
  if (!config.mqtt || config.jetstream.enabled) return [];
  return [{ path: ["mqtt", "listen"], message: "expected [jetstream] enabled = true: nats-server's MQTT keeps sessions and QoS 1 messages in JetStream" }];
}

/** checkWebsocket: browsers send passwords over it, so clear text only on loopback. */
function checkWebsocket(config: UnibusConfig): ConfigIssue[] {
  const ws = config.websocket;
  if (!ws || ws.tls) return [];
  if (!ws.noTls) return [{ path: ["websocket", "listen"], message: "expected [tls] (WebSocket uses the node certificate) or no_tls = true on a loopback address" }];
  if (!isLoopback(ws.listen.host)) return [{ path: ["websocket", "no_tls"], message: `expected no_tls only on a loopback address (browsers send passwords over it); websocket.listen is "${ws.listen.text}"` }];
  return [];
}

/** mqttSection is the [mqtt] table. */
export const mqttSection = {
  key: "mqtt",
  schema,
  checks: checkMqtt,
  listeners: ({ mqtt }) => (mqtt ? [{ path: ["mqtt", "listen"], listen: mqtt.listen }] : []),
  secrets: noSecrets,
  sans: noSans,
  render: (config, { tls }) => {
    const { mqtt } = config;
    const block = tlsBlock(tls);
    const replicas = mqttStreamReplicas(config);
    // In a cluster, MQTT's JetStream requests wait out a replicated consumer's first election (CLUSTER.mqttJsApiTimeout).
    const clustered = replicas ? { stream_replicas: replicas, js_api_timeout: CLUSTER.mqttJsApiTimeout } : {};
    return mqtt ? { mqtt: { listen: mqtt.listen.text, ...(mqtt.tls && block ? { tls: block } : {}), ...clustered } } : {};
  },
  effective: ({ mqtt }) => (mqtt ? { listen: mqtt.listen.text, no_tls: mqtt.noTls } : undefined),
  // nats-server cannot change its MQTT listener live (reload.go refuses any change but ack/replica tuning).
  restartOnly: (a, b) => presence("mqtt", a.mqtt, b.mqtt) ?? differs("[mqtt] listen / no_tls", a.mqtt, b.mqtt),
} satisfies Section<"mqtt", EdgeListener | undefined>;

/** websocketSection is the [websocket] table. */
export const websocketSection = {
  key: "websocket",
  schema,
  checks: checkWebsocket,
  listeners: ({ websocket }) => (websocket ? [{ path: ["websocket", "listen"], listen: websocket.listen }] : []),
  secrets: noSecrets,
  sans: noSans,
  render: ({ websocket: ws }, { tls }) => {
    if (!ws) return {};
    const block = tlsBlock(tls);
    // TLS expected but no certificate yet: render neither, so nats-server refuses rather than serve in clear.
    return { websocket: { listen: ws.listen.text, ...(ws.tls ? (block ? { tls: block } : {}) : { no_tls: true }) } };
  },
  effective: ({ websocket }) => (websocket ? { listen: websocket.listen.text, no_tls: websocket.noTls } : undefined),
  // nats-server refuses any change to its WebSocket listener on reload.
  restartOnly: (a, b) => presence("websocket", a.websocket, b.websocket) ?? differs("[websocket] listen / no_tls", a.websocket, b.websocket),
} satisfies Section<"websocket", EdgeListener | undefined>;
