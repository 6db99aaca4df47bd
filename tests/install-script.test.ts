/**
 * install.sh, run for real into a throwaway root (--root): every file, owner
 * and mode it promises, idempotence, upgrade, uninstall and purge.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";

// Each install.sh run checks the config with the real executable (a few seconds on a loaded machine).
setDefaultTimeout(120_000);
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");
const SCRIPT = join(REPO, "install.sh");
const ARCH = process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : undefined;
const BINARY = join(REPO, "dist", `unibus-linux-${ARCH ?? process.arch}`);
const CI = process.env.CI === "true";

function missingPrerequisite(): string | undefined {
  if (process.platform !== "linux" || !ARCH) return `unibus installs on linux x64/arm64 only (this is ${process.platform} ${process.arch})`;
  if (process.getuid?.() !== 0) return "install.sh must run as root (it chowns files to the unibus user)";
  for (const tool of ["bash", "useradd", "groupadd", "userdel", "groupdel"]) if (!Bun.which(tool)) return `${tool} is not installed`;
  if (!existsSync(BINARY)) return `${BINARY} is missing: build it with bun scripts/build.ts --target host`;
  return undefined;
}
const missing = missingPrerequisite();
if (missing && !CI) console.log(`skipping install.sh tests: ${missing}`);
const it = missing && !CI ? test.skip : test;
const needPrerequisites = () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
};

let work: string;
let caDir: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "unibus-install-"));
  // install.sh checks the staged files as the root's unibus uid: it must reach them.
  chmodSync(work, 0o755);
  if (missing) return;
  caDir = join(work, "ca");
  const made = Bun.spawnSync([BINARY, "ca", "create", "--out", caDir, "--name", "install test CA"]);
  if (made.exitCode !== 0) throw new Error(`unibus ca create failed: ${made.stderr.toString()}`);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/**
 * fixture writes a config folder like an operator's: node.toml, certs/ (a real
 * CA, since install.sh has the executable check the config), a secret, and a
 * node key pair the config does not use.
 */
function fixture(name: string, toml: string): string {
  const dir = join(work, name, "homelab");
  mkdirSync(join(dir, "certs"), { recursive: true });
  writeFileSync(join(dir, "pi-1.toml"), toml);
  writeFileSync(join(dir, "cluster.secret"), "route-secret-for-tests\n", { mode: 0o600 });
  for (const f of ["ca.pem", "ca-key.pem"]) writeFileSync(join(dir, "certs", f), readFileSync(join(caDir, f)), { mode: 0o600 });
  writeFileSync(join(dir, "certs", "pi-1.pem"), "-----BEGIN CERTIFICATE-----\n");
  writeFileSync(join(dir, "certs", "pi-1-key.pem"), "-----BEGIN PRIVATE KEY-----\n");
  mkdirSync(join(dir, "secrets"), { recursive: true });
  writeFileSync(join(dir, "secrets", "dashboard.pass"), "dashboard-password\n");
  return join(dir, "pi-1.toml");
}

const CONFIG = `[node]
name = "pi-1"

[client]
listen = "127.0.0.1:4222"

[cluster]
name = "lab"
peers = ["10.0.0.11:6222", "10.0.0.12:6222", "10.0.0.13:6222"]
advertise = "10.0.0.11:6222"
secret_file = "cluster.secret"

[tls]
ca_cert = "certs/ca.pem"
ca_key = "certs/ca-key.pem"
`;

