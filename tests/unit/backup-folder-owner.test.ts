/**
 * `sudo unibus backup` (README: "Take one now") makes the default backup
 * folder inside the data dir. Made by root as root's, the service user's
 * scheduled backups could no longer write there (EACCES, backup_failing on
 * every run after it). A folder root makes takes the owner of the folder it
 * is made in: the data dir's service user, or root's own under root's folders.
 */
import { afterAll, expect, test } from "bun:test";
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { takeBackup } from "../../lib/backup/take.ts";
import { freePort, prerequisite } from "../_helpers.ts";

const root = mkdtempSync(join(tmpdir(), "unibus-backup-owner-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SERVICE = 4242; // stands for the unibus service user: any uid other than root's

test("a manual backup by root leaves the backup folder in the data dir to the data dir's owner", async () => {
  if (!prerequisite(process.getuid?.() === 0, "root (the test gives a folder to another user)")) return;
  const dataDir = join(root, "var-lib-unibus");
  const port = await freePort();
  const config = parseConfigText(`[node]\nname = "pi-1"\ndata_dir = "${dataDir}"\n[client]\nlisten = "127.0.0.1:${port}"\n`, join(root, "unibus.toml"), {});
  mkdirSync(dataDir, { mode: 0o700 });
  chownSync(dataDir, SERVICE, SERVICE);
  // No node runs on that port: the backup itself fails, after it made its folder.
  await expect(takeBackup(config, { out: join(dataDir, "backups", "nested", "b.tar"), unibusVersion: "test" })).rejects.toThrow();
  for (const d of [join(dataDir, "backups"), join(dataDir, "backups", "nested")]) {
    const st = statSync(d);
    expect({ d, uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ d, uid: SERVICE, gid: SERVICE, mode: 0o700 });
  }
});

test("a folder root makes under root's own folder stays root's", async () => {
  if (!prerequisite(process.getuid?.() === 0, "root")) return;
  const { mkdirLikeParent } = await import("../../lib/fsutil.ts");
  const dir = join(root, "root-owned", "backups");
  mkdirLikeParent(dir, 0o700);
  expect(statSync(dir).uid).toBe(0);
  expect(statSync(join(root, "root-owned")).uid).toBe(0);
});
