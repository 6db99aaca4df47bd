/**
 * A host that cannot run unibus is told why and what to install, by install.sh
 * and by the executable, before anything is written or started. Real cases:
 * the 32-bit Raspberry Pi OS on a Pi 4's 64-bit kernel (emulated), Debian 11's
 * glibc 2.31 (a debootstrap chroot), a chroot without /proc, a data dir on a
 * noexec mount. The rest (32-bit kernel, musl, kernel 4.19, no AVX2) fake the
 * probed files and values.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { BIN_ARM64, BIN_X64, ROOT, freePort, nodeToml, prerequisite, runUnibus, tempDir, writeConfig } from "./_helpers.ts";
import { BULLSEYE_ROOT, bullseyeRoot } from "./bullseye-root.ts";
import { PI4_32BIT_OS, QEMU_SYSTEM, bootBoard, buildArmhfInitramfs } from "./board-fixtures.ts";
import { hostProblems, mountOf, versionLess } from "../lib/host-requirements.ts";

const INSTALL_SH = join(ROOT, "install.sh");
const dir = tempDir("unibus-preflight-");
afterAll(() => dir[Symbol.dispose]());

describe("the executable's preflight decides from probed facts", () => {
  const good = { glibc: "2.36", kernel: "6.12.117+deb13-arm64", dataDir: "/var/lib/unibus", dataDirMount: { mountPoint: "/", options: ["rw", "relatime"] } };
  test("a Debian 12 host passes", () => expect(hostProblems(good)).toEqual([]));
  test("glibc 2.31 (Debian 11) is too old for nats-server", () => {
    expect(hostProblems({ ...good, glibc: "2.31" })).toEqual([expect.stringContaining("glibc 2.31 is older than 2.34, which the embedded nats-server needs")]);
  });
  test("kernel 4.19 is older than Bun's 5.1", () => {
    expect(hostProblems({ ...good, kernel: "4.19.0-27-amd64" })).toEqual([expect.stringContaining("Linux kernel 4.19.0-27-amd64 is older than 5.1")]);
  });
  test("a noexec data dir names the mount and the fix", () => {
    expect(hostProblems({ ...good, dataDirMount: { mountPoint: "/var", options: ["rw", "nosuid", "noexec"] } }))
      .toEqual([expect.stringContaining("data_dir /var/lib/unibus is on /var, mounted noexec")]);
  });
  test("versions compare numerically", () => {
    expect(versionLess("5.10", "5.1")).toBe(false);
    expect(versionLess("2.9", "2.34")).toBe(true);
    expect(versionLess("2.34", "2.34")).toBe(false);
  });
  test("mountinfo: the longest containing mount wins, octal escapes decoded", () => {
    const info = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n30 22 0:5 / /var/lib/my\\040data rw,noexec - tmpfs tmpfs rw\n31 22 0:6 / /var/lib/myx rw - tmpfs tmpfs rw\n";
    expect(mountOf("/var/lib/my data/unibus", info)).toEqual({ mountPoint: "/var/lib/my data", options: ["rw", "noexec"] });
    expect(mountOf("/var/lib/mydata", info)?.mountPoint).toBe("/");
  });
});

/** fakeHost lays out the files install.sh probes: a loader that reports a glibc version, /proc/self/exe, cpuinfo. */
function fakeHost(name: string, o: { loader?: string; glibc?: string; proc?: boolean; cpuFlags?: string; extra?: string[] }): string {
  const root = join(dir.path, `host-${name}`);
  mkdirSync(join(root, "proc", "self"), { recursive: true });
  if (o.proc !== false) writeFileSync(join(root, "proc", "self", "exe"), "");
  writeFileSync(join(root, "proc", "cpuinfo"), `processor\t: 0\nflags\t\t: ${o.cpuFlags ?? "fpu sse4_2 avx avx2"}\n`);
  for (const file of [...(o.loader ? [o.loader] : []), ...(o.extra ?? [])]) {
    mkdirSync(join(root, file, ".."), { recursive: true });
    writeFileSync(join(root, file), `#!/bin/sh\necho "ld.so (GNU libc) stable release version ${o.glibc ?? "2.36"}."\n`);
    chmodSync(join(root, file), 0o755);
  }
  return root;
}