function run(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawnSync(["bash", SCRIPT, ...args], { env: { ...process.env, ...env }, stdin: "ignore" });
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

function mustRun(args: string[]) {
  const result = run(args);
  if (result.code !== 0) throw new Error(`install.sh ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result;
}

/** idOf reads a user's or group's numeric id from the root's own account files. */
function idOf(root: string, db: "passwd" | "group", name: string): number | undefined {
  const line = readFileSync(join(root, "etc", db), "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(":")[2]) : undefined;
}

function expectFile(path: string, mode: number, uid: number, gid: number, kind: "file" | "dir" = "file") {
  const st = statSync(path);
  expect({ path, kind: st.isDirectory() ? "dir" : "file", mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid })
    .toEqual({ path, kind, mode: mode.toString(8), uid, gid });
}

function newRoot(name: string): string {
  const root = join(work, name, "root");
  mkdirSync(root, { recursive: true });
  return root;
}

describe("install.sh --root", () => {
  it("installs the binary, user, config, certs, secrets, state dir and unit with the promised owners and modes", () => {
    needPrerequisites();
    const root = newRoot("full");
    mustRun(["--config", fixture("full", CONFIG), "--root", root, "--no-start"]);

    const uid = idOf(root, "passwd", "unibus")!;
    const gid = idOf(root, "group", "unibus")!;
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith("unibus:"))!.split(":");
    expect(passwd[3]).toBe(String(gid));
    expect(passwd[5]).toBe("/nonexistent"); // no home
    expect(passwd[6]).toMatch(/\/nologin$/); // no login shell
    expect(existsSync(join(root, "nonexistent"))).toBe(false);

    expectFile(join(root, "usr/local/bin/unibus"), 0o755, 0, 0);
    expect(readFileSync(join(root, "usr/local/bin/unibus")).equals(readFileSync(BINARY))).toBe(true);
    expectFile(join(root, "etc/unibus"), 0o750, 0, gid, "dir");
    expectFile(join(root, "etc/unibus/unibus.toml"), 0o640, 0, gid);
    expect(readFileSync(join(root, "etc/unibus/unibus.toml"), "utf8")).toBe(CONFIG);
    expectFile(join(root, "etc/unibus/cluster.secret"), 0o640, 0, gid);
    expectFile(join(root, "etc/unibus/certs"), 0o750, 0, gid, "dir");
    expectFile(join(root, "etc/unibus/certs/ca-key.pem"), 0o640, 0, gid);
    expectFile(join(root, "etc/unibus/certs/pi-1-key.pem"), 0o640, 0, gid);
    expectFile(join(root, "etc/unibus/certs/ca.pem"), 0o644, 0, gid);
    expectFile(join(root, "etc/unibus/certs/pi-1.pem"), 0o644, 0, gid);
    expectFile(join(root, "etc/unibus/secrets"), 0o750, 0, gid, "dir");
    expectFile(join(root, "etc/unibus/secrets/dashboard.pass"), 0o640, 0, gid);
    expectFile(join(root, "var/lib/unibus"), 0o700, uid, gid, "dir");
    expectFile(join(root, "etc/systemd/system/unibus.service"), 0o644, 0, 0);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/unibus.service"))).toBe("/etc/systemd/system/unibus.service");

    const unit = readFileSync(join(root, "etc/systemd/system/unibus.service"), "utf8");
    expect(unit).toContain("ExecStart=/usr/local/bin/unibus --config /etc/unibus/unibus.toml\n");
    expect(unit).toContain("StateDirectory=unibus\n");
    expect(unit).toContain("User=unibus\n");
    expect(unit).toMatch(/^CapabilityBoundingSet=$/m);
    expect(unit).toMatch(/^AmbientCapabilities=$/m);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m); // the JS engine JITs
  });

  it("installs into a 0700 root (a mktemp -d folder), checking the config as the service, and leaves the root 0700", () => {
    needPrerequisites();
    const root = mkdtempSync(join(tmpdir(), "unibus-install-shut-"));
    try {
      expect(statSync(root).mode & 0o777).toBe(0o700);
      const r = mustRun(["--config", fixture("shut", CONFIG), "--root", root, "--no-start"]);
      expect(r.stdout).toContain(`cannot enter ${root} (mode 700); it gets search permission (o+x) only while the config is checked as unibus`);
      expect(statSync(root).mode & 0o777).toBe(0o700);
      const gid = idOf(root, "group", "unibus")!;
      expectFile(join(root, "etc/unibus/unibus.toml"), 0o640, 0, gid);
      expect(existsSync(join(root, "etc/systemd/system/unibus.service"))).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("is idempotent: a second run changes nothing and reports nothing installed", () => {
    needPrerequisites();
    const root = newRoot("idempotent");
    const config = fixture("idempotent", CONFIG);
    mustRun(["--config", config, "--root", root, "--no-start"]);
    const snapshot = () => ["etc/passwd", "etc/group", "etc/systemd/system/unibus.service", "etc/unibus/unibus.toml"]
      .map((f) => readFileSync(join(root, f), "utf8"));
    const before = snapshot();
    const again = mustRun(["--config", config, "--root", root, "--no-start"]);
    expect(again.stdout).not.toContain("installed ");
    expect(again.stdout).not.toContain("created ");
    expect(snapshot()).toEqual(before);
    expect(readFileSync(join(root, "etc/passwd"), "utf8").match(/^unibus:/gm)).toHaveLength(1);
  });

  it("repairs modes and owners that drifted since the last run", () => {
    needPrerequisites();
    const root = newRoot("drift");
    const config = fixture("drift", CONFIG);
    mustRun(["--config", config, "--root", root, "--no-start"]);
    chmodSync(join(root, "etc/unibus/certs/ca-key.pem"), 0o666);
    chmodSync(join(root, "var/lib/unibus"), 0o755);
    mustRun(["--config", config, "--root", root, "--no-start"]);
    const gid = idOf(root, "group", "unibus")!;
    expectFile(join(root, "etc/unibus/certs/ca-key.pem"), 0o640, 0, gid);
    expectFile(join(root, "var/lib/unibus"), 0o700, idOf(root, "passwd", "unibus")!, gid, "dir");
  });

  it("grants CAP_NET_BIND_SERVICE only when a listen port is below 1024, and outlasts a long lame duck", () => {
    needPrerequisites();
    const root = newRoot("lowport");
    const config = fixture("lowport", `[node]\nlame_duck_duration = "4m"\n[client]\nlisten = "0.0.0.0:443"\nallow_anonymous = true\n[admin]\nlisten = "127.0.0.1:8480"\n`);
    mustRun(["--config", config, "--root", root, "--no-start"]);
    const unit = readFileSync(join(root, "etc/systemd/system/unibus.service"), "utf8");
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^PrivateUsers=no$/m);
    expect(unit).toMatch(/^TimeoutStopSec=300s$/m);
  });

  it("reads the unit's facts with the real TOML parser: dotted keys and single quotes", () => {
    needPrerequisites();
    const root = newRoot("dotted");
    const toml = `node.name = 'pi-1'\nnode.data_dir = '/srv/unibus'\nnode.lame_duck_duration = '5m'\nclient.listen = '0.0.0.0:853'\nclient.allow_anonymous = true\n`;
    mustRun(["--config", fixture("dotted", toml), "--root", root, "--no-start"]);
    const unit = readFileSync(join(root, "etc/systemd/system/unibus.service"), "utf8");
    expect(unit).toMatch(/^ReadWritePaths=\/srv\/unibus$/m);
    expect(unit).toMatch(/^TimeoutStopSec=360s$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expectFile(join(root, "srv/unibus"), 0o700, idOf(root, "passwd", "unibus")!, idOf(root, "group", "unibus")!, "dir");
  });

  it("a re-install keeps the box's own join tokens: revoked ones stay revoked, new ones stay", () => {
    needPrerequisites();
    const root = newRoot("tokens");
    const config = fixture("tokens", CONFIG);
    const source = join(work, "tokens", "homelab", "join-tokens.secret");
    writeFileSync(source, "as made by init cluster\n", { mode: 0o600 });
    mustRun(["--config", config, "--root", root, "--no-start"]);
    const installed = join(root, "etc/unibus/join-tokens.secret");
    expect(readFileSync(installed, "utf8")).toBe("as made by init cluster\n");
    writeFileSync(installed, "after token create and token revoke on the box\n");
    const again = mustRun(["--config", config.replace(/$/, ""), "--root", root, "--no-start"]);
    expect(again.stdout).toContain("keeping the installed join-tokens.secret");
    expect(readFileSync(installed, "utf8")).toBe("after token create and token revoke on the box\n");
  });

  it("a refused config changes nothing: the installed config stays, and a first install leaves no user or binary", () => {
    needPrerequisites();
    const root = newRoot("refused");
    const good = fixture("refused", CONFIG);
    const bad = join(work, "refused", "homelab", "bad.toml");
    writeFileSync(bad, CONFIG.replace('name = "lab"', 'name = "lab"\nlisten = "0.0.0.0:99999"'));
    const first = run(["--config", bad, "--root", root, "--no-start"]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("is not valid for unibus.service, so nothing was changed");
    expect(first.stderr).toContain("cluster.listen");
    // the error names the operator's file and line, not the staging copy that is gone afterwards
    expect(first.stderr).toMatch(/bad\.toml:\d+:\d+: cluster\.listen/);
    expect(first.stderr).not.toContain(".unibus.staged");
    expect(existsSync(join(root, "usr/local/bin/unibus"))).toBe(false);
    expect(existsSync(join(root, "etc/unibus"))).toBe(false);
    expect(idOf(root, "passwd", "unibus")).toBeUndefined();
    // The account it made for staging was taken back, so it never says it created one.
    expect(first.stdout + first.stderr).not.toContain("created");

    const made = mustRun(["--config", good, "--root", root, "--no-start"]);
    expect(made.stdout).toContain("created system user unibus");
    const second = run(["--config", bad, "--root", root, "--no-start"]);
    expect(second.code).toBe(1);
    expect(readFileSync(join(root, "etc/unibus/unibus.toml"), "utf8")).toBe(CONFIG);
    expect(idOf(root, "passwd", "unibus")).toBeGreaterThan(0);
    expect(existsSync(join(root, "etc/.unibus.staged"))).toBe(false);
    expect(existsSync(join(root, "usr/local/bin/.unibus.staged"))).toBe(false);
  });

  it("refuses a relative data_dir, which would land in read-only /etc/unibus", () => {
    needPrerequisites();
    const root = newRoot("reldata");
    const result = run(["--config", fixture("reldata", `[node]\ndata_dir = "data"\n`), "--root", root, "--no-start"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("node.data_dir resolves to");
    expect(result.stderr).toContain("inside the config's folder, which the service cannot write");
    expect(existsSync(join(root, "usr/local/bin/unibus"))).toBe(false);
  });

  it("--upgrade replaces the binary and keeps the installed config", () => {
    needPrerequisites();
    const root = newRoot("upgrade");
    const config = fixture("upgrade", CONFIG);
    mustRun(["--config", config, "--root", root, "--no-start"]);
    writeFileSync(join(root, "etc/unibus/unibus.toml"), CONFIG + "# edited on the host\n");
    writeFileSync(join(root, "usr/local/bin/unibus"), "old binary");
    writeFileSync(join(root, "var/lib/unibus/stream.dat"), "jetstream data");
    const result = mustRun(["--upgrade", "--config", config, "--root", root, "--no-start"]);
    expect(result.stdout).toContain("keeping the installed");
    expect(readFileSync(join(root, "usr/local/bin/unibus")).equals(readFileSync(BINARY))).toBe(true);
    expectFile(join(root, "usr/local/bin/unibus"), 0o755, 0, 0);
    expect(readFileSync(join(root, "etc/unibus/unibus.toml"), "utf8")).toEndWith("# edited on the host\n");
    expect(readFileSync(join(root, "var/lib/unibus/stream.dat"), "utf8")).toBe("jetstream data");
  });

  it("--upgrade refuses when unibus is not installed", () => {
    needPrerequisites();
    const result = run(["--upgrade", "--root", newRoot("upgrade-empty"), "--no-start"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not installed");
  });

  it("--uninstall removes unit, binary and user and keeps config and data", () => {
    needPrerequisites();
    const root = newRoot("uninstall");
    mustRun(["--config", fixture("uninstall", CONFIG), "--root", root, "--no-start"]);
    writeFileSync(join(root, "var/lib/unibus/stream.dat"), "jetstream data");
    mustRun(["--uninstall", "--root", root]);
    expect(existsSync(join(root, "etc/systemd/system/unibus.service"))).toBe(false);
    expect(() => lstatSync(join(root, "etc/systemd/system/multi-user.target.wants/unibus.service"))).toThrow();
    expect(existsSync(join(root, "usr/local/bin/unibus"))).toBe(false);
    expect(idOf(root, "passwd", "unibus")).toBeUndefined();
    expect(idOf(root, "group", "unibus")).toBeUndefined();
    expect(readFileSync(join(root, "var/lib/unibus/stream.dat"), "utf8")).toBe("jetstream data");
    expect(existsSync(join(root, "etc/unibus/unibus.toml"))).toBe(true);
    // uninstalling twice is fine
    mustRun(["--uninstall", "--root", root]);
  });

  it("--purge without --yes and without a terminal removes nothing", () => {
    needPrerequisites();
    const root = newRoot("purge-refused");
    mustRun(["--config", fixture("purge-refused", CONFIG), "--root", root, "--no-start"]);
    const result = run(["--uninstall", "--purge", "--root", root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--yes");
    expect(existsSync(join(root, "usr/local/bin/unibus"))).toBe(true);
    expect(existsSync(join(root, "var/lib/unibus"))).toBe(true);
  });

  it("--uninstall --purge --yes removes everything, data included", () => {
    needPrerequisites();
    const root = newRoot("purge");
    mustRun(["--config", fixture("purge", CONFIG), "--root", root, "--no-start"]);
    mustRun(["--uninstall", "--purge", "--yes", "--root", root]);
    for (const path of ["etc/systemd/system/unibus.service", "usr/local/bin/unibus", "etc/unibus", "var/lib/unibus"]) {
      expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: false });
    }
    expect(idOf(root, "passwd", "unibus")).toBeUndefined();
  });

  it("refuses an unsupported CPU architecture with a clear message", () => {
    needPrerequisites();
    const fakeBin = join(work, "fake-uname");
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, "uname"), "#!/bin/sh\necho armv7l\n", { mode: 0o755 });
    const result = run(["--config", fixture("arch", CONFIG), "--root", newRoot("arch"), "--no-start"], { PATH: `${fakeBin}:${process.env.PATH}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("it runs a 32-bit ARM kernel (armv7l). unibus needs a 64-bit OS");
  });

  it("finds the executable beside install.sh or in the current directory, as README's release layout has it (no --binary, no dist/)", () => {
    needPrerequisites();
    const name = `unibus-linux-${ARCH}`;
    // README: copy the executable and install.sh into one folder, then sudo ./install.sh --config ...
    const beside = join(work, "release-beside");
    mkdirSync(beside, { recursive: true });
    writeFileSync(join(beside, "install.sh"), readFileSync(SCRIPT), { mode: 0o755 });
    symlinkSync(BINARY, join(beside, name)); // a copy, as far as install.sh can tell (saves 100 MiB)
    let root = newRoot("release-beside");
    let proc = Bun.spawnSync(["bash", "./install.sh", "--config", fixture("release-beside", CONFIG), "--root", root, "--no-start"], { cwd: beside, stdin: "ignore" });
    expect(proc.stderr.toString()).not.toContain("no binary");
    expect(proc.exitCode).toBe(0);
    expect(readFileSync(join(root, "usr/local/bin/unibus")).equals(readFileSync(BINARY))).toBe(true);

    // install.sh in one folder, the executable (named plain "unibus") in the current directory.
    const scripts = join(work, "release-script-only");
    const here = join(work, "release-cwd");
    mkdirSync(scripts, { recursive: true });
    mkdirSync(here, { recursive: true });
    writeFileSync(join(scripts, "install.sh"), readFileSync(SCRIPT), { mode: 0o755 });
    symlinkSync(BINARY, join(here, "unibus"));
    root = newRoot("release-cwd");
    proc = Bun.spawnSync(["bash", join(scripts, "install.sh"), "--config", fixture("release-cwd", CONFIG), "--root", root, "--no-start"], { cwd: here, stdin: "ignore" });
    expect(proc.exitCode).toBe(0);
    expect(readFileSync(join(root, "usr/local/bin/unibus")).equals(readFileSync(BINARY))).toBe(true);

    // Neither: the error says where it looked and what to do.
    const empty = join(work, "release-empty");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "install.sh"), readFileSync(SCRIPT), { mode: 0o755 });
    proc = Bun.spawnSync(["bash", "./install.sh", "--config", fixture("release-empty", CONFIG), "--root", newRoot("release-empty"), "--no-start"], { cwd: empty, stdin: "ignore" });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain(`put ${name} (or its release .xz and .sha256) beside install.sh`);
    expect(proc.stderr.toString()).toContain(join(empty, name));
  });

  it("refuses a binary that does not run", () => {
    needPrerequisites();
    const broken = join(work, "broken-unibus");
    writeFileSync(broken, "#!/bin/sh\necho 'exec format error' >&2\nexit 126\n", { mode: 0o755 });
    const root = newRoot("broken");
    const result = run(["--config", fixture("broken", CONFIG), "--binary", broken, "--root", root, "--no-start"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("does not run on this machine");
    expect(existsSync(join(root, "usr/local/bin/unibus"))).toBe(false);
  });
});

describe("install.sh source", () => {
  const shellcheck = Bun.which("shellcheck");
  if (!shellcheck && !CI) console.log("skipping shellcheck: shellcheck is not installed");
  (shellcheck || CI ? test : test.skip)("passes shellcheck", () => {
    if (!shellcheck) throw new Error("missing prerequisite: shellcheck is not installed");
    const proc = Bun.spawnSync([shellcheck, "--severity=style", "--shell=bash", SCRIPT]);
    expect(proc.stdout.toString() + proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
  });

  test("runs with strict bash options", () => {
    const text = readFileSync(SCRIPT, "utf8");
    expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(text).toContain("\nset -euo pipefail\n");
    expect(statSync(SCRIPT).mode & 0o111).not.toBe(0);
  });
});
