/**
 * box.ts is one real host of the bed: a Debian root booted with systemd as
 * PID 1 inside systemd-nspawn, on its own overlay of the cached root, with its
 * own address on the test's bridge. Tests drive it only the way a person at
 * its console would: commands run inside through nsenter into all of the
 * box's namespaces.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Bridge } from "./bridge.ts";
import { run, type RunResult } from "./exec.ts";
import { uniqueLinkName } from "./names.ts";

/** BOX_DIR_PREFIX starts every box's work folder in the temp dir (then the owner's pid), so stale ones can be found. */
export const BOX_DIR_PREFIX = "unibus-bed-";

/** BOX_ENV is the environment of a command run in a box: a root shell's, not the test runner's. */
const BOX_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "USER=root", "LOGNAME=root"];

/** Box is one booted host. Create it with Box.boot; dispose removes everything it made. */
export class Box {
  /** merged is the box's root file system as the machine sees it (the mounted overlay). */
  readonly merged: string;
  #nspawn?: Subprocess;
  #pid1?: number;
  #boots = 0;

  /**
   * machine is the name systemd-nspawn knows the box by (bedNameOf). The
   * machine's side of the box's network link is named after it ("vb-" +
   * machine), in the machine's one network namespace, so it must be unique
   * among every box running on the machine, whoever started it.
   */
  readonly machine: string;

  private constructor(readonly name: string, readonly address: string, readonly bridge: Bridge, readonly dir: string) {
    this.merged = join(dir, "merged");
    this.machine = uniqueLinkName("bed");
  }

