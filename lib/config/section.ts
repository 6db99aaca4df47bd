/**
 * section.ts is the contract every table of node.toml fulfils. A table is one
 * module exporting one Section: its schema (whose output is that table's part
 * of the typed config, defaults and resolved paths included), its checks, the
 * listeners it opens (for the port-clash check), what it renders into the
 * nats-server config, the secrets it holds (for redaction), its redacted view
 * and which of its keys need a restart. load.ts, render.ts, effective.ts and
 * the node loop over the list in sections.ts; none of them names a table.
 */
import type { z } from "zod";
import type { AccessEntry } from "../access/ledger.ts";
import type { HostInfo } from "../host.ts";
import type { ConfigIssue, UnibusConfig } from "./config-types.ts";
import type { HostPort } from "./units.ts";

export type { ConfigIssue } from "./config-types.ts";

/** NodeTlsFiles are the certificate files the node presents, decided by the PKI at start. */
export interface NodeTlsFiles { certFile: string; keyFile: string; caFile: string }

/** NodeFacts are what the node decides at start and the rendering needs beyond the config. */
export interface NodeFacts {
  /** The node certificate's files, when [tls] is configured and the PKI has them. */
  tls?: NodeTlsFiles | undefined;
  /** The public nkey unibus itself signs in to the system account with (lib/natsd/system-credential.ts). */
  systemKey?: string | undefined;
  /** The cluster's users as this member last knew them (lib/access/ledger.ts); rendered beside the file's. */
  access?: readonly AccessEntry[] | undefined;
  /** The public nkey unibus's backup and restore sign in to the clients' account with (lib/natsd/jetstream-credential.ts). */
  jetstreamKey?: string | undefined;
}

/**
 * Listener is one address a section binds; every listener takes part in the
 * port-clash check. `origin` says where a value not written in the file comes
 * from (a default derived from another key), so a clash names what to change.
 */
export interface Listener { path: string[]; listen: HostPort; origin?: string }

/** Env is the process environment secrets and $STATE_DIRECTORY are read from. */
export type Env = Record<string, string | undefined>;

/** ResolveContext is what a schema needs beyond the TOML text: where the file is, the environment, this host. */
export interface ResolveContext {
  /** Absolute path of the config file. */
  file: string;
  /** at resolves a path written in the file against the file's folder. */
  at(path: string): string;
  env: Env;
  host: HostInfo;
  /** The node's data dir (from [node], resolved first): defaults of other tables live in it. */
  dataDir: string;
  /** Whether the file has a [tls] table: listeners that use the node certificate decide their TLS by it. */
  hasTls: boolean;
}

/**
 * Section is one TOML table. Every member is required: a table that opens no
 * port or holds no secret says so with an empty list, so forgetting either
 * does not compile.
 */
export interface Section<K extends string, V> {
  /** The table's key in UnibusConfig, and its name in node.toml unless `table` says otherwise. */
  readonly key: K;
  /** The table's name in node.toml when it is not `key` (system_account → systemAccount). */
  readonly table?: string;
  /** schema validates the table (undefined when absent) and outputs its effective value. */
  schema(ctx: ResolveContext): z.ZodType<V>;
  /** checks report what spans several keys or tables, and what could only be known after resolving. */
  checks(config: UnibusConfig): ConfigIssue[];
  /** listeners are the addresses the table binds. */
  listeners(config: UnibusConfig): Listener[];
  /** secrets are every form of every secret value the table holds, for the logger to redact. */
  secrets(config: UnibusConfig): string[];
  /** render returns the top-level keys this table adds to the nats-server config. */
  render(config: UnibusConfig, node: NodeFacts): Record<string, unknown>;
  /** effective is the table as `config check` and the admin page show it: defaults filled, secrets redacted; undefined when absent. */
  effective(config: UnibusConfig): Record<string, unknown> | undefined;
  /** restartOnly names the first key that differs and that a running node cannot apply, if any. */
  restartOnly(current: UnibusConfig, next: UnibusConfig): string | undefined;
  /** sans are names and addresses the node certificate must cover for this table's peers. */
  sans(config: UnibusConfig): string[];
}

/** tableName is a section's name in node.toml. */
export function tableName(section: { key: string; table?: string }): string {
  return section.table ?? section.key;
}

/** noListeners, noSecrets, noSans and noChecks say "none" explicitly for a table that has none. */
export const noListeners = (): Listener[] => [];
/** noSecrets is the secrets() of a table without secrets. */
export const noSecrets = (): string[] => [];
/** noSans is the sans() of a table whose peers do not verify this node. */
export const noSans = (): string[] => [];
/** noChecks is the checks() of a table its schema checks completely. */
export const noChecks = (): ConfigIssue[] => [];

/** secretForms lists the spellings of a secret that can reach a log line: as is and URL-encoded (credentials in URLs). */
export function secretForms(...values: (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (!v) continue;
    out.add(v);
    out.add(encodeURIComponent(v));
  }
  return [...out];
}

/** differs names `key` when two values differ (compared as JSON), for restartOnly. */
export function differs(key: string, a: unknown, b: unknown): string | undefined {
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : key;
}

/** presence names a table added or removed, for restartOnly. */
export function presence(key: string, a: unknown, b: unknown): string | undefined {
  return Boolean(a) === Boolean(b) ? undefined : `[${key}] (adding or removing it)`;
}
