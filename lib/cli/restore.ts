/**
 * restore.ts is `unibus restore FILE`: the backup's streams (KV buckets and
 * object stores among them) back into the running cluster, all or the ones
 * named, refusing to replace existing streams unless told, rolling back on
 * failure (lib/backup/restore.ts); and `--extract DIR`, which writes the
 * cluster files a new box needs (config, members, CA certificate, and with
 * the passphrase the CA key and route secret) without touching any stream.
 */
import { existsSync, mkdirSync } from "node:fs";
import { basename, isAbsolute, join, normalize } from "node:path";
import { parse as parseToml } from "smol-toml";
import { loadConfig } from "../config/load.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { formatBytes } from "../format.ts";
import { readEntry } from "../backup/archive.ts";
import { verifyBackup } from "../backup/manifest.ts";
import { restoreBackup } from "../backup/restore.ts";
import { open as openSealed, type SealedSecret } from "../backup/secret-box.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { readSecretFile } from "../auth/secret-source.ts";
import { progressLine } from "./backup.ts";
import { configPath, parseCommand } from "./_flags.ts";

/** run restores streams, or extracts the cluster files with --extract. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("restore", args);
  if (positionals.length !== 1) throw new UsageError("expected one backup file: unibus restore FILE [--stream NAME]... [--overwrite]");
  const file = positionals[0]!;
  if (values.extract) return extract(file, values.extract, values["passphrase-file"]);
  const config = loadConfig(configPath(values.config));
  const progress = progressLine();
  const result = await restoreBackup(config, file, {
    ...(values.stream ? { only: values.stream } : {}),
    overwrite: Boolean(values.overwrite),
    onProgress: (p) => progress.update(
      p.phase === "verify" ? `checking ${file}: ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}`
        : p.phase === "rollback" ? "restore failed: rolling back"
        : `restoring stream ${p.stream} (${p.index} of ${p.total}), ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}`,
    ),
  }).finally(() => progress.done());
  for (const s of result.streams) {
    const what = s.kind === "stream" ? `stream ${s.name}` : `${s.kind === "kv" ? "KV bucket" : "object store"} ${s.bucket} (stream ${s.name})`;
    process.stdout.write(`restored ${what}: ${s.messages} message${s.messages === 1 ? "" : "s"}, ${s.replicas} replica${s.replicas === 1 ? "" : "s"}${s.replaced ? ", replacing the existing one" : ""}\n`);
    if (s.note) process.stdout.write(`  note: ${s.note}\n`);
  }
  for (const k of result.kept) process.stdout.write(`kept stream ${k.name} as it is: ${k.why}\n`);
  process.stdout.write(`restored ${result.streams.length} stream${result.streams.length === 1 ? "" : "s"} from ${file}\n`);
  return ExitCode.ok;
}

/** extract writes the backup's cluster files into dir (0600), decrypting the sealed ones with the passphrase. */
async function extract(file: string, dir: string, passphraseFile: string | undefined): Promise<number> {
  const backup = verifyBackup(file);
  let passphrase: string | undefined;
  if (passphraseFile) {
    const secret = readSecretFile(passphraseFile, "--passphrase-file");
    if (secret.error) throw new UsageError(`--passphrase-file: ${secret.error}`);
    passphrase = secret.value;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  const skipped: string[] = [];
  const configEntry = backup.manifest.files.find((f) => /^cluster\/[^/]+\.toml$/.test(f.entry));
  const placed = configEntry ? placesInConfig(readEntry(file, backup.entries.get(configEntry.entry)!)) : new Map<string, string>();
  for (const f of backup.manifest.files) {
    const data = readEntry(file, backup.entries.get(f.entry)!);
    const name = placed.get(f.entry) ?? basename(f.entry).replace(/\.sealed$/, "");
    if (f.encrypted) {
      if (!passphrase) { skipped.push(`${f.what} (encrypted: add --passphrase-file)`); continue; }
      const plain = openSealed(JSON.parse(new TextDecoder().decode(data)) as SealedSecret, passphrase, `${f.what} in ${file}`);
      writeFileAtomic(join(dir, name), plain, 0o600);
    } else {
      writeFileAtomic(join(dir, name), data, 0o600);
    }
    written.push(`${join(dir, name)}  (${f.what}, from ${f.source})`);
  }
  for (const w of written) process.stdout.write(`wrote ${w}\n`);
  for (const s of skipped) process.stdout.write(`skipped ${s}\n`);
  if (configEntry) {
    const config = join(dir, basename(configEntry.entry));
    const missing = filesNotExtracted(readEntry(file, backup.entries.get(configEntry.entry)!), dir);
    if (missing.length === 0) process.stdout.write(`next, on a box with the address that config names (or edit its advertise, peers and sans): sudo ./install.sh --config ${config}\n`);
    else {
      process.stdout.write(`this folder does not install as it is: ${config} reads ${missing.join(", ")}, which ${passphrase ? "this backup does not hold" : "were not extracted"}\n`);
      process.stdout.write(`  a first box needs the CA key and the route secret: extract a backup of a CA holder taken with a passphrase ([backup] passphrase_file or unibus backup --passphrase-file), with --passphrase-file;\n`);
      process.stdout.write(`  or make a new cluster (unibus init cluster), then put the data back with: sudo unibus restore ${file}\n`);
    }
  }
  return ExitCode.ok;
}

/** INSTALL_READS are the config keys naming files a node reads at its first start; a backup never holds the node's own key and certificate. */
const INSTALL_READS: [table: string, key: string][] = [["tls", "ca_cert"], ["tls", "ca_key"], ["tls", "cert"], ["tls", "key"], ["cluster", "secret_file"]];

/**
 * filesNotExtracted lists, as `table.key (path)`, the files the extracted
 * config reads that are not there: a member's backup has no CA key, no route
 * secret without the passphrase, and never the member's own certificate, so
 * its config cannot make a first box (install.sh would refuse it).
 */
function filesNotExtracted(configText: Uint8Array, dir: string): string[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(new TextDecoder().decode(configText)) as Record<string, unknown>;
  } catch {
    return [];
  }
  const missing: string[] = [];
  for (const [table, key] of INSTALL_READS) {
    const value = (doc[table] as Record<string, unknown> | undefined)?.[key];
    if (typeof value !== "string") continue;
    const path = isAbsolute(value) ? value : join(dir, value);
    if (!existsSync(path)) missing.push(`${table}.${key} (${value})`);
  }
  return missing;
}

/** ENTRY_KEYS maps a backup's CA and secret entries to the config key that names where the node reads them. */
const ENTRY_KEYS: [entry: string, table: string, key: string][] = [
  ["cluster/ca.pem", "tls", "ca_cert"],
  ["secrets/ca-key.pem.sealed", "tls", "ca_key"],
  ["secrets/cluster.secret.sealed", "cluster", "secret_file"],
];

/**
 * placesInConfig returns, per backup entry, the path (relative to the
 * extract folder) the extracted config reads it from: `init cluster` and
 * install.sh write `certs/ca.pem`, `certs/ca-key.pem`, `cluster.secret`
 * relative to the config, so the extracted folder installs as it is. An
 * absolute path or one leaving the folder keeps the entry's own name.
 */
function placesInConfig(configText: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(new TextDecoder().decode(configText)) as Record<string, unknown>;
  } catch {
    return out;
  }
  for (const [entry, table, key] of ENTRY_KEYS) {
    const value = (doc[table] as Record<string, unknown> | undefined)?.[key];
    if (typeof value !== "string" || isAbsolute(value)) continue;
    const rel = normalize(value);
    if (rel.startsWith("..")) continue;
    out.set(entry, rel);
  }
  return out;
}
