/**
 * root.ts makes the Debian bookworm root the bed's boxes boot from: built
 * once with debootstrap from the mirror in this machine's apt configuration,
 * then kept in a git-ignored cache folder (build/bed/) and shared read-only
 * by every box through its own overlay.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { debianMirror } from "../../scripts/_apt-mirror.ts";
import { Progress } from "../../scripts/_progress.ts";
import { ROOT } from "../_helpers.ts";

/** SUITE is the Debian release the boxes run (systemd 252 as PID 1). */
export const SUITE = "bookworm";
/** PACKAGES are added to debootstrap's minbase: what a booted, networked, inspectable host needs. */
export const PACKAGES = ["systemd", "systemd-sysv", "dbus", "iproute2", "procps", "ca-certificates"];
/**
 * MASKED are units that would reach out of the box into the machine: kernel
 * settings (sysctl), kernel modules, and device management.
 */
export const MASKED = [
  "systemd-sysctl.service", "systemd-modules-load.service",
  "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket", "systemd-udev-trigger.service", "systemd-udev-settle.service",
];

/** BED_CACHE is where built roots are kept; UNIBUS_BED_CACHE moves it (e.g. to share it between checkouts). */
export const BED_CACHE = process.env.UNIBUS_BED_CACHE ?? join(ROOT, "build", "bed");

/** rootRecipe is what the cached root depends on; a change makes a new root. */
function rootRecipe(): string {
  return JSON.stringify({ SUITE, PACKAGES, MASKED, version: 2 });
}

/**
 * bedRoot returns the path of the cached root, building it first when it is
 * missing (about a minute; progress on stderr). A half-built root never
 * becomes the cached one: it is made beside it and renamed when complete.
 */
export async function bedRoot(): Promise<string> {
  const key = createHash("sha256").update(rootRecipe()).digest("hex").slice(0, 12);
  const dir = join(BED_CACHE, `${SUITE}-${key}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  mkdirSync(BED_CACHE, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const progress = new Progress();
  const t0 = performance.now();
  const mirror = debianMirror();
  progress.step(`bed: building a Debian ${SUITE} root with debootstrap into ${dir} (once; about a minute)`);
  const proc = Bun.spawn(
    ["debootstrap", "--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, tmp, mirror],
    { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } },
  );
  let tail = "";
  let lastStage = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of s) {
      buf += dec.decode(chunk, { stream: true });
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        tail = (tail + line + "\n").slice(-4000);
        const seconds = ((performance.now() - t0) / 1000).toFixed(0);
        progress.update(`bed: debootstrap ${seconds}s ${line.slice(0, 100)}`);
        // On a non-terminal: one line per phase, so a CI log shows where the minute goes.
        const phase = phaseOf(line);
        if (phase && phase !== lastStage && !process.stderr.isTTY) {
          lastStage = phase;
          process.stderr.write(`bed: debootstrap ${seconds}s: ${phase}\n`);
        }
      }
    }
  };
  await Promise.all([pump(proc.stdout), pump(proc.stderr), proc.exited]);
  if (proc.exitCode !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`debootstrap ${SUITE} failed (exit ${proc.exitCode}); its last lines:\n${tail}`);
  }
  prepareRoot(tmp);
  writeFileSync(join(tmp, ".complete"), rootRecipe());
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  progress.done(`bed: ${SUITE} root ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

/** phaseOf names the debootstrap phase a log line belongs to. */
function phaseOf(line: string): string | undefined {
  if (/^I: (Retrieving|Validating|Checking)/.test(line)) return "downloading packages…";
  if (/^I: Extracting/.test(line)) return "extracting…";
  if (/^I: (Installing|Unpacking|Configuring)/.test(line)) return "installing and configuring…";
  if (/^I: Base system installed/.test(line)) return "done";
  return undefined;
}

/**
 * prepareRoot turns the bare debootstrap tree into a bootable box: units that
 * touch the machine's kernel masked, systemd-networkd on (each box gets its
 * address from a .network file in its overlay), no login prompts.
 */
function prepareRoot(root: string): void {
  const unitDir = join(root, "etc/systemd/system");
  for (const unit of MASKED) {
    rmSync(join(unitDir, unit), { force: true });
    symlinkSync("/dev/null", join(unitDir, unit));
  }
  // network-online.target then means "host0 has its address" (unibus is ordered after it).
  for (const [unit, target] of [
    ["systemd-networkd.service", "multi-user.target"],
    ["systemd-networkd-wait-online.service", "network-online.target"],
  ] as const) {
    const wants = join(unitDir, `${target}.wants`);
    mkdirSync(wants, { recursive: true });
    rmSync(join(wants, unit), { force: true });
    symlinkSync(`/lib/systemd/system/${unit}`, join(wants, unit));
  }
  // A console getty would wait on a terminal nobody reads.
  for (const unit of ["console-getty.service", "getty@.service", "systemd-firstboot.service"]) {
    rmSync(join(unitDir, unit), { force: true });
    symlinkSync("/dev/null", join(unitDir, unit));
  }
  writeFileSync(join(root, "etc/hostname"), "box\n");
  // systemd wants a machine id; each box replaces it in its overlay.
  writeFileSync(join(root, "etc/machine-id"), "");
  const journald = join(root, "etc/systemd/journald.conf.d");
  mkdirSync(journald, { recursive: true });
  writeFileSync(join(journald, "bed.conf"), "[Journal]\nStorage=persistent\nRateLimitBurst=0\n");
  if (!readFileSync(join(root, "etc/os-release"), "utf8").includes(SUITE)) throw new Error(`${root} is not Debian ${SUITE}`);
}