  /**
   * boot makes the box's overlay over the cached root, writes its identity
   * (host name, machine id, address on the bridge) and boots it.
   */
  static async boot(opts: { root: string; bridge: Bridge; name: string; index: number }): Promise<Box> {
    const dir = mkdtempSync(join(tmpdir(), `${BOX_DIR_PREFIX}${process.pid}-${opts.name}-`));
    const box = new Box(opts.name, opts.bridge.boxAddress(opts.index), opts.bridge, dir);
    try {
      for (const d of ["upper", "work", "merged"]) mkdirSync(join(dir, d));
      await run(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${opts.root},upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`, box.merged], { check: true });
      writeFileSync(box.path("/etc/hostname"), `${opts.name}\n`);
      writeFileSync(box.path("/etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
      writeFileSync(box.path("/etc/hosts"), `127.0.0.1 localhost\n127.0.1.1 ${opts.name}\n`);
      mkdirSync(box.path("/etc/systemd/network"), { recursive: true });
      writeFileSync(box.path("/etc/systemd/network/10-host0.network"),
        `[Match]\nName=host0\n\n[Network]\nAddress=${box.address}/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`);
      await box.start();
    } catch (err) {
      await box.dispose();
      throw err;
    }
    return box;
  }

  /** path maps a path inside the box to the machine's view of it (write files in with it). */
  path(p: string): string {
    return join(this.merged, p);
  }

  /** pid1 is the box's systemd as the machine numbers it. */
  get pid1(): number {
    if (!this.#pid1) throw new Error(`box ${this.name} is not running`);
    return this.#pid1;
  }

  /** running is true between a boot and a power cut. */
  get running(): boolean {
    return this.#pid1 !== undefined;
  }

  /** start boots the box (again) and waits until systemd says the system is up. */
  async start(timeoutMs = 90_000): Promise<void> {
    const t0 = performance.now();
    this.#boots++;
    const consoleFd = openSync(join(this.dir, `console-${this.#boots}.log`), "w");
    // Its own cgroup first: with --keep-unit, nspawn puts the container below its own cgroup,
    // and boxes started from one process would otherwise share one tree (one unibus.service).
    const cgroups = boxCgroups(this.machine);
    this.#nspawn = Bun.spawn([
      "sh", "-c", 'for d in $BED_CGROUPS; do mkdir -p "$d" && echo $$ > "$d/cgroup.procs" || exit 1; done; exec "$@"', "sh",
      "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", `--network-bridge=${this.bridge.name}`,
      "--boot", `--directory=${this.merged}`, `--machine=${this.machine}`, `--hostname=${this.name}`, "--console=read-only", "--link-journal=no",
    ], { stdin: "ignore", stdout: consoleFd, stderr: consoleFd, env: { ...process.env, BED_CGROUPS: cgroups.join(" ") } });
    closeSync(consoleFd);
    const until = Date.now() + timeoutMs;
    while (!this.#pid1) {
      if (this.#nspawn.exitCode !== null || this.#nspawn.signalCode) throw new Error(`systemd-nspawn for box ${this.name} exited (${this.#nspawn.exitCode ?? this.#nspawn.signalCode}):\n${this.console()}`);
      if (Date.now() > until) throw new Error(`box ${this.name} has no PID 1 after ${timeoutMs} ms:\n${this.console()}`);
      this.#pid1 = this.#findPid1();
      if (!this.#pid1) await Bun.sleep(20);
    }
    for (;;) {
      const state = await this.exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: Math.max(1000, until - Date.now()) });
      const text = state.stdout.trim();
      if (text === "running") break;
      if (text === "degraded") {
        const failed = await this.exec(["systemctl", "--failed", "--no-legend", "--plain"]);
        const units = failed.stdout.split("\n").map((l) => l.split(/\s+/)[0]).filter(Boolean);
        const journal = await this.exec(["journalctl", "-b", "--no-pager", "-n", "40", ...units.flatMap((u) => ["-u", u!])]);
        throw new Error(`box ${this.name} booted degraded; failed units:\n${failed.stdout}\ntheir journal:\n${journal.stdout}`);
      }
      if (Date.now() > until) throw new Error(`box ${this.name} did not finish booting in ${timeoutMs} ms (${text || state.stderr.trim()}):\n${this.console()}`);
      await Bun.sleep(100); // the bus socket may not exist yet
    }
    this.bootMs = Math.round(performance.now() - t0);
  }

  /** bootMs is how long the last boot took, from nspawn to `running`. */
  bootMs = 0;

  /** console returns the box's boot console of the current boot. */
  console(): string {
    const file = join(this.dir, `console-${this.#boots}.log`);
    return existsSync(file) ? readFileSync(file, "utf8").slice(-6000) : "";
  }

  /**
   * #findPid1 finds the process that is PID 1 of its own namespace and
   * descends from this box's systemd-nspawn (its root cannot tell: seen from
   * the machine, a process in another mount namespace has "/" as root).
   */
  #findPid1(): number | undefined {
    const nspawn = this.#nspawn?.pid;
    if (!nspawn) return undefined;
    const parentOf = (pid: string) => /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]?.trim().split(/\s+/);
        if (!nspid || nspid.length < 2 || nspid.at(-1) !== "1") continue;
        for (let pid: string | undefined = parentOf(entry), hops = 0; pid && pid !== "0" && hops < 4; pid = parentOf(pid), hops++) {
          if (pid === String(nspawn)) return Number(entry);
        }
      } catch {
        // the process ended while we looked
      }
    }
    return undefined;
  }

  /** exec runs argv inside the box (all its namespaces, a root shell's environment). */
  exec(argv: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(["nsenter", "-t", String(this.pid1), "-a", "--", "env", "-i", ...BOX_ENV, ...argv], options);
  }

  /** sh runs a bash script inside the box. */
  sh(script: string, options: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec(["bash", "-c", script], options);
  }

  /** mustSh runs a bash script inside the box and throws with its output when it fails. */
  async mustSh(script: string, options: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.sh(script, options);
    if (r.code !== 0) throw new Error(`in box ${this.name}: ${script}\nexited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /**
   * powerCut ends the box the way a pulled plug does: SIGKILL to its PID 1,
   * which the kernel turns into SIGKILL for every process in its namespace.
   * Nothing in the box gets to run a shutdown step.
   */
  async powerCut(): Promise<void> {
    if (!this.#nspawn) return;
    if (this.#pid1) {
      try {
        process.kill(this.#pid1, "SIGKILL");
      } catch {
        // already gone
      }
    }
    // systemd-nspawn ends when its container does; without a known PID 1 (a failed
    // boot), SIGTERM asks it to stop the container, SIGKILL later leaves none behind.
    if (!this.#pid1) this.#nspawn.kill("SIGTERM");
    const exited = await Promise.race([this.#nspawn.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
    if (!exited) {
      const pid1 = this.#findPid1();
      if (pid1) process.kill(pid1, "SIGKILL");
      this.#nspawn.kill("SIGKILL");
    }
    await this.#nspawn.exited;
    this.#nspawn = undefined;
    this.#pid1 = undefined;
    await removeCgroups(boxCgroups(this.machine));
  }

  /** dispose cuts the power if the box runs, unmounts its overlay and deletes its folder; safe to call twice. */
  async dispose(): Promise<void> {
    await this.powerCut();
    if (existsSync(this.merged)) {
      // Bounded (run kills it), so a teardown hook never waits on a stuck mount: the lazy one detaches at once.
      const r = await run(["umount", this.merged], { timeoutMs: 20_000 });
      if (r.code !== 0) await run(["umount", "--lazy", this.merged], { timeoutMs: 20_000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** BED_CGROUP is the folder, in each cgroup hierarchy nspawn uses, that holds the bed's boxes: BED_CGROUP/<pid>/<machine>. */
export const BED_CGROUP = "unibus-bed";

/**
 * cgroupRoots are the mounted hierarchies systemd-nspawn and the box's systemd
 * use: the unified (v2) one and, on a hybrid host, the v1 name=systemd one.
 */
export function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [, path, type, options] = line.split(" ");
    if (!path) continue;
    if (type === "cgroup2" || (type === "cgroup" && options?.split(",").includes("name=systemd"))) roots.push(path);
  }
  return roots;
}

/** boxCgroups are the cgroups one box runs in, one per hierarchy. */
function boxCgroups(machine: string): string[] {
  return cgroupRoots().map((root) => join(root, BED_CGROUP, String(process.pid), machine));
}

/** removeCgroups removes cgroup folders depth first, once their processes are gone (they may take a moment to be reaped). */
export async function removeCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (let attempt = 0; attempt < 50; attempt++) {
      const r = await run(["find", dir, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]);
      if (r.code === 0 || !existsSync(dir)) break;
      await Bun.sleep(100);
    }
  }
}
