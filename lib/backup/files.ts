/**
 * files.ts names backup files and keeps the newest: scheduled backups are
 * `unibus-backup-<node>-<UTC time>.tar` in [backup] dir, manual ones end in
 * `-manual.tar` and are never deleted by the schedule. The UTC time in the
 * name sorts as text, so the newest is the last name.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

/** stamp renders a time as 20261207T031500Z. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** backupFileName is the name of a backup of node taken at ms. */
export function backupFileName(node: string, ms: number, manual = false): string {
  return `unibus-backup-${node}-${stamp(ms)}${manual ? "-manual" : ""}.tar`;
}

/** ScheduledBackup is one scheduled backup file found in the folder. */
export interface ScheduledBackup { file: string; name: string; bytes: number; mtimeMs: number }

/** scheduledBackups lists the node's scheduled backups in dir, oldest first; none when dir is missing. */
export function scheduledBackups(dir: string, node: string): ScheduledBackup[] {
  return backupsNamed(dir, node, "");
}

/** manualBackups lists the node's manual backups (`unibus backup`, the admin page) in dir, oldest first; none when dir is missing. */
export function manualBackups(dir: string, node: string): ScheduledBackup[] {
  return backupsNamed(dir, node, "-manual");
}

function backupsNamed(dir: string, node: string, suffix: string): ScheduledBackup[] {
  const pattern = new RegExp(`^unibus-backup-${node.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d{8}T\\d{6}Z${suffix}\\.tar$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => pattern.test(n)).sort().flatMap((name) => {
    const file = join(dir, name);
    try {
      const st = statSync(file);
      return [{ file, name, bytes: st.size, mtimeMs: st.mtimeMs }];
    } catch {
      return [];
    }
  });
}

/** pruneBackups deletes the oldest scheduled backups beyond keep and returns the files deleted. */
export function pruneBackups(dir: string, node: string, keep: number): string[] {
  const all = scheduledBackups(dir, node);
  const gone = all.slice(0, Math.max(0, all.length - keep)).map((b) => b.file);
  for (const file of gone) rmSync(file, { force: true });
  return gone;
}
