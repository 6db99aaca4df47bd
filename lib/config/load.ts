/**
 * load.ts turns a node.toml file into the effective UnibusConfig: parse
 * (smol-toml), then validate and resolve every table with its section's
 * schema (sections.ts; defaults, relative paths and secrets included), then
 * run every section's checks and one port-clash check over every section's
 * listeners. Any problem becomes one ConfigError listing every issue as
 * file:line:col: key: expected … Loading never writes a file.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { z } from "zod";
import { ConfigError, PermissionError } from "../errors.ts";
import { currentHost, type HostInfo } from "../host.ts";
import { locateKeys, type KeyLocator } from "./_locate.ts";
import { SECTIONS, type UnibusConfig } from "./sections.ts";
import { nodeSection } from "./section-node.ts";
import { tableName, type ConfigIssue, type Env, type Listener, type ResolveContext } from "./section.ts";
import { isWildcard } from "./units.ts";

export type { UnibusConfig } from "./sections.ts";
export type { ConfigIssue } from "./section.ts";

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
    if (code === "EACCES") throw new PermissionError(`cannot read config file ${file}: permission denied; run it with sudo (an installed config is root:unibus 0640)`);
    const why = code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${why}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(`cannot read config file ${file}: it is not UTF-8 text, expected a TOML file`);
  }
}

/** BARE_WORD is a value TOML refuses but a person meant as a string: a word, host name, path or address without quotes. */
const BARE_WORD = /^[A-Za-z0-9_][\w.:/-]*$/;

/**
 * tomlErrorDetail words a TOML syntax error for a person: the parser's reason,
 * the key (with its table) of the line it stopped at, and for a value typed
 * without quotes (`name = homelab`, the commonest slip) the line as it should be.
 */
export function tomlErrorDetail(text: string, line: number, reason: string): string {
  const lines = text.split("\n");
  const at = lines[line - 1]?.trim() ?? "";
  const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*(#.*)?$/.exec(at);
  if (!kv) return `invalid TOML: ${reason}`;
  let table = "";
  for (let i = line - 2; i >= 0; i--) {
    const header = /^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(lines[i]!);
    if (header) { table = `${header[1]}.`; break; }
  }
  const [, key, value] = kv;
  const bare = BARE_WORD.test(value!) && !["true", "false", "inf", "nan"].includes(value!);
  return `${table}${key}: invalid TOML: ${reason}${bare ? `; a string needs double quotes: ${key} = "${value}"` : ""}`;
}

/** parseConfigText validates TOML text as if it came from `file`; tests and `config check` use it. */
export function parseConfigText(text: string, file: string, env: Env = process.env, host: HostInfo = currentHost()): UnibusConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`${file}:${err.line}:${err.column}: ${tomlErrorDetail(text, err.line, first)}`);
    }
    throw err;
  }
  const locate = locateKeys(text);
  const dir = dirname(file);
  const base = { file, at: (p: string) => resolve(dir, p), env, host, hasTls: doc.tls !== undefined };
  // [node] first: its data dir is where other tables keep their defaults.
  const node = nodeSection.schema({ ...base, dataDir: "" }).safeParse(doc[tableName(nodeSection)]);
  const ctx: ResolveContext = { ...base, dataDir: node.success ? node.data.dataDir : "" };
  const schema = configSchema(ctx);
  const result = schema.safeParse(doc);
  if (!result.success) {
    const issues: ConfigIssue[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) issues.push({ path: [...issue.path, key], message: `unknown key; expected one of ${knownKeys(schema, issue.path)}` });
      } else {
        issues.push({ path: issue.path, message: issue.message.replace(/^Invalid input: /, "") });
      }
    }
    throw new ConfigError(`invalid config:\n${formatIssues(file, locate, issues)}`);
  }
  const tables = result.data as Record<string, unknown>;
  const config = { file, ...Object.fromEntries(SECTIONS.map((s) => [s.key, tables[tableName(s)]])) } as UnibusConfig;
  const issues = [...portClashes(config), ...SECTIONS.flatMap((s) => s.checks(config))];
  if (issues.length) throw new ConfigError(`invalid config:\n${formatIssues(file, locate, issues)}`);
  return config;
}

/** loadConfig reads and validates a config file; relative paths resolve against its folder. */
export function loadConfig(path: string, env: Env = process.env): UnibusConfig {
  const file = resolve(path);
  return parseConfigText(readSource(file), file, env);
}

/**
 * dataDirOf finds a config's data dir even when the file is invalid, so
 * `unibus status` can still reach the running node's records: [node] data_dir
 * when the TOML parses and that key is valid, else the default for the file's
 * place (/var/lib/unibus for /etc/unibus/unibus.toml). Undefined when the file
 * cannot be read at all.
 */
export function dataDirOf(path: string, env: Env = process.env): string | undefined {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let table: unknown;
  try {
    table = (parse(text) as Record<string, unknown>)[tableName(nodeSection)];
  } catch { /* unparsable: the default below */ }
  const dir = dirname(file);
  const dataDir = (table as { data_dir?: unknown } | undefined)?.data_dir;
  if (typeof dataDir === "string" && dataDir) return resolve(dir, dataDir);
  // No usable data_dir: the [node] schema's own default for this file's place.
  const ctx = { file, at: (p: string) => resolve(dir, p), env, host: currentHost(), hasTls: false, dataDir: "" };
  return (nodeSection.schema(ctx).parse(undefined) as { dataDir: string }).dataDir;
}

/** configSchema is the whole file: one strict table per section, unknown tables refused. */
function configSchema(ctx: ResolveContext) {
  return z.strictObject(Object.fromEntries(SECTIONS.map((s) => [tableName(s), s.schema(ctx)])) as Record<string, z.ZodType>);
}

/** inner reaches through optional, default, pipe and array wrappers to the table or value inside. */
function inner(schema: unknown): unknown {
  for (;;) {
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (!def) return schema;
    if (["optional", "default", "prefault", "nullable"].includes(String(def.type))) schema = def.innerType;
    else if (def.type === "pipe") schema = def.in;
    else if (def.type === "array") schema = def.element;
    else return schema;
  }
}

/** knownKeys lists the keys a table at `path` accepts, for the unknown-key message. */
function knownKeys(schema: unknown, path: readonly PropertyKey[]): string {
  let table = inner(schema) as { shape?: Record<string, unknown> } | undefined;
  for (const key of path) {
    if (typeof key === "number") continue; // an entry of an array of tables: its element's keys follow
    table = inner(table?.shape?.[String(key)]) as typeof table;
  }
  return Object.keys(table?.shape ?? {}).join(", ");
}

/** portClashes finds two listeners of any sections on one port of one address (or a wildcard). */
function portClashes(config: UnibusConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const listeners: Listener[] = SECTIONS.flatMap((s): Listener[] => s.listeners(config));
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = listeners[j]!;
      const b = listeners[i]!;
      const overlap = a.listen.host === b.listen.host || isWildcard(a.listen.host) || isWildcard(b.listen.host);
      if (a.listen.port === b.listen.port && overlap) {
        const origin = [b, a].filter((l) => l.origin).map((l) => `; ${l.path.join(".")} ${l.origin}`).join("");
        issues.push({ path: b.path, message: `port ${b.listen.port} is already used by ${a.path.join(".")} ("${a.listen.text}"); expected a free port${origin}` });
      }
    }
  }
  return issues;
}
