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
}

/** clientPolicyOf reads the policy off a member's config. */
export function clientPolicyOf(config: UnibusConfig): ClientPolicy {
  const { host, port } = config.client.listen;
  return { network: !isLoopback(host) || isWildcard(host), port, tls: Boolean(config.tls?.clientTls) };
}

/** isClientPolicy checks a policy received in a join answer. */
export function isClientPolicy(v: unknown): v is ClientPolicy {
  if (!v || typeof v !== "object") return false;
  const p = v as Record<string, unknown>;
  return typeof p.network === "boolean" && typeof p.tls === "boolean" && Number.isInteger(p.port) && (p.port as number) > 0 && (p.port as number) < 65536;
}

/** clientListenText is the [client] listen a joined box writes for the policy. */
export function clientListenText(policy: ClientPolicy): string {
  return `${policy.network ? "0.0.0.0" : "127.0.0.1"}:${policy.port}`;
}
