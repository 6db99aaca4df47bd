/**
 * Bare `unibus` runs nothing (as caddy and k3s, it prints its usage): as root
 * it would start a second node on the installed service's config. And a node
 * started while the installed service holds the data dir is told that
 * (service name, pid, `sudo unibus status`) instead of a bare lock error.
 * The service is a real cgroup named unibus.service, as systemd makes it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BIN_X64, freePort, nodeToml, runUnibus, stopProcess, tempDir, writeConfig } from "./_helpers.ts";

const CI = process.env.CI === "true";
// cgroup v1's name=systemd hierarchy, or the unified one: where systemd files its services.
const HIERARCHY = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((h) => existsSync(join(h, "cgroup.procs")));
const missing = process.getuid?.() !== 0 ? "making a cgroup needs root" : !HIERARCHY ? "no writable cgroup hierarchy" : undefined;
if (missing && !CI) console.log(`skipping the running-service test: ${missing}`);

const dir = tempDir("unibus-bare-");
const slice = HIERARCHY ? join(HIERARCHY, `unibus-test-${process.pid}.slice`) : "";
const service = join(slice, "unibus.service");
let node: Subprocess | undefined;
let config = "";

beforeAll(async () => {
  if (missing) return;
  config = writeConfig(dir.path, nodeToml({ name: "svc-node", client: await freePort(), monitor: await freePort() }));
  mkdirSync(service, { recursive: true });
  // Into the service's cgroup first, then exec unibus: as systemd starts ExecStart=.
  node = Bun.spawn(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec "$2" --config "$3"', "sh", service, BIN_X64, config], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  for (const until = Date.now() + 90_000; Date.now() < until; await Bun.sleep(500)) {
    if ((await runUnibus(["status", "--config", config])).code === 0) return;
  }
  throw new Error("the node in unibus.service did not become healthy in 90 s");
}, 150_000); // 90 s of tries, the last status run up to 30 s (runUnibus's bound): 120 s could end in an "(unnamed)" hook timeout

afterAll(async () => {
  await stopProcess(node);
  for (const d of [service, slice]) {
    for (let i = 0; i < 50 && d && existsSync(d); i++) {
      try { rmdirSync(d); } catch { await Bun.sleep(100); }
    }
  }
  dir[Symbol.dispose]();
}, 60_000);

describe("bare unibus", () => {
  test("prints its usage on stderr and exits 2, starting nothing", async () => {
    const r = await runUnibus([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith("error: unibus needs a command; to run a node: unibus run --config FILE");
    expect(r.stderr).toContain("usage:\n  unibus run ");
  });
});

describe("a node started while the installed service runs on that data dir", () => {
  test("is told the service runs it (name, pid, sudo unibus status), not a lock error", async () => {
    if (missing) throw new Error(`missing prerequisite: ${missing}`);
    const r = await runUnibus(["run", "--config", config], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unibus is running as the systemd service unibus (pid ${node!.pid}) on data dir ${join(dir.path, "data")}; see sudo unibus status`);
    expect(r.stderr).not.toContain("in use by another unibus");
  }, 60_000);
});