function install(env: Record<string, string>) {
  const target = join(dir.path, `root-${Math.random().toString(36).slice(2)}`);
  mkdirSync(target);
  const config = writeConfig(dir.path, "[node]\nname = \"pi\"\n", "preflight.toml");
  const res = spawnSync("bash", [INSTALL_SH, "--config", config, "--binary", BIN_X64, "--root", target, "--no-start"], { env: { ...process.env, ...env }, encoding: "utf8" });
  return { code: res.status, stderr: res.stderr, written: readdirSync(target) };
}

describe("install.sh preflight_host on faked hosts", () => {
  const cases: { name: string; machine: string; kernel?: string; host: Parameters<typeof fakeHost>[1]; says: string }[] = [
    { name: "32-bit kernel (Pi 2 or Raspberry Pi OS 32-bit on an old Pi)", machine: "armv7l", host: {}, says: "it runs a 32-bit ARM kernel (armv7l). unibus needs a 64-bit OS: on a Raspberry Pi 3, 4, 5 or Zero 2 W install Raspberry Pi OS (64-bit)" },
    { name: "32-bit userland on a 64-bit kernel", machine: "aarch64", host: { extra: ["lib/ld-linux-armhf.so.3"] }, says: "this is a 32-bit OS on a 64-bit kernel (aarch64)" },
    { name: "musl (Alpine)", machine: "aarch64", host: { extra: ["lib/ld-musl-aarch64.so.1"] }, says: "this is a musl-based system (such as Alpine Linux); unibus and its nats-server need glibc" },
    { name: "no loader at all", machine: "x86_64", host: {}, says: "the 64-bit glibc loader /lib64/ld-linux-x86-64.so.2 is missing" },
    { name: "glibc 2.31 (Debian 11, Ubuntu 20.04)", machine: "aarch64", host: { loader: "lib/ld-linux-aarch64.so.1", glibc: "2.31" }, says: "its glibc is 2.31, older than 2.34, which the embedded nats-server needs" },
    { name: "kernel 4.19", machine: "aarch64", kernel: "4.19.0-27-arm64", host: { loader: "lib/ld-linux-aarch64.so.1" }, says: "its Linux kernel is 4.19.0-27-arm64, older than 5.1" },
    { name: "x86-64 CPU without AVX2", machine: "x86_64", host: { loader: "lib64/ld-linux-x86-64.so.2", cpuFlags: "fpu sse4_2 popcnt" }, says: "its CPU lacks AVX2, which the x86-64 build of unibus needs" },
    { name: "no /proc", machine: "x86_64", host: { loader: "lib64/ld-linux-x86-64.so.2", proc: false }, says: "/proc is not mounted, and the unibus executable reads itself through /proc/self/exe" },
  ];
  for (const c of cases) {
    test(`${c.name}: refused with its reason, nothing written`, () => {
      const res = install({ UNIBUS_PREFLIGHT_ROOT: fakeHost(c.name.replace(/\W+/g, "-"), c.host), UNIBUS_PREFLIGHT_MACHINE: c.machine, UNIBUS_PREFLIGHT_KERNEL: c.kernel ?? "6.12.117" });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("install.sh: error: this machine cannot run unibus: ");
      expect(res.stderr).toContain(c.says);
      expect(res.stderr).toContain("supported: Raspberry Pi OS (64-bit) 12 bookworm or later");
      expect(res.written).toEqual([]);
    });
  }
  test("a good arm64 host passes preflight (install.sh goes on to its next check)", () => {
    const res = install({ UNIBUS_PREFLIGHT_ROOT: fakeHost("good", { loader: "lib/ld-linux-aarch64.so.1" }), UNIBUS_PREFLIGHT_MACHINE: "aarch64", UNIBUS_PREFLIGHT_KERNEL: "6.12.117" });
    expect(res.stderr).not.toContain("cannot run unibus");
  });
});

