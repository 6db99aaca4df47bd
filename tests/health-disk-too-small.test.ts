/**
 * The data dir sits on a 48 MiB disk (a tmpfs here, a small SD card at home)
 * and node.toml asks for the 8 GiB max_file many examples show. `config check`
 * warns, naming the key, the free space it measured and a value that fits.
 * Without max_file the default is disk-aware: three quarters of what the disk
 * can hold. (The running node's log, status, API, page, /metrics and STATUS=
 * on such a disk: tests/health-surfaces-agree.test.ts; the rule's words:
 * tests/unit/rules/disk.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, nodeToml, prerequisite, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-health-disk-");
const small = join(dir.path, "sd-card");
mkdirSync(small, { recursive: true });
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", small]).exitCode === 0;
const ready = prerequisite(mounted, "mount -t tmpfs (root) for a 48 MiB data disk");
let config = "";
const files = { dataDir: join(small, "data") };

beforeAll(async () => {
  if (!ready) return;
  config = writeConfig(dir.path, nodeToml({ name: "sd-box", client: await freePort(), monitor: await freePort(), extra: `[jetstream]\nmax_file = "8GiB"\n` }).replace('data_dir = "data"', `data_dir = "${files.dataDir}"`));
});

afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", small]);
  dir[Symbol.dispose]();
});

describe.if(ready)("max_file larger than the disk", () => {
  test("config check warns with the key, the free space and a value that fits", async () => {
    const res = await runUnibus(["config", "check", "--config", config]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/warning: .*: jetstream\.max_file: jetstream\.max_file is 8\.0 GiB but the disk of .*sd-card\/data has only 4\d(\.\d)? MiB free/);
    const suggested = Number(/set jetstream\.max_file = "(\d+)MiB" or less in /.exec(res.stderr)?.[1]);
    expect(suggested).toBeGreaterThan(10);
    expect(suggested).toBeLessThanOrEqual(36); // three quarters of 48 MiB at most
  });

  test("without max_file the default is three quarters of the small disk, and nothing warns", async () => {
    const plain = writeConfig(dir.path, nodeToml({ name: "sd-box", client: await freePort(), monitor: await freePort() }).replace('data_dir = "data"', `data_dir = "${files.dataDir}"`), "plain.toml");
    const res = await runUnibus(["config", "check", "--config", plain]);
    expect(res.code).toBe(0);
    expect(res.stderr).not.toContain("max_file");
    const m = /max_file = (\d+)/.exec(res.stdout);
    const value = Number(m?.[1]);
    expect(value).toBeGreaterThan(20 * 1024 * 1024);
    expect(value).toBeLessThanOrEqual(36 * 1024 * 1024);
  });
});
