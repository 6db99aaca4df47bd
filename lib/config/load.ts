/**
 * load.ts turns a node.toml file into the effective UnibusConfig: parse
 * (smol-toml), validate (schema.ts), apply DEFAULTS, resolve relative paths
 * against the file's folder and check what spans several keys. Any problem
 * becomes one ConfigError listing every issue as file:line:col: key: expected …
 * Loading never writes a file.
 */
import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "../errors.ts";
import type { LogLevel } from "../log.ts";
import { locateKeys, type KeyLocator } from "./_locate.ts";
import { DEFAULTS } from "./defaults.ts";
import { configSchema } from "./schema.ts";
import { checkAdmin, resolveAdmin, type AdminConfig } from "./section-admin.ts";
import { checkCluster, resolveCluster, type ClusterConfig } from "./section-cluster.ts";
import { checkClientAuth, resolveClientAuth, type ClientAuthConfig } from "./section-client-auth.ts";
import { checkEdge, resolveEdge, type EdgeListener } from "./section-edge.ts";
import { checkLeafnodes, resolveLeafnodes, type LeafnodesConfig } from "./section-leafnodes.ts";
import { checkSystemAccount, resolveSystemAccount, type SystemAccountConfig } from "./section-system-account.ts";
import { checkLimits, resolveLimits, type LimitsConfig } from "./section-limits.ts";
import { checkDiscovery } from "./section-discovery.ts";
import { isLoopback, isWildcard, nodeNameFromHost, parseListen, parseSize, type HostPort } from "./units.ts";

/** UnibusConfig is the effective configuration every other module reads. */
export interface UnibusConfig {
  /** Absolute path of the file it came from. */
  file: string;
  node: { name: string; dataDir: string; lameDuckMs?: number };
  /** advertise: the address other nodes' clients should dial, when not the cluster address (section-discovery.ts). */
  client: { listen: HostPort; advertise?: HostPort } & ClientAuthConfig;
  /** Hub side (listen) and/or edge side (remotes) of leaf-node connections. */
  leafnodes?: LeafnodesConfig;
  mqtt?: EdgeListener;
  websocket?: EdgeListener;
  /** Operators and tools allowed into nats-server's system account. */
  systemAccount: SystemAccountConfig;
  /** nats-server's per-connection limits; only the keys the file sets. */
  limits: LimitsConfig;
  monitor: { listen: HostPort };
  jetstream: { enabled: boolean; maxMemory: number; maxFile: number; sync: "always" | number };
  log: { level: LogLevel; format: "auto" | "text" | "json" };
  admin: AdminConfig;
  /** Routes to the other nodes; present only with a [cluster] table. */
  cluster?: ClusterConfig;
  tls?: {
    caCert: string;
    caKey?: string;
    cert?: string;
    key?: string;
    sans: string[];
    clientTls: boolean;
    lifetimeDays: number;
  };
}

/** ConfigIssue is one problem at one key. */
export interface ConfigIssue { path: readonly PropertyKey[]; message: string }

/** formatIssues renders issues as `file:line:col: key.path: message`, ordered by position. */
function formatIssues(file: string, locate: KeyLocator, issues: ConfigIssue[]): string {
  const rows = issues.map((issue) => {
    const pos = locate(issue.path);
    const key = issue.path.map(String).join(".") || "(top level)";
    return { line: pos?.line ?? 0, text: `${file}:${pos ? `${pos.line}:${pos.column}` : "1:1"}: ${key}: ${issue.message}` };
  });
  rows.sort((a, b) => a.line - b.line);
  return rows.map((r) => r.text).join("\n");
}

function readSource(file: string): string {
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory()) throw new ConfigError(`cannot read config file ${file}: it is a directory, expected a TOML file`);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${why}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(`cannot read config file ${file}: it is not UTF-8 text, expected a TOML file`);
  }
}

