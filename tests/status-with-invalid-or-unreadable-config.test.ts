/**
 * A typo in the config must not hide the running node's health: `unibus
 * status` prints the config error (file:line:key) first, then the verdict of
 * the running node judged with the config it last applied (the node keeps a
 * 0600 copy in its data dir); the exit code stays 2, "invalid config". A user
 * who may not read the config gets 77 (EX_NOPERM), not 2.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, RunningUnibus, freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-status-invalid-");
let node: RunningUnibus | undefined;
let file = "";

beforeAll(async () => {
  const client = await freePort();
  const monitor = await freePort();
  // data_dir = "data" is relative: the applied copy must resolve it against the file's folder.
  file = writeConfig(dir.path, nodeToml({ name: "typo-node", client, monitor }));
  // A relative --config, as a user in that folder types it: the records must still name the file.
  node = new RunningUnibus(["--config", "node.toml"], {}, dir.path);
  await node.ready();
}, 120_000);

afterAll(async () => {
  await node?.stop();
  dir[Symbol.dispose]();
});

describe("unibus status with an invalid config", () => {
  test("the node keeps a 0600 copy of the config it applied", () => {
    const copy = join(dir.path, "data", "applied-config.toml");
    expect(readFileSync(copy, "utf8")).toBe(readFileSync(file, "utf8"));
    expect((statSync(copy).mode & 0o777).toString(8)).toBe("600");
  });

  test("prints the error with file:line:key first, then the running node's health; exit 2", async () => {
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace('name = "typo-node"\n', 'name = "typo-node"\nmax_paylod = 1048576\n'));
    try {
      // The reload is refused (the file is invalid) and the node runs on.
      const reload = await runUnibus(["reload", "--config", file], { timeoutMs: 60_000 });
      expect(reload.code).not.toBe(0);
      const r = await runUnibus(["status", "--config", file], { timeoutMs: 60_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: invalid config:\\n${file.replaceAll("/", "\\/")}:3:\\d+: node\\.max_paylod: unknown key`));
      expect(r.stdout).toContain("the running node, judged with the config it last applied");
      // The node runs other settings than the file shows: status says so.
      expect(r.stdout).toMatch(/^DEGRADED: node typo-node/m);
      expect(r.stdout).toContain(`${file} has changed since the running node loaded it`);
      expect(r.stdout).toContain("nats-server   ready");
      const json = await runUnibus(["status", "--config", file, "--json"], { timeoutMs: 60_000 });
      expect(json.code).toBe(2);
      const parsed = JSON.parse(json.stdout) as { node: string; reachable: boolean; configError: string };
      expect({ node: parsed.node, reachable: parsed.reachable }).toEqual({ node: "typo-node", reachable: true });
      expect(parsed.configError).toContain("max_paylod");
    } finally {
      writeFileSync(file, good);
    }
  }, 180_000);

  test("a file invalid with no running node's copy to fall back on is still only the error", async () => {
    using other = tempDir("unibus-status-invalid-none-");
    const bad = writeConfig(other.path, "[node]\nname = \"x\"\nmax_paylod = 1\n");
    const r = await runUnibus(["status", "--config", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3:1: node.max_paylod: unknown key`);
    expect(r.stdout).toBe("");
  });
});

describe("unibus status by a user who may not read the config", () => {
  test("exits 77 (permission denied: run it with sudo), not 2 (invalid config)", async () => {
    if (process.getuid?.() !== 0) throw new Error("missing prerequisite: this test runs as root to drop to nobody");
    using locked = tempDir("unibus-status-noperm-");
    chmodSync(locked.path, 0o755);
    const inner = join(locked.path, "etc");
    mkdirSync(inner, { mode: 0o750 });
    chownSync(inner, 0, 0);
    const conf = writeConfig(inner, "[node]\nname = \"x\"\n");
    chmodSync(conf, 0o640);
    const proc = Bun.spawn([BIN_X64, "status", "--config", conf], { uid: 65534, gid: 65534, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(stderr).toContain(`cannot read config file ${conf}: permission denied; run it with sudo`);
    expect(code).toBe(77);
  }, 60_000);
});
