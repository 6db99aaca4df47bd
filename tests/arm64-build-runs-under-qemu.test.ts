/**
 * The arm64 executable (Raspberry Pi 3/4/5 on a 64-bit OS) runs under qemu
 * user emulation with the Pi 3 (Cortex-A53) and Pi 4 (Cortex-A72) CPU
 * models: --version, config check, and the embedded arm64 nats-server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { BIN_ARM64, ROOT, prerequisite, tempDir } from "./_helpers.ts";

const QEMU = "/usr/bin/qemu-aarch64-static";
const SYSROOT = "/usr/aarch64-linux-gnu";
const ready = prerequisite(existsSync(QEMU) && existsSync(SYSROOT), "qemu-user-static and libc6-arm64-cross (apt)")
  && prerequisite(existsSync(BIN_ARM64), `${BIN_ARM64} (npm run build)`);
const dir = tempDir("unibus-arm64-");
afterAll(() => dir[Symbol.dispose]());

async function qemu(cpu: string, args: string[]) {
  const proc = Bun.spawn([QEMU, "-cpu", cpu, "-L", SYSROOT, ...args], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const lock = JSON.parse(readFileSync(join(ROOT, "vendor", "nats-server.lock.json"), "utf8"));

for (const cpu of ["cortex-a53", "cortex-a72"]) {
  describe.if(ready)(`arm64 build on ${cpu}`, () => {
    test("--version names unibus, the embedded nats-server and the arm64 target", async () => {
      const res = await qemu(cpu, [BIN_ARM64, "--version"]);
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^unibus \d+\.\d+\.\d+/m);
      expect(res.stdout).toMatch(/^nats-server 2\.15\.\d+/m);
      expect(res.stdout).toContain("target linux-arm64");
    });

    test("config check validates the example config and prints it", async () => {
      const res = await qemu(cpu, [BIN_ARM64, "config", "check", "--config", join(ROOT, "config", "node.toml")]);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain("[jetstream]");
      expect(res.stdout).toContain('sync = "always"');
    });

    test("config check rejects a bad config with exit 2 as on x64", async () => {
      const bad = join(dir.path, `bad-${cpu}.toml`);
      await Bun.write(bad, "[node]\nname = \"pi\"\n[client]\nlisten = \"127.0.0.1:99999\"\n");
      const res = await qemu(cpu, [BIN_ARM64, "config", "check", "--config", bad]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`${bad}:4:`);
      expect(res.stderr).toContain("client.listen");
    });

    test("the embedded arm64 nats-server extracts verified and runs --version", async () => {
      const dataDir = join(dir.path, `data-${cpu}`);
      // qemu-user cannot exec the child without binfmt_misc, so the exit code is not
      // asserted here: the extraction is, and then qemu runs the extracted binary.
      await qemu(cpu, [BIN_ARM64, "nats-server", "--data-dir", dataDir, "--", "--version"]);
      const bins = readdirSync(join(dataDir, "bin")).filter((n) => n.startsWith("nats-server-"));
      expect(bins).toEqual([`nats-server-${lock.arches.arm64.binarySha256}`]);
      const path = join(dataDir, "bin", bins[0]!);
      expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(lock.arches.arm64.binarySha256);
      const res = await qemu(cpu, [path, "--version"]);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/nats-server: v2\.15\.\d+/);
    });
  });
}