/** parseConfigText validates TOML text as if it came from `file`; tests and `config check` use it. */
export function parseConfigText(text: string, file: string, env: Record<string, string | undefined> = process.env): UnibusConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`${file}:${err.line}:${err.column}: invalid TOML: ${first}`);
    }
    throw err;
  }
  const locate = locateKeys(text);
  const result = configSchema.safeParse(doc);
  if (!result.success) {
    const issues: ConfigIssue[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) issues.push({ path: [...issue.path, key], message: `unknown key; expected one of ${knownKeys(issue.path)}` });
      } else {
        issues.push({ path: issue.path, message: issue.message.replace(/^Invalid input: /, "") });
      }
    }
    throw new ConfigError(`invalid config:\n${formatIssues(file, locate, issues)}`);
  }
  const raw = result.data;
  const dir = dirname(file);
  const at = (p: string) => resolve(dir, p);
  const stateDir = env.STATE_DIRECTORY?.split(":")[0];
  const installed = dir === DEFAULTS.installedConfigDir;
  const dataDir = raw.node?.data_dir ? at(raw.node.data_dir) : stateDir ? resolve(stateDir) : installed ? DEFAULTS.installedDataDir : at(DEFAULTS.dataDir);
  const config: UnibusConfig = {
    file,
    node: {
      name: raw.node?.name ?? nodeNameFromHost(hostname()),
      dataDir,
      ...(raw.node?.lame_duck_duration !== undefined ? { lameDuckMs: raw.node.lame_duck_duration } : {}),
    },
    client: {
      listen: raw.client?.listen ?? (parseListen(DEFAULTS.clientListen) as HostPort),
      ...(raw.client?.advertise ? { advertise: raw.client.advertise } : {}),
      ...resolveClientAuth(raw.client, at, env),
    },
    ...resolveEdge(raw, Boolean(raw.tls)),
    systemAccount: resolveSystemAccount(raw.system_account, at, env),
    limits: resolveLimits(raw.limits),
    monitor: { listen: raw.monitor?.listen ?? (parseListen(DEFAULTS.monitorListen) as HostPort) },
    jetstream: {
      enabled: raw.jetstream?.enabled ?? DEFAULTS.jetstreamEnabled,
      maxMemory: raw.jetstream?.max_memory ?? (parseSize(DEFAULTS.jetstreamMaxMemory) as number),
      maxFile: raw.jetstream?.max_file ?? (parseSize(DEFAULTS.jetstreamMaxFile) as number),
      sync: raw.jetstream?.sync ?? DEFAULTS.jetstreamSync,
    },
    log: { level: (raw.log?.level ?? DEFAULTS.logLevel) as LogLevel, format: raw.log?.format ?? DEFAULTS.logFormat },
    admin: resolveAdmin(raw.admin, at, env, dataDir),
  };
  if (raw.tls) {
    config.tls = {
      caCert: at(raw.tls.ca_cert),
      ...(raw.tls.ca_key ? { caKey: at(raw.tls.ca_key) } : {}),
      ...(raw.tls.cert ? { cert: at(raw.tls.cert) } : {}),
      ...(raw.tls.key ? { key: at(raw.tls.key) } : {}),
      sans: raw.tls.sans ?? [],
      clientTls: raw.tls.client_tls ?? true,
      lifetimeDays: raw.tls.lifetime_days ?? DEFAULTS.certLifetimeDays,
    };
  }
  if (raw.cluster) config.cluster = resolveCluster(raw.cluster, at, env);
  if (raw.leafnodes) config.leafnodes = resolveLeafnodes(raw.leafnodes, at, env);
  const issues = crossChecks(config, raw);
  if (issues.length) throw new ConfigError(`invalid config:\n${formatIssues(file, locate, issues)}`);
  return config;
}

/** loadConfig reads and validates a config file; relative paths resolve against its folder. */
export function loadConfig(path: string, env: Record<string, string | undefined> = process.env): UnibusConfig {
  const file = resolve(path);
  return parseConfigText(readSource(file), file, env);
}

function knownKeys(path: readonly PropertyKey[]): string {
  let shape: unknown = configSchema.shape;
  for (const key of path) {
    if (typeof key === "number") continue; // an entry of an array of tables: its element's keys follow
    const field = (shape as Record<string, { unwrap?: () => unknown; shape?: unknown }>)[String(key)];
    let inner = (field?.unwrap?.() ?? field) as { shape?: unknown; element?: { unwrap?: () => unknown } } | undefined;
    if (inner?.element) inner = (inner.element.unwrap?.() ?? inner.element) as typeof inner;
    shape = inner?.shape;
  }
  return Object.keys((shape ?? {}) as object).join(", ");
}

function crossChecks(config: UnibusConfig, raw: NonNullable<ReturnType<typeof configSchema.parse>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isLoopback(config.monitor.listen.host)) {
    issues.push({ path: ["monitor", "listen"], message: `expected a loopback address (127.0.0.1 or [::1]): nats monitoring has no authentication, the admin page serves it instead; got "${config.monitor.listen.text}"` });
  }
  const listeners: { path: string[]; hp: HostPort }[] = [
    { path: ["client", "listen"], hp: config.client.listen },
    { path: ["monitor", "listen"], hp: config.monitor.listen },
    ...(config.leafnodes?.listen ? [{ path: ["leafnodes", "listen"], hp: config.leafnodes.listen }] : []),
    ...(config.mqtt ? [{ path: ["mqtt", "listen"], hp: config.mqtt.listen }] : []),
    ...(config.websocket ? [{ path: ["websocket", "listen"], hp: config.websocket.listen }] : []),
    ...(config.cluster ? [{ path: ["cluster", "listen"], hp: config.cluster.listen }] : []),
    ...(config.admin.enabled ? [{ path: ["admin", "listen"], hp: config.admin.listen }] : []),
  ];
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = listeners[j]!;
      const b = listeners[i]!;
      const overlap = a.hp.host === b.hp.host || isWildcard(a.hp.host) || isWildcard(b.hp.host);
      if (a.hp.port === b.hp.port && overlap) {
        issues.push({ path: b.path, message: `port ${b.hp.port} is already used by ${a.path.join(".")} ("${a.hp.text}"); expected a free port` });
      }
    }
  }
  if (config.tls) {
    const t = raw.tls!;
    const files: [string, string | undefined][] = [["ca_cert", config.tls.caCert], ["ca_key", config.tls.caKey], ["cert", config.tls.cert], ["key", config.tls.key]];
    for (const [key, file] of files) {
      if (file) {
        try {
          if (!statSync(file).isFile()) issues.push({ path: ["tls", key], message: `expected a PEM file, ${file} is not a regular file` });
        } catch {
          issues.push({ path: ["tls", key], message: `file not found: ${file}` });
        }
      }
    }
    if (!t.ca_key && !(t.cert && t.key)) {
      issues.push({ path: ["tls"], message: "expected either ca_key (the node issues its own certificate) or both cert and key" });
    }
    if (Boolean(t.cert) !== Boolean(t.key)) issues.push({ path: ["tls", t.cert ? "cert" : "key"], message: "expected cert and key together" });
  }
  issues.push(...checkAdmin(config));
  issues.push(...checkCluster(config));
  issues.push(...checkClientAuth(config), ...checkLeafnodes(config), ...checkEdge(config), ...checkSystemAccount(config), ...checkLimits(config), ...checkDiscovery(config));
  return issues;
}
