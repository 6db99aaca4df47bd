/**
 * The data dir sits on a 48 MiB disk (a tmpfs here, a small SD card at home)
 * and node.toml asks for the 8 GiB max_file many examples show. unibus warns
 * in `config check`, in its log at start, in status (exit 3) and on the page,
 * each naming the key, the file and a value that fits. Without max_file the
 * default is disk-aware: three quarters of what the disk can hold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { RunningUnibus, freePort, nodeToml, prerequisite, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { ARTIFACTS, haveChromium, launchChromium } from "./admin-fixtures.ts";
import { STATUS_CODES, api, gauge, metrics, pageHealth, status } from "./health-fixtures.ts";

const dir = tempDir("unibus-health-disk-");
const small = join(dir.path, "sd-card");
mkdirSync(small, { recursive: true });
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", small]).exitCode === 0;
const ready = prerequisite(mounted, "mount -t tmpfs (root) for a 48 MiB data disk");
const chromium = haveChromium();
let browser: Browser | undefined;
let node: RunningUnibus | undefined;
let config = "";
const files = { config: "", dataDir: join(small, "data") };

beforeAll(async () => {
  if (!ready) return;
  const admin = await freePort();
  config = writeConfig(dir.path, nodeToml({ name: "sd-box", client: await freePort(), monitor: await freePort(), extra: `[admin]\nlisten = "127.0.0.1:${admin}"\n[jetstream]\nmax_file = "8GiB"\n` }).replace('data_dir = "data"', `data_dir = "${files.dataDir}"`));
  files.config = config;
  if (chromium) browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await node?.stop();
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

  test("the log at start, status (exit 3), the API, /metrics and the page say the same", async () => {
    node = new RunningUnibus(["--config", config], {}, dir.path);
    await node.ready();
    expect(node.log).toContain("jetstream.max_file is 8.0 GiB but the disk of");
    let s = await status(files);
    await waitFor("status to settle", async () => {
      s = await status(files);
      return s.code === STATUS_CODES.degraded;
    }, 30_000, 500);
    expect(s.text.split("\n")[0]).toMatch(/^DEGRADED: node sd-box, 1 degraded: jetstream\.max_file is 8\.0 GiB but the disk of .* has only \d+(\.\d)? MiB free/);
    expect(s.text).toMatch(/fix: set jetstream\.max_file = "[1-3]\dMiB" \(or less\) in .*node\.toml/);
    expect((await api(files, "/api/health")).problems[0].kind).toBe("disk_too_small");
    expect(gauge(await metrics(files), "unibus_problems", { kind: "disk_too_small" })).toBe(1);
    if (!browser) return;
    const h = await pageHealth(browser, files, join(ARTIFACTS, "health-disk-too-small.png"));
    expect(h.firstSection).toBe("health");
    expect(h.problems[0]?.kind).toBe("disk_too_small");
    expect(h.problems[0]?.text).toContain("streams can fill the disk to 100 %");
    await h.page.close();
    await node.stop();
  }, 120_000);

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