describe("real hosts", () => {
  test("a data dir on a noexec mount: unibus refuses before writing anything", async () => {
    const mnt = join(dir.path, "noexec");
    mkdirSync(mnt);
    if (!prerequisite(spawnSync("mount", ["-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", mnt]).status === 0, "mounting a tmpfs (root)")) return;
    try {
      const config = writeConfig(dir.path, nodeToml({ name: "noexec", client: await freePort(), monitor: await freePort() }).replace('data_dir = "data"', `data_dir = "${mnt}/data"`), "noexec.toml");
      const res = await runUnibus(["--config", config]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("this machine cannot run a unibus node:");
      expect(res.stderr).toContain(`data_dir ${mnt}/data is on ${mnt}, mounted noexec`);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });

  const bullseye = BULLSEYE_ROOT;
  const haveDebootstrap = existsSync("/usr/sbin/debootstrap");
  describe.if(prerequisite(haveDebootstrap, "debootstrap (apt)"))("Debian 11 (glibc 2.31) in a chroot", () => {
    test("debootstrap makes the chroot (cached in vendor/rootfs; npm test's prepare step makes it first)", async () => {
      await bullseyeRoot();
      for (const f of ["unibus", "install.sh", "node.toml", "tmp/target", "tmp/unibus-data"]) spawnSync("rm", ["-rf", join(bullseye, f)]);
      mkdirSync(join(bullseye, "tmp", "target"));
      execFileSync("cp", [BIN_X64, join(bullseye, "unibus")]);
      execFileSync("cp", [INSTALL_SH, join(bullseye, "install.sh")]);
      writeFileSync(join(bullseye, "node.toml"), "[node]\nname = \"old\"\ndata_dir = \"/tmp/unibus-data\"\n[admin]\nenabled = false\n");
      expect(existsSync(join(bullseye, "usr", "bin", "bash"))).toBe(true);
    }, 900_000);

    test("without /proc: install.sh says to mount it (the executable itself aborts)", () => {
      const res = spawnSync("chroot", [bullseye, "bash", "/install.sh", "--config", "/node.toml", "--binary", "/unibus", "--root", "/tmp/target", "--no-start"], { encoding: "utf8" });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain("/proc is not mounted, and the unibus executable reads itself through /proc/self/exe. Mount it (mount -t proc proc /proc)");
      expect(spawnSync("chroot", [bullseye, "/unibus", "--version"]).status).not.toBe(0);
    });

    test("with /proc: install.sh and the executable both name glibc 2.31 and nothing is written", () => {
      const proc = join(bullseye, "proc");
      execFileSync("mount", ["-t", "proc", "proc", proc]);
      try {
        const sh = spawnSync("chroot", [bullseye, "bash", "/install.sh", "--config", "/node.toml", "--binary", "/unibus", "--root", "/tmp/target", "--no-start"], { encoding: "utf8" });
        expect(sh.status).toBe(1);
        expect(sh.stderr).toContain("this machine cannot run unibus: its glibc is 2.31, older than 2.34, which the embedded nats-server needs");
        const run = spawnSync("chroot", [bullseye, "/unibus", "--config", "/node.toml"], { encoding: "utf8", timeout: 60_000 });
        expect(run.status).toBe(1);
        expect(run.stderr).toContain("glibc 2.31 is older than 2.34, which the embedded nats-server needs");
        expect(existsSync(join(bullseye, "tmp", "unibus-data"))).toBe(false);
        expect(readdirSync(join(bullseye, "tmp", "target"))).toEqual([]);
      } finally {
        spawnSync("umount", [proc]);
      }
    });
  });

  describe.if(prerequisite(existsSync(QEMU_SYSTEM), "qemu-system-aarch64 (apt: qemu-system-arm)") && prerequisite(existsSync(BIN_ARM64), `${BIN_ARM64} (npm run build)`))("Pi 4 with the 32-bit Raspberry Pi OS (emulated)", () => {
    test("the arm64 file cannot execute (127) and install.sh says to install the 64-bit OS", async () => {
      const run = await bootBoard(PI4_32BIT_OS, await buildArmhfInitramfs(join(dir.path, "armhf"), BIN_ARM64, INSTALL_SH));
      const r = run.results;
      expect(r.done, run.console).toBe("ok");
      expect(r.uname_m).toBe("aarch64");
      expect(r.armhf_loader).toBe("yes");
      expect(r.arm64_loader).toBe("no");
      expect(r.exec_exit).toBe("127");
      expect(run.console).toContain("cannot execute: required file not found");
      expect(r.install_exit).toBe("1");
      expect(run.console).toContain("install.sh: error: this machine cannot run unibus: this is a 32-bit OS on a 64-bit kernel (aarch64)");
      expect(run.console).toContain("Raspberry Pi OS (64-bit)");
      expect(r.written).toBe("0");
      console.log(`Pi 4 / 32-bit OS (emulated): VM run ${run.seconds.toFixed(0)} s`);
    }, 600_000);
  });
});
