/** The backup rule: the last scheduled backup failed (with a fix by its error), or none for two periods. */
import { expect, test } from "bun:test";
import { backupRule } from "../../../lib/diagnosis/rules/backup.ts";
import type { BackupState } from "../../../lib/backup/state.ts";
import { NOW, healthy, run } from "./_facts.ts";

const H = 3_600_000;
test.each([
  ["no record (the schedule never started)", undefined, undefined, undefined],
  ["a fresh schedule, no backup yet", { since: NOW - H }, undefined, undefined],
  ["a recent success", { since: NOW - 100 * H, lastAttemptAt: NOW - 2 * H, lastSuccessAt: NOW - 2 * H, lastFile: "/b/x.tar" }, undefined, undefined],
  ["a full disk", { since: NOW - 100 * H, lastAttemptAt: NOW - H, lastError: "cannot write /b/y.tar: the disk is full (df -h /b); nothing was written", lastSuccessAt: NOW - 13 * H, lastFile: "/b/x.tar" }, "backup_failing", ["1h 0m ago, failed: cannot write /b/y.tar: the disk is full", "the newest backup is 13h 0m old (/b/x.tar)", "df -h", "sudo unibus backup"]],
  ["a failure before any success", { since: NOW - 3 * H, lastAttemptAt: NOW - H, lastError: "cannot reach node pi-1 at 127.0.0.1:4222: connection refused" }, "backup_failing", ["there is no backup yet", "sudo systemctl start unibus"]],
  ["a success long ago", { since: NOW - 100 * H, lastAttemptAt: NOW - 30 * H, lastSuccessAt: NOW - 30 * H, lastFile: "/b/x.tar" }, "backup_overdue", ["no scheduled backup for 1d 6h 0m (every 12h 0m is configured)", "/b/x.tar", "sudo unibus backup"]],
  ["none since the schedule started a day ago", { since: NOW - 25 * H }, "backup_overdue", ["there is no backup yet"]],
] as const)("%s", (_, state, kind, words) => {
  const out = run(backupRule, healthy(state ? { backup: state as BackupState } : {}));
  if (!kind) return expect(out).toEqual([]);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatchObject({ kind, severity: "degraded", node: "pi-1" });
  for (const w of words!) expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(w);
});

test("backups turned off are never a problem", () => {
  const f = healthy({ backup: { since: NOW - 100 * H } });
  f.config = { ...f.config, backup: { ...f.config.backup, enabled: false } };
  expect(run(backupRule, f)).toEqual([]);
});

test("a manual backup counts: the overdue schedule names its age, not 'no backup yet'", () => {
  const out = run(backupRule, healthy({ backup: { since: NOW - 25 * H }, manualBackup: { file: "/b/unibus-backup-pi-1-20261201T100000Z-manual.tar", mtimeMs: NOW - 2 * H } }));
  expect(out).toHaveLength(1);
  expect(out[0]!.kind).toBe("backup_overdue");
  expect(out[0]!.cause).not.toContain("no backup yet");
  expect(out[0]!.cause).toContain("the newest backup is 2h 0m old (/b/unibus-backup-pi-1-20261201T100000Z-manual.tar, taken by hand)");
});

test("a scheduled backup newer than the manual one is named instead", () => {
  const out = run(backupRule, healthy({ backup: { since: NOW - 100 * H, lastAttemptAt: NOW - H, lastError: "timeout", lastSuccessAt: NOW - 3 * H, lastFile: "/b/x.tar" }, manualBackup: { file: "/b/m.tar", mtimeMs: NOW - 50 * H } }));
  expect(out[0]!.cause).toContain("the newest backup is 3h 0m old (/b/x.tar)");
});
