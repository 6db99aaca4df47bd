/**
 * The unit install.sh writes must be one systemd accepts without a single
 * warning, and hardened to an exposure score of "OK" (≤ 2.9) or better.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");
const TEMPLATE = join(REPO, "packaging/unibus.service");
const BINARY = join(REPO, "dist", `unibus-linux-${process.arch}`);
const CI = process.env.CI === "true";
const MAX_EXPOSURE = 2.9;

const analyze = Bun.which("systemd-analyze");
const missing = analyze ? undefined : "systemd-analyze is not installed (apt install systemd)";
const missingForInstall = missing ?? (!existsSync(BINARY) ? `${BINARY} is missing` : undefined);
if (missing && !CI) console.log(`skipping unit checks: ${missing}`);
else if (missingForInstall && !CI) console.log(`skipping checks of the unit rendered for a port below 1024: ${missingForInstall}`);
const it = missing && !CI ? test.skip : test;
const itInstalled = missingForInstall && !CI ? test.skip : test;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "unibus-unit-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** unitCopy writes the unit under its own name, with ExecStart pointing at an executable that exists here. */
function unitCopy(name: string, text: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const exec = existsSync(BINARY) ? BINARY : "/bin/true";
  const path = join(dir, "unibus.service");
  writeFileSync(path, text.replaceAll("/usr/local/bin/unibus", exec));
  return path;
}

function verify(unitPath: string) {
  const proc = Bun.spawnSync([analyze!, "verify", "--man=no", unitPath]);
  // verify exits 0 even for unknown keys and unparsable values: any output is a finding.
  return { code: proc.exitCode, output: (proc.stdout.toString() + proc.stderr.toString()).trim() };
}

function exposure(unitPath: string): number {
  const proc = Bun.spawnSync([analyze!, "security", "--offline=true", "--no-pager", unitPath]);
  const text = proc.stdout.toString() + proc.stderr.toString();
  const match = /Overall exposure level for unibus\.service: (\d+(?:\.\d+)?)/.exec(text);
  if (!match) throw new Error(`systemd-analyze security gave no score:\n${text}`);
  return Number(match[1]);
}

/** renderedLowPortUnit asks the executable for the unit of a config that listens on port 443. */
function renderedLowPortUnit(): string {
  const conf = join(work, "conf");
  mkdirSync(conf, { recursive: true });
  writeFileSync(join(conf, "node.toml"), `[client]\nlisten = "0.0.0.0:443"\nallow_anonymous = true\n`);
  const proc = Bun.spawnSync([BINARY, "unit", "--config", join(conf, "node.toml")]);
  if (proc.exitCode !== 0) throw new Error(`unibus unit failed: ${proc.stderr.toString()}`);
  return proc.stdout.toString();
}

it("systemd-analyze verify accepts the unit without warnings", () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  expect(verify(unitCopy("verify", readFileSync(TEMPLATE, "utf8")))).toEqual({ code: 0, output: "" });
});

it(`the unit's systemd-analyze security exposure is at most ${MAX_EXPOSURE}`, () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  const score = exposure(unitCopy("security", readFileSync(TEMPLATE, "utf8")));
  console.log(`systemd-analyze security: unibus.service exposure ${score} (default unit, no capabilities)`);
  expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
});

itInstalled(`the unit for a port below 1024 verifies and stays at exposure ${MAX_EXPOSURE} or less`, () => {
  if (missingForInstall) throw new Error(`missing prerequisite: ${missingForInstall}`);
  const unit = renderedLowPortUnit();
  expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  const path = unitCopy("lowport", unit);
  expect(verify(path)).toEqual({ code: 0, output: "" });
  const score = exposure(path);
  console.log(`systemd-analyze security: unibus.service exposure ${score} (port below 1024: CAP_NET_BIND_SERVICE)`);
  expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
});

test("the unit keeps the settings unibus depends on", () => {
  const unit = readFileSync(TEMPLATE, "utf8");
  const settings = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  const one = (key: string) => settings.get(key)?.join(" | ");
  expect(one("Type")).toBe("notify");
  expect(one("NotifyAccess")).toBe("main");
  expect(one("ExecStart")).toBe("/usr/local/bin/unibus --config /etc/unibus/unibus.toml");
  // Synchronous: systemctl reload fails when unibus refuses the change.
  expect(one("ExecReload")).toBe("/usr/local/bin/unibus reload --config /etc/unibus/unibus.toml --pid $MAINPID");
  expect(one("RestartPreventExitStatus")).toBe("2"); // a config error is not retried
  expect(one("After")).toContain("time-sync.target");
  expect(settings.get("Wants")?.join(" ")).not.toContain("time-sync.target"); // a passive target: order after it, never pull it in
  expect(one("StateDirectory")).toBe("unibus");
  expect(one("StateDirectoryMode")).toBe("0700");
  expect(one("KillMode")).toBe("mixed"); // SIGTERM to unibus only, so it can run nats-server's lame duck
  expect(Number.parseInt(one("TimeoutStopSec") ?? "0")).toBeGreaterThanOrEqual(150);
  expect(Number(one("LimitNOFILE"))).toBeGreaterThanOrEqual(65536);
  expect(one("User")).toBe("unibus");
  expect(one("CapabilityBoundingSet")).toBe("");
  expect(one("AmbientCapabilities")).toBe("");
  expect(one("RestrictAddressFamilies")).toBe("AF_INET AF_INET6 AF_UNIX AF_NETLINK");
  expect(settings.has("MemoryDenyWriteExecute")).toBe(false); // JIT
  expect(settings.has("NoExecPaths")).toBe(false); // /var/lib/unibus/bin holds the extracted nats-server
});
