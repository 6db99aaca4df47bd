/**
 * state.ts is the scheduled backups' record in the data dir
 * (backup-state.json): when the schedule started, the last attempt, the last
 * success and its file, the last error. The node writes it; `unibus status`
 * reads it to say how old the newest backup is and why the last one failed.
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";

/** BackupState is the record (times in ms since the epoch). */
export interface BackupState {
  /** When this data dir's schedule first started: a node with no backup yet is judged from here. */
  since: number;
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  /** The newest scheduled backup written, its size and how long it took. */
  lastFile?: string;
  lastBytes?: number;
  lastDurationMs?: number;
  /** Why the last attempt failed, when it did. */
  lastError?: string;
}

/** readBackupState returns the record, or undefined when there is none (or it cannot be read). */
export function readBackupState(dataDir: string): BackupState | undefined {
  try {
    const s = JSON.parse(readFileSync(dataDirLayout(dataDir).backupState, "utf8")) as BackupState;
    return typeof s.since === "number" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** writeBackupState replaces the record (0600, atomically). */
export function writeBackupState(dataDir: string, state: BackupState): void {
  writeFileAtomic(dataDirLayout(dataDir).backupState, JSON.stringify(state, null, 2) + "\n", 0o600);
}

/** lastAttemptFailed tells whether the newest attempt is a failure (none succeeded since). */
export function lastAttemptFailed(s: BackupState): boolean {
  return s.lastAttemptAt !== undefined && s.lastError !== undefined && (s.lastSuccessAt === undefined || s.lastAttemptAt > s.lastSuccessAt);
}
