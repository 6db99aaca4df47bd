/**
 * effective.ts renders the effective config back as TOML for `config check`
 * and the admin page: every default filled in, every path absolute, every
 * secret replaced by a marker saying where it comes from.
 */
import { stringify } from "smol-toml";
import type { UnibusConfig } from "./load.ts";
import { effectiveAdmin } from "./section-admin.ts";
import { effectiveCluster } from "./section-cluster.ts";
import { effectiveClientAuth } from "./section-client-auth.ts";
import { effectiveEdge } from "./section-edge.ts";
import { effectiveLeafnodes } from "./section-leafnodes.ts";
import { effectiveSystemAccount } from "./section-system-account.ts";
import { effectiveLimits } from "./section-limits.ts";

/** effectiveConfigObject is the config as plain TOML-shaped data, secrets redacted. */
export function effectiveConfigObject(config: UnibusConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    node: {
      name: config.node.name,
      data_dir: config.node.dataDir,
      ...(config.node.lameDuckMs !== undefined ? { lame_duck_duration: `${config.node.lameDuckMs / 1000}s` } : {}),
    },
    client: { listen: config.client.listen.text, ...(config.client.advertise ? { advertise: config.client.advertise.text } : {}), ...effectiveClientAuth(config) },
    monitor: { listen: config.monitor.listen.text },
    jetstream: {
      enabled: config.jetstream.enabled,
      max_memory: config.jetstream.maxMemory,
      max_file: config.jetstream.maxFile,
      sync: config.jetstream.sync === "always" ? "always" : `${config.jetstream.sync}ms`,
    },
    log: { level: config.log.level, format: config.log.format },
    admin: effectiveAdmin(config),
  };
  if (config.cluster) out.cluster = effectiveCluster(config.cluster);
  Object.assign(out, effectiveLeafnodes(config), effectiveEdge(config), effectiveSystemAccount(config), effectiveLimits(config));
  if (config.tls) {
    out.tls = {
      ca_cert: config.tls.caCert,
      ...(config.tls.caKey ? { ca_key: config.tls.caKey } : {}),
      ...(config.tls.cert ? { cert: config.tls.cert } : {}),
      ...(config.tls.key ? { key: config.tls.key } : {}),
      sans: config.tls.sans,
      client_tls: config.tls.clientTls,
      lifetime_days: config.tls.lifetimeDays,
    };
  }
  return out;
}

/** effectiveConfigToml renders effectiveConfigObject as TOML text. */
export function effectiveConfigToml(config: UnibusConfig): string {
  return stringify(effectiveConfigObject(config));
}
