/**
 * backup.ts is the rule for scheduled backups ([backup]; lib/backup/): the
 * last one failed (why, and how old the newest good one is), or none
 * succeeded for two schedule periods (the node was down, or the schedule
 * never ran). A home lab learns this from status, not after the SD card died.
 */
import { unibusCommand } from "../../config/installed.ts";
import { formatSeconds } from "../../format.ts";
import { lastAttemptFailed } from "../../backup/state.ts";
import { defineRule } from "../rule.ts";

/** OVERDUE_PERIODS: no success for this many schedule periods is a problem of its own. */
const OVERDUE_PERIODS = 2;

function age(now: number, at: number): string {
  return formatSeconds(Math.max(0, (now - at) / 1000));
}

/** fixFor names the fix for a failure by what the error says. */
function fixFor(error: string, dir: string, file: string): string {
  const now = `; then take one now with: ${unibusCommand(file, "backup")}`;
  if (/disk is full|ENOSPC|no space|not enough room/i.test(error)) return `free space on the disk of ${dir} (df -h ${dir}), lower [backup] keep, or point [backup] dir in ${file} at a bigger disk${now}`;
  if (/permission denied|EACCES|EROFS|read-only/i.test(error)) return `make ${dir} a folder the service user owns (sudo install -d -o unibus -g unibus -m 0700 ${dir}; is its disk mounted, and writable?) and restart unibus: systemd lets the service write only folders that exist when it starts${now}`;
  if (/cannot reach|not reachable|connection refused/i.test(error)) return `start the node (sudo systemctl start unibus); unibus status says what stops it${now}`;
  if (/meta leader|no responders|timeout/i.test(error)) return `restore JetStream's majority first (the other problems in this status say how)${now}`;
  return `see journalctl -u unibus -g backup for the details${now}`;
}

/** backupRule reports backup_failing and backup_overdue from the node's backup record. */
export const backupRule = defineRule({
  name: "backup",
  kinds: ["backup_failing", "backup_overdue"],
  check({ facts: f }) {
    const b = f.config.backup;
    const s = f.backup;
    if (!b.enabled || !s) return [];
    // A manual backup (`unibus backup`) is a backup too, though the schedule's record does not know it.
    const manual = f.manualBackup && (s.lastSuccessAt === undefined || f.manualBackup.mtimeMs > s.lastSuccessAt) ? f.manualBackup : undefined;
    const newest = manual ? `the newest backup is ${age(f.now, manual.mtimeMs)} old (${manual.file}, taken by hand)`
      : s.lastSuccessAt !== undefined ? `the newest backup is ${age(f.now, s.lastSuccessAt)} old (${s.lastFile})` : "there is no backup yet";
    if (lastAttemptFailed(s)) {
      return [{
        kind: "backup_failing", severity: "degraded", node: f.node,
        cause: `the last scheduled backup, ${age(f.now, s.lastAttemptAt!)} ago, failed: ${s.lastError}; ${newest}`,
        fix: fixFor(s.lastError ?? "", b.dir, f.config.file),
      }];
    }
    const from = s.lastSuccessAt ?? s.since;
    if (f.now - from > OVERDUE_PERIODS * b.everyMs) {
      return [{
        kind: "backup_overdue", severity: "degraded", node: f.node,
        cause: `no scheduled backup for ${age(f.now, from)} (every ${formatSeconds(b.everyMs / 1000)} is configured); ${newest}`,
        fix: `keep the node running (backups are taken by the running node), or take one now with: ${unibusCommand(f.config.file, "backup")}`,
      }];
    }
    return [];
  },
});
