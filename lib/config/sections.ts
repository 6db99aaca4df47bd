/**
 * sections.ts is the list of node.toml's tables. Loading, checking, port
 * clashes, rendering, redaction, the effective view, restart-only changes
 * and the certificate's SANs all loop over SECTIONS; adding a table is one
 * module plus one line here (and its value in config-types.ts, where
 * UnibusConfig is declared apart so no section imports this list back; a
 * compile-time check here says the two agree).
 */
import { adminSection } from "./section-admin.ts";
import { backupSection } from "./section-backup.ts";
import { clientSection } from "./section-client.ts";
import { clusterSection } from "./section-cluster.ts";
import { mqttSection, websocketSection } from "./section-edge.ts";
import { gatewaySection } from "./section-gateway.ts";
import { jetstreamSection } from "./section-jetstream.ts";
import { leafnodesSection } from "./section-leafnodes.ts";
import { limitsSection } from "./section-limits.ts";
import { logSection } from "./section-log.ts";
import { monitorSection } from "./section-monitor.ts";
import { nodeSection } from "./section-node.ts";
import type { z } from "zod";
import type { UnibusConfig } from "./config-types.ts";
import { systemAccountSection } from "./section-system-account.ts";
import { tlsSection } from "./section-tls.ts";

/** SECTIONS lists every table in the order `config check` prints them; [node] comes first (its data dir is a default of others). */
export const SECTIONS = [
  nodeSection,
  clientSection,
  monitorSection,
  jetstreamSection,
  logSection,
  adminSection,
  clusterSection,
  gatewaySection,
  leafnodesSection,
  mqttSection,
  websocketSection,
  systemAccountSection,
  limitsSection,
  tlsSection,
  backupSection,
] as const;

type Tables = { [S in (typeof SECTIONS)[number] as S["key"]]: z.output<ReturnType<S["schema"]>> };
type OptionalKeys = { [K in keyof Tables]: undefined extends Tables[K] ? K : never }[keyof Tables];
/** SchemaConfig is the config tree as the sections' schemas output it. */
type SchemaConfig =
  & { file: string }
  & { [K in Exclude<keyof Tables, OptionalKeys>]: Tables[K] }
  & { [K in OptionalKeys]?: Tables[K] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameKeys<A, B> = { [K in keyof A & keyof B]: Same<keyof NonNullable<A[K]>, keyof NonNullable<B[K]>> }[keyof A & keyof B];
/** The declared UnibusConfig (config-types.ts) and what the listed sections' schemas output must be one type, table by table: adding or changing a table without the other does not compile. */
const declaredMatchesSections: Same<SchemaConfig, UnibusConfig> & Same<keyof SchemaConfig, keyof UnibusConfig> & Same<SameKeys<SchemaConfig, UnibusConfig>, true> = true;
void declaredMatchesSections;

export type { UnibusConfig } from "./config-types.ts";

/** AnySection is a section of any table, for code that loops over them all. */
export type AnySection = (typeof SECTIONS)[number];

/** configSecrets are every secret of every section, in every form that could reach a log line. */
export function configSecrets(config: UnibusConfig): string[] {
  return SECTIONS.flatMap((s) => s.secrets(config));
}

/** restartOnlyChange names the first setting that differs and that a running node cannot take over live, if any. */
export function restartOnlyChange(current: UnibusConfig, next: UnibusConfig): string | undefined {
  for (const section of SECTIONS) {
    const key = section.restartOnly(current, next);
    if (key) return key;
  }
  return undefined;
}

/** certificateSans are the names and addresses the sections need the node certificate to cover, beyond the automatic ones. */
export function certificateSans(config: UnibusConfig): string[] {
  return [...new Set(SECTIONS.flatMap((s) => s.sans(config)))];
}
