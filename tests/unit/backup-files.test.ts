/** Backup files in [backup] dir: scheduled and manual ones are told apart by name. */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupFileName, manualBackups, scheduledBackups } from "../../lib/backup/files.ts";
import { tempDir } from "../_helpers.ts";

test("manual backups are listed apart from scheduled ones, oldest first", () => {
  using tmp = tempDir("backup-files-");
  const dir = tmp.path;
  const t = Date.parse("2026-12-01T12:00:00Z");
  for (const name of [backupFileName("pi-1", t), backupFileName("pi-1", t + 1000, true), backupFileName("pi-1", t - 1000, true), backupFileName("pi-2", t, true)]) writeFileSync(join(dir, name), "x");
  expect(scheduledBackups(dir, "pi-1").map((b) => b.name)).toEqual([backupFileName("pi-1", t)]);
  expect(manualBackups(dir, "pi-1").map((b) => b.name)).toEqual([backupFileName("pi-1", t - 1000, true), backupFileName("pi-1", t + 1000, true)]);
  expect(manualBackups(join(dir, "missing"), "pi-1")).toEqual([]);
});
