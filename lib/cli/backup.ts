/**
 * backup.ts is `unibus backup` (one backup file of the running cluster, from
 * any member) and `unibus backup inspect FILE` (its manifest, checked).
 * Into [backup] dir the running node takes it (control channel, as the
 * service user); with --out or --passphrase-file, or with the node's control
 * socket absent, this process takes it through the node's client port.
 */
import { join, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { counted, formatBytes } from "../format.ts";
import { readSecretFile } from "../auth/secret-source.ts";
import { backupFileName } from "../backup/files.ts";
import { describeManifest, readManifest, verifyBackup } from "../backup/manifest.ts";
import { takeBackup, type BackupProgress } from "../backup/take.ts";
import { requestBackup } from "../control/backup.ts";
import { MIN_BACKUP_PASSPHRASE } from "../config/section-backup.ts";
import type { UnibusConfig } from "../config/sections.ts";
import { embeddedNatsMeta } from "../runtime-embedded.ts";
import { configPath, parseCommand } from "./_flags.ts";

/** progressLine rewrites one line on a terminal; elsewhere it prints nothing (the summary follows). */
export function progressLine(): { update(text: string): void; done(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let shown = false;
  return {
    update(text: string) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[K");
    },
  };
}

/** passphraseFrom reads --passphrase-file, else [backup] passphrase_file, else none. */
export function passphraseFrom(config: UnibusConfig, file: string | undefined): string | undefined {
  if (file) {
    const secret = readSecretFile(resolve(file), "--passphrase-file");
    if (secret.error) throw new UsageError(`--passphrase-file: ${secret.error}`);
    if ((secret.value ?? "").length < MIN_BACKUP_PASSPHRASE) throw new UsageError(`--passphrase-file ${file}: expected a passphrase of at least ${MIN_BACKUP_PASSPHRASE} characters`);
    return secret.value;
  }
  return config.backup.passphrase?.value;
}

/** run takes one backup. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("backup", args);
  const config = loadConfig(configPath(values.config));
  const progress = progressLine();
  const say = (p: BackupProgress) => progress.update(p.stream ? `backing up stream ${p.stream} (${p.index} of ${p.total}), ${formatBytes(p.bytes)} written` : `finishing, ${formatBytes(p.bytes)} written`);
  // Into [backup] dir with its passphrase: the running node takes it, as the service user, beside the scheduled ones.
  if (!values.out && !values["passphrase-file"]) {
    const asked = await requestBackup(config.node.dataDir, say).finally(() => progress.done());
    if (asked.reached) {
      const a = asked.answer;
      process.stdout.write(`wrote ${a.file} (${formatBytes(a.bytes)}, mode 0600): ${counted(a.streams, "stream")} (${counted(a.kv, "KV bucket")}, ${counted(a.objects, "object store")}), ${counted(a.files, "cluster file")}, in ${(a.durationMs / 1000).toFixed(1)} s\n`);
      for (const n of a.notes) process.stdout.write(`note: ${n}\n`);
      process.stdout.write(`see it with: unibus backup inspect ${a.file}\n`);
      return ExitCode.ok;
    }
  }
  const passphrase = passphraseFrom(config, values["passphrase-file"]);
  const out = resolve(values.out ?? join(config.backup.dir, backupFileName(config.node.name, Date.now(), true)));
  const meta = await embeddedNatsMeta();
  const result = await takeBackup(config, {
    out,
    ...(passphrase ? { passphrase } : {}),
    unibusVersion: meta.unibusVersion,
    onProgress: say,
  }).finally(() => progress.done());
  const m = result.manifest;
  process.stdout.write(`wrote ${result.file} (${formatBytes(result.bytes)}, mode 0600): ${counted(m.streams.length, "stream")} (${counted(m.streams.filter((s) => s.kind === "kv").length, "KV bucket")}, ${counted(m.streams.filter((s) => s.kind === "object").length, "object store")}), ${counted(m.files.length, "cluster file")}, in ${(m.durationMs / 1000).toFixed(1)} s\n`);
  for (const n of m.notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`see it with: unibus backup inspect ${result.file}\n`);
  return ExitCode.ok;
}

/** inspect prints a backup's manifest; --verify also checks every entry's SHA-256. */
export async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("backup inspect", args);
  if (positionals.length !== 1) throw new UsageError("expected one backup file: unibus backup inspect FILE [--verify] [--json]");
  const file = positionals[0]!;
  const { manifest } = values.verify ? verifyBackup(file) : readManifest(file);
  if (values.json) process.stdout.write(JSON.stringify(manifest, null, 2) + "\n");
  else process.stdout.write(describeManifest(file, manifest) + (values.verify ? "  verified: every entry matches its SHA-256\n" : ""));
  return ExitCode.ok;
}
