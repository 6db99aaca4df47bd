/**
 * section-backup.ts is the [backup] table: scheduled backups of the whole
 * cluster (every stream, KV bucket and object store, the members, the config
 * and the CA certificate; lib/backup/), on by default twice a day keeping
 * five, into a folder a user can point at another disk. A passphrase file
 * adds the CA key and the route secret, encrypted with it.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readSecretFile, type ResolvedSecret } from "../auth/secret-source.ts";
import { DEFAULTS } from "./defaults.ts";
import { filePath, parsed } from "./_parsed.ts";
import { noListeners, noSans, secretForms, type ConfigIssue, type ResolveContext, type Section } from "./section.ts";
import { DURATION_HINT, parseDuration } from "./units.ts";
import type { BackupConfig, UnibusConfig } from "./config-types.ts";
export type { BackupConfig } from "./config-types.ts";

/** MIN_BACKUP_EVERY_MS is the shortest schedule accepted (tests use seconds; a box should not snapshot continuously). */
const MIN_BACKUP_EVERY_MS = 10_000;
/** MIN_BACKUP_PASSPHRASE is the shortest passphrase accepted, in characters. */
export const MIN_BACKUP_PASSPHRASE = 12;

const every = parsed<number>(parseDuration);

const table = z.strictObject({
  enabled: z.boolean({ error: "expected true or false" }).default(DEFAULTS.backupEnabled),
  dir: filePath.optional(),
  every: every.default(parseDuration(DEFAULTS.backupEvery) as number),
  keep: z.number({ error: "expected a whole number of backups to keep (1 or more)" }).int("expected a whole number").min(1, "expected at least 1").default(DEFAULTS.backupKeep),
  passphrase_file: filePath.optional(),
}).prefault({});


function schema(ctx: ResolveContext) {
  return table.transform((raw): BackupConfig => ({
    enabled: raw.enabled,
    dir: raw.dir ? ctx.at(raw.dir) : join(ctx.dataDir, DEFAULTS.backupDir),
    dirIsDefault: !raw.dir,
    everyMs: raw.every,
    keep: raw.keep,
    ...(raw.passphrase_file ? { passphrase: readSecretFile(ctx.at(raw.passphrase_file), "passphrase_file") } : {}),
  }));
}

/**
 * checkBackup validates what the schema cannot: the schedule's floor, the
 * folder (not a file) and the passphrase file (readable only by its owner,
 * long enough).
 */
function checkBackup(config: UnibusConfig): ConfigIssue[] {
  const b = config.backup;
  const issues: ConfigIssue[] = [];
  if (b.everyMs < MIN_BACKUP_EVERY_MS) issues.push({ path: ["backup", "every"], message: `expected ${DURATION_HINT} of at least 10s` });
  // A missing disk is a warning at start and in config check (lib/diagnosis/preflight.ts): it must not keep the node down.
  if (existsSync(b.dir) && !statSync(b.dir).isDirectory()) issues.push({ path: ["backup", "dir"], message: `expected a folder for the backups, ${b.dir} is a file` });
  if (b.passphrase?.error) issues.push({ path: ["backup", "passphrase_file"], message: b.passphrase.error });
  else if (b.passphrase?.value !== undefined && b.passphrase.value.length < MIN_BACKUP_PASSPHRASE) {
    issues.push({ path: ["backup", "passphrase_file"], message: `expected a passphrase of at least ${MIN_BACKUP_PASSPHRASE} characters in ${b.passphrase.source.replace(/^file /, "")}` });
  }
  return issues;
}

/** backupSection is the [backup] table; nats-server renders nothing of it. */
export const backupSection = {
  key: "backup",
  schema,
  checks: checkBackup,
  listeners: noListeners,
  secrets: ({ backup }) => secretForms(backup.passphrase?.value),
  sans: noSans,
  render: () => ({}),
  effective: ({ backup }) => ({
    enabled: backup.enabled,
    dir: backup.dir,
    every: `${Math.round(backup.everyMs / 1000)}s`,
    keep: backup.keep,
    ...(backup.passphrase ? { passphrase_file: backup.passphrase.source.replace(/^file /, "") } : {}),
  }),
  restartOnly: () => undefined,
} satisfies Section<"backup", BackupConfig>;
