/**
 * client-policy.ts is the part of a member's [client] and [tls] tables that
 * belongs to the cluster rather than the box: whether clients reach the
 * members from the network or only on their own host, on which port, and
 * whether with TLS. A CA holder hands it to every box that joins, which
 * writes it into its config, so a joined box serves the LAN's clients like
 * the others with no edit; the users themselves come from the cluster's
 * access ledger (lib/access/).
 */
import type { UnibusConfig } from "../config/sections.ts";
import { isLoopback, isWildcard } from "../config/units.ts";

/** ClientPolicy is how clients reach every member. */
export interface ClientPolicy {
  /** True when the client port listens on the network (every interface on a joined box), false for loopback only. */
  network: boolean;
  /** The client port. */
  port: number;
  /** TLS on the client port (tls.client_tls). */
  tls: boolean;
  /** MQTT devices' listener ([mqtt] listen), when the cluster has one: on the network or loopback only, and its port. */
  mqtt?: { network: boolean; port: number };
}

/** clientPolicyOf reads the policy off a member's config. */
export function clientPolicyOf(config: UnibusConfig): ClientPolicy {
  const { host, port } = config.client.listen;
  const mqtt = config.mqtt?.listen;
  return { network: onNetwork(host), port, tls: Boolean(config.tls?.clientTls), ...(mqtt ? { mqtt: { network: onNetwork(mqtt.host), port: mqtt.port } } : {}) };
}

function onNetwork(host: string): boolean {
  return !isLoopback(host) || isWildcard(host);
}

const isPort = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;

/** isClientPolicy checks a policy received in a join answer. */
export function isClientPolicy(v: unknown): v is ClientPolicy {
  if (!v || typeof v !== "object") return false;
  const p = v as Record<string, unknown>;
  const m = p.mqtt as Record<string, unknown> | undefined;
  const mqttOk = m === undefined || (Boolean(m) && typeof m === "object" && typeof m.network === "boolean" && isPort(m.port));
  return typeof p.network === "boolean" && typeof p.tls === "boolean" && isPort(p.port) && mqttOk;
}

/** clientListenText is the [client] listen a joined box writes for the policy. */
export function clientListenText(policy: ClientPolicy): string {
  return `${policy.network ? "0.0.0.0" : "127.0.0.1"}:${policy.port}`;
}

/** mqttListenText is the [mqtt] listen a joined box writes for the policy; undefined when the cluster has no MQTT listener. */
export function mqttListenText(policy: ClientPolicy): string | undefined {
  return policy.mqtt ? `${policy.mqtt.network ? "0.0.0.0" : "127.0.0.1"}:${policy.mqtt.port}` : undefined;
}
