/**
 * section-edge.ts opens the bus to devices that do not speak NATS: MQTT
 * (nats-server's built-in broker, which keeps sessions in JetStream) and
 * WebSocket (browsers). Both are guarded by the same [[client.users]] as
 * the client port, and use the node certificate when [tls] is configured.
 */
import { DEFAULTS } from "./defaults.ts";
import { z } from "zod";
import type { ConfigIssue, UnibusConfig } from "./load.ts";
import type { NodeTlsFiles } from "./render.ts";
import { listenValue } from "./section-client-auth.ts";
import { isLoopback, type HostPort } from "./units.ts";

const noTls = z.boolean({ error: "expected true or false" }).optional();

/** mqttSchema is the [mqtt] table. */
export const mqttSchema = z.strictObject({ listen: listenValue, no_tls: noTls });
/** websocketSchema is the [websocket] table. */
export const websocketSchema = z.strictObject({ listen: listenValue, no_tls: noTls });

/** EdgeListener is an effective MQTT or WebSocket listener. */
export interface EdgeListener { listen: HostPort; tls: boolean; noTls: boolean }

/** resolveEdge maps [mqtt] and [websocket]; TLS is on when [tls] is configured and no_tls is not set. */
export function resolveEdge(raw: { mqtt?: z.output<typeof mqttSchema> | undefined; websocket?: z.output<typeof websocketSchema> | undefined }, hasTls: boolean): { mqtt?: EdgeListener; websocket?: EdgeListener } {
  const one = (r: { listen: HostPort; no_tls?: boolean | undefined } | undefined): EdgeListener | undefined =>
    r ? { listen: r.listen, noTls: r.no_tls ?? false, tls: hasTls && !(r.no_tls ?? false) } : undefined;
  const mqtt = one(raw.mqtt);
  const websocket = one(raw.websocket);
  return { ...(mqtt ? { mqtt } : {}), ...(websocket ? { websocket } : {}) };
}

/** checkEdge: MQTT needs JetStream; WebSocket needs TLS except on loopback. */
export function checkEdge(config: UnibusConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.mqtt && !config.jetstream.enabled) {
    issues.push({ path: ["mqtt", "listen"], message: "expected [jetstream] enabled = true: nats-server's MQTT keeps sessions and QoS 1 messages in JetStream" });
  }
  const ws = config.websocket;
  if (ws && !ws.tls) {
    if (!ws.noTls) {
      issues.push({ path: ["websocket", "listen"], message: "expected [tls] (WebSocket uses the node certificate) or no_tls = true on a loopback address" });
    } else if (!isLoopback(ws.listen.host)) {
      issues.push({ path: ["websocket", "no_tls"], message: `expected no_tls only on a loopback address (browsers send passwords over it); websocket.listen is "${ws.listen.text}"` });
    }
  }
  return issues;
}


/** renderEdge is the nats-server `mqtt` and `websocket` blocks. */
export function renderEdge(config: UnibusConfig, tls?: NodeTlsFiles): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const tlsBlock = tls ? { cert_file: tls.certFile, key_file: tls.keyFile, timeout: DEFAULTS.tlsTimeoutS } : undefined;
  if (config.mqtt) out.mqtt = { listen: config.mqtt.listen.text, ...(config.mqtt.tls && tlsBlock ? { tls: tlsBlock } : {}) };
  if (config.websocket) {
    const ws = config.websocket;
    // TLS expected but no certificate yet: render neither, so nats-server refuses rather than serve in clear.
    out.websocket = { listen: ws.listen.text, ...(ws.tls ? (tlsBlock ? { tls: tlsBlock } : {}) : { no_tls: true }) };
  }
  return out;
}

/** effectiveEdge is the [mqtt] and [websocket] tables for `config check`. */
export function effectiveEdge(config: UnibusConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.mqtt) out.mqtt = { listen: config.mqtt.listen.text, no_tls: config.mqtt.noTls };
  if (config.websocket) out.websocket = { listen: config.websocket.listen.text, no_tls: config.websocket.noTls };
  return out;
}
